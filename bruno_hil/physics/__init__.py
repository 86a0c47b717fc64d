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
from bruno_hil.physics.quantize import quantize_weights, stochastic_round
from bruno_hil.physics.rram import (
    RRAMTensors,
    gap_rate_m_per_s,
    mean_gap_rate_m_per_s,
    rram_current_A,
    rram_step,
)
from bruno_hil.physics.surrogate import SURROGATES, spike_fn
from bruno_hil.physics.tensors import DeviceTensors

__all__ = [
    "SURROGATES",
    "DeviceTensors",
    "FeCapTensors",
    "FeLIFState",
    "FineTrace",
    "LIFState",
    "RRAMTensors",
    "coarse_step",
    "fecap_step",
    "field_V_per_m",
    "fine_trajectory",
    "gap_rate_m_per_s",
    "leak_current_A",
    "lif_step",
    "mean_gap_rate_m_per_s",
    "quantize_weights",
    "rram_current_A",
    "rram_step",
    "spike_fn",
    "stochastic_round",
    "switching_rate_per_s",
]
