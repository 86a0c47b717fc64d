"""Device physics in torch: pure step functions of the FeCap/FeLIF, LIF and RRAM devices,
surrogate spike functions and training-time quantization (the functional core; the thin
modules live in :mod:`bruno_hil.neurons` and :mod:`bruno_hil.synapses`)."""

from bruno_hil.physics.fecap import (
    FeCapTensors,
    FeLIFState,
    FineTrace,
    coarse_step,
    fecap_step,
    field_V_per_m,
    fine_trajectory,
    leak_current_A,
    switching_rate_per_s,
)
from bruno_hil.physics.lif import LIFState, lif_step
from bruno_hil.physics.quantize import quantize_abs_max, stochastic_round
from bruno_hil.physics.surrogate import SURROGATES, spike_fn

__all__ = [
    "SURROGATES",
    "FeCapTensors",
    "FeLIFState",
    "FineTrace",
    "LIFState",
    "coarse_step",
    "fecap_step",
    "field_V_per_m",
    "fine_trajectory",
    "leak_current_A",
    "lif_step",
    "quantize_abs_max",
    "spike_fn",
    "stochastic_round",
    "switching_rate_per_s",
]
