"""RRAM crossbar synapses for training: a linear layer whose weights are differential
conductance pairs ``G+ - G-``.

Each forward pass: the float weights are quantized per tensor (abs-max or MSE range,
straight-through; :mod:`bruno_hil.physics.quantize`): in training, stochastic rounding
redrawn every pass or rounding to the nearest level; in evaluation (``eval()``) always the
nearest level, the one weight that a write-verify programmer puts on the chip), split
into the two devices of each pair (``G+ = max(w, 0)``, ``G- = max(-w, 0)``, in units of
the largest programmed conductance), each device is scaled by its own fixed
device-to-device factor ``1 + cv*N(0,1)`` (drawn once, a buffer) and by fresh read noise
``1 + read_noise*N(0,1)``, and the column currents are ``current_scale_A * x @ W^T``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bruno_hil.physics.quantize import DEFAULT_QUANT_RANGE, quantize_weights
from bruno_hil.settings import WEIGHT_BITS, check_choice, check_cv, check_positive


class RRAMLinear(nn.Module):
    """``n_in`` rows (input drives, normalised) to ``n_out`` column currents [A]."""

    device_gains: torch.Tensor
    """[2, n_out, n_in]: each device's fixed variability factor (G+ then G-)."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        bits: int | None = None,
        variability_cv: float = 0.0,
        read_noise: float = 0.0,
        current_scale_A: float = 1.0,
        stochastic_rounding: bool = True,
        quant_range: str = DEFAULT_QUANT_RANGE,
    ) -> None:
        super().__init__()
        check_choice("network.bits", bits, WEIGHT_BITS)
        check_positive("synapse n_in", n_in)
        check_positive("synapse n_out", n_out)
        check_cv("network.variability_cv", variability_cv)
        check_cv("network.read_noise", read_noise)
        check_positive("synapse current_scale_A", current_scale_A)
        self.bits = bits
        self.variability_cv = variability_cv
        self.read_noise = read_noise
        self.current_scale_A = current_scale_A
        self.stochastic_rounding = stochastic_rounding
        self.quant_range = quant_range
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound))
        gains = 1.0 + variability_cv * torch.randn(2, n_out, n_in)
        self.register_buffer("device_gains", torch.clamp(gains, min=0.0))

    def effective_weight(self) -> torch.Tensor:
        """The weight the crossbar realises in this pass: quantized (stochastic rounding
        only while training), device-scaled, noisy."""
        w: torch.Tensor = self.weight
        if self.bits is not None:
            stochastic = self.stochastic_rounding and self.training
            w = quantize_weights(w, self.bits, stochastic=stochastic, quant_range=self.quant_range)
        gains = self.device_gains
        if self.read_noise > 0:
            gains = gains * (1.0 + self.read_noise * torch.randn_like(gains))
        return torch.relu(w) * gains[0] - torch.relu(-w) * gains[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [..., n_in] -> column currents [..., n_out] [A]."""
        return self.current_scale_A * (x @ self.effective_weight().T)
