"""The LIF baseline layer (current-based, normalised units)."""

from __future__ import annotations

import torch
from torch import nn

from bruno_hil.devices import LIFParams
from bruno_hil.physics.lif import LIFState, lif_step
from bruno_hil.settings import check_positive


class LIFLayer(nn.Module):
    """``n`` current-based LIF neurons; steps of ``dt_s`` [s], SuperSpike surrogate."""

    def __init__(
        self,
        n: int,
        params: LIFParams | None = None,
        dt_s: float = 1e-3,
        surrogate_beta: float = 10.0,
    ) -> None:
        super().__init__()
        check_positive("neurons n", n)
        check_positive("data.dt_s", dt_s)
        check_positive("network.surrogate_beta", surrogate_beta)
        self.n = n
        self.params = params or LIFParams()
        self.dt_s = dt_s
        self.surrogate_beta = surrogate_beta

    def forward(
        self, current: torch.Tensor, fine: None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``current`` [T, B, N] -> (spikes [T, B, N], {"v", "i_syn"} traces)."""
        if fine is not None:
            raise ValueError("the LIF baseline has no chip forward; use FeLIF neurons on a chip")
        if current.ndim != 3 or current.shape[2] != self.n:
            raise ValueError(f"LIF input: expected [T, B, {self.n}], got {tuple(current.shape)}")
        zeros = torch.zeros_like(current[0])
        state = LIFState(zeros, zeros)
        spikes, vs, currents = [], [], []
        for current_t in current.unbind(0):
            s, state = lif_step(state, current_t, self.params, self.dt_s, self.surrogate_beta)
            spikes.append(s)
            vs.append(state.v)
            currents.append(state.i_syn)
        record = {"v": torch.stack(vs).detach(), "i_syn": torch.stack(currents).detach()}
        return torch.stack(spikes), record
