"""The current-based leaky integrate-and-fire neuron (the baseline), one step of ``dt``.

``I_syn <- a*I_syn + I_in``, ``V <- b*V + (1-b)*I_syn`` with ``a = exp(-dt/tau_syn)``,
``b = exp(-dt/tau_mem)``; spike when ``V > v_thr``, then ``V <- v_reset``. V and currents
are in normalised units (threshold 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from bruno_hil.devices import LIFParams
from bruno_hil.physics.surrogate import spike_fn


class LIFState(NamedTuple):
    v: torch.Tensor
    """Membrane potential [normalised]."""
    i_syn: torch.Tensor
    """Synaptic current [normalised]."""


def lif_step(
    state: LIFState, current: torch.Tensor, params: LIFParams, dt_s: float, beta: float
) -> tuple[torch.Tensor, LIFState]:
    """One step of ``dt_s`` [s]: (spikes, next state). The reset is not differentiated
    (the gate is detached), as is usual for surrogate-gradient training."""
    a = math.exp(-dt_s / params.tau_syn_s)
    b = math.exp(-dt_s / params.tau_mem_s)
    i_syn = a * state.i_syn + current
    v = b * state.v + (1.0 - b) * i_syn
    spikes = spike_fn(v - params.v_thr, beta)
    gate = spikes.detach()
    v = v * (1.0 - gate) + params.v_reset * gate
    return spikes, LIFState(v, i_syn)
