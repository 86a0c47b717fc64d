"""The chip's circuits in ngspice: one FeLIF neuron per simulation (spikes and resets in the
circuit) and a layer's differential RRAM crossbar over tiles (wire IR drop, DAC, ADC)."""

from bruno_hil.chip.crossbar_circuit import (
    CrossbarError,
    CrossbarLayer,
    CrossbarSettings,
    conductance_range_S,
    program_conductances,
    quantize_adc,
    quantize_dac,
)
from bruno_hil.chip.neuron_circuit import (
    NeuronCircuitError,
    NeuronCircuitSettings,
    NeuronRun,
    neuron_netlist,
    simulate_neuron,
)

__all__ = [
    "CrossbarError",
    "CrossbarLayer",
    "CrossbarSettings",
    "NeuronCircuitError",
    "NeuronCircuitSettings",
    "NeuronRun",
    "conductance_range_S",
    "neuron_netlist",
    "program_conductances",
    "quantize_adc",
    "quantize_dac",
    "simulate_neuron",
]
