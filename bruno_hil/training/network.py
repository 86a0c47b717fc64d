"""The BRUNO benchmark network: inputs -> RRAM -> hidden neurons -> RRAM -> output neurons.

The input (normalised crossbar row drives, ``[T, B, n_inputs]``) enters the first RRAM
crossbar directly as an analog signal (no input-encoding neuron layer: the random gain and
bias of the data set's encoder already play that role, and it halves the neuron-layer
cost). Each crossbar's column currents drive one neuron layer; the output layer's spike
counts over the sample are the class scores.

A chip backend supplies the forward pass of chosen layers: :meth:`Network.forward` asks
``chip.synapse(name, synapse, x, current)`` for each crossbar (``"syn_in"``, ``"syn_out"``)
and uses the chip's currents forward with the torch synapse's gradient backward
(``current + stop_grad(chip - current)``, BRUNO's straight-through step applied to the
crossbar); it asks ``chip.fine(name, layer, current)`` for each neuron layer
(``"hidden"``, ``"output"``) and passes what it returns as the layer's ``fine=`` override.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from bruno_hil.neurons import FeLIFLayer, LIFLayer
from bruno_hil.synapses import RRAMLinear
from bruno_hil.training.config import NetworkConfig

NEURON_LAYERS: tuple[str, ...] = ("hidden", "output")
SYNAPSE_OF: dict[str, str] = {"hidden": "syn_in", "output": "syn_out"}
"""The crossbar that drives each neuron layer."""


class FineSource(Protocol):
    """A chip backend: the forward pass of crossbars and neuron layers. ``stats`` and
    ``fidelity`` have ``as_dict()`` (running totals; chip vs surrogate since the last
    :meth:`reset_fidelity`)."""

    stats: Any
    fidelity: Any

    def synapse(self, name: str, module: nn.Module, x: torch.Tensor, current: torch.Tensor) -> Any:
        """The column currents of crossbar ``name`` for inputs ``x`` [T, B, inputs] (in the
        units of ``current``, the torch synapse's output), or None if it is not on the chip."""
        ...

    def weights_updated(self, force: bool = False) -> None:
        """The weights changed (one optimizer step; ``force``: reprogram before the next
        read)."""
        ...

    def fine(self, name: str, layer: nn.Module, current: torch.Tensor) -> Any:
        """The ``fine=`` override of neuron layer ``name`` for its input ``current``
        ``[T, B, N]`` (amperes for FeLIF)."""
        ...

    def reset_fidelity(self) -> None:
        """Start a new chip-vs-surrogate tally."""
        ...

    def failed_samples(self) -> Any:
        """[B] bool mask of the last forward's samples the chip could not run, or None."""
        ...

    def close(self) -> None:
        """Release the chip (worker processes, instruments)."""
        ...


class Network(nn.Module):
    """Two RRAM crossbars and two neuron layers, built from a :class:`NetworkConfig`."""

    def __init__(
        self, config: NetworkConfig, n_inputs: int, n_classes: int, dt_s: float, source: str
    ) -> None:
        super().__init__()
        self.config = config
        felif = config.neuron == "felif"
        scales = (
            (config.input_scale_A, config.hidden_scale_A)
            if felif
            else (config.lif_input_scale, config.lif_hidden_scale)
        )
        sizes = ((n_inputs, config.n_hidden), (config.n_hidden, n_classes))
        self.syn_in, self.syn_out = (
            RRAMLinear(
                n_in,
                n_out,
                bits=config.bits,
                variability_cv=config.variability_cv,
                read_noise=config.read_noise,
                current_scale_A=scale,
            )
            for (n_in, n_out), scale in zip(sizes, scales, strict=True)
        )
        if felif:
            params = config.fecap_params(source)
            self.hidden, self.output = (
                FeLIFLayer(
                    n,
                    params=params,
                    mode=config.mode,
                    dt_s=dt_s,
                    n_inner=config.n_inner,
                    surrogate_beta=config.surrogate_beta,
                    variability_cv=config.variability_cv,
                )
                for n in (config.n_hidden, n_classes)
            )
        else:
            params = config.lif_params(source)
            self.hidden, self.output = (
                LIFLayer(n, params=params, dt_s=dt_s, surrogate_beta=config.surrogate_beta)
                for n in (config.n_hidden, n_classes)
            )

    def forward(
        self, inputs: torch.Tensor, chip: FineSource | None = None
    ) -> tuple[torch.Tensor, dict[str, dict[str, torch.Tensor]]]:
        """``inputs`` [T, B, n_inputs] -> output spikes [T, B, n_classes] and, per neuron
        layer, its spikes and recorded states (detached)."""
        records: dict[str, dict[str, torch.Tensor]] = {}
        x = inputs
        for name in NEURON_LAYERS:
            layer, synapse = getattr(self, name), getattr(self, SYNAPSE_OF[name])
            current = synapse(x)
            fine = None
            if chip is not None:
                chip_current = chip.synapse(SYNAPSE_OF[name], synapse, x, current)
                if chip_current is not None:
                    current = current + (chip_current - current).detach()
                fine = chip.fine(name, layer, current)
            x, record = layer(current, fine=fine)
            records[name] = {"spikes": x.detach(), **record}
        return x, records


def logits(config: NetworkConfig, out_spikes: torch.Tensor) -> torch.Tensor:
    """Class scores [B, n_classes]: ``count_scale`` times the output spike counts."""
    return config.count_scale * out_spikes.sum(dim=0)
