"""The chip's RRAM crossbars in the training loop: programmed from the torch weights, read
by ngspice.

A synapse layer of the network (:class:`bruno_hil.synapses.RRAMLinear`, weights ``W``
[outputs, inputs]) is programmed onto a differential crossbar
(:class:`~bruno_hil.chip.crossbar_circuit.CrossbarLayer`): ``W`` is quantized abs-max to
``program_bits`` (deterministic rounding, as a write-verify programmer does) and mapped to
conductance pairs between the RRAM cell's lowest and highest read conductance, with each
device's own variability factor (drawn once per chip and layer, the same at every
reprogramming). Analog inputs drive the rows through the DAC: ``v = v_read_V*x/
input_full_scale`` (clipped to the full scale); spikes arrive as read pulses of ``v_read_V``
(see :meth:`ChipCrossbars.currents_A`). The columns' differential currents go through the
ADCs and are summed over tiles. A sense amplifier of fixed gain maps the column current back to
the network's current units, so an ideal chip reproduces ``current_scale_A * x @ W^T``:
a unit input is ``v_read_V`` on a row and ``gain = current_scale_A * w_per_S / v_read_V``,
where ``w_per_S`` is the weight per siemens of the programming (set by the chip's own
conductance range, not by the surrogate).

The read path is linear (cells at their read conductance), so by default ngspice solves a
programmed crossbar's transfer conductances once (``n_in`` unit-row solves, wire IR drop
included) and every read is a product with them, exact and ~1000x cheaper than a solve per
input vector; ``read="transient"`` instead runs every ``[T, B]`` batch as ngspice
transients whose row sources step through the ``T*B`` vectors (see
:mod:`bruno_hil.chip.crossbar_circuit`).
Programming is lazy: after ``program_every`` weight updates (:meth:`ChipCrossbars.
weights_updated`) the layers are marked stale and reprogrammed on their next read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruno_hil.chip.crossbar_circuit import (
    CrossbarLayer,
    CrossbarSettings,
    conductance_range_S,
    program_conductances,
)
from bruno_hil.chip.layers import DRAW_KEYS, SynapseLayer
from bruno_hil.chip.settings import CROSSBAR_READS
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics.quantize import DEFAULT_QUANT_RANGE
from bruno_hil.settings import check_choice, check_cv, check_int_range, check_positive


@dataclass(frozen=True)
class CrossbarChipSettings:
    """How the chip's crossbars are built and programmed (SI units).

    ``circuit``: tile size, wire resistance per segment, read voltage, DAC/ADC;
    ``rram``: the cell whose read conductances span the weight range; ``program_bits``:
    signed weight resolution of the programming (4 bits: -7..7, 8 conductance levels per
    device); ``quant_range``: the weight grid's range, as in training
    (:data:`bruno_hil.physics.quantize.QUANT_RANGES`); ``input_full_scale``: the network
    input that maps to the full read voltage (larger inputs are clipped by the DAC);
    ``program_every``: weight updates between reprogrammings; ``variability_cv``:
    device-to-device relative std of the conductances;
    ``read``: ``transfer`` (ngspice solves the programmed crossbar's transfer conductances
    once, every read is a product with them: exact, the read path is linear) or
    ``transient`` (every batch of input vectors is its own ngspice transient).
    """

    circuit: CrossbarSettings = field(default_factory=CrossbarSettings)
    rram: RRAMParams = field(default_factory=RRAMParams)
    program_bits: int = 4
    quant_range: str = DEFAULT_QUANT_RANGE
    input_full_scale: float = 2.5
    program_every: int = 1
    variability_cv: float = 0.0
    read: str = "transfer"

    def __post_init__(self) -> None:
        # the rules of the hil settings these come from (bruno_hil.chip.settings)
        check_choice("hil.crossbar_read", self.read, CROSSBAR_READS)
        check_int_range("hil.program_bits", self.program_bits, 2, 12)
        check_positive("hil.input_full_scale", self.input_full_scale)
        check_int_range("hil.program_every", self.program_every, 1, 2**31)
        check_cv("hil.variability_cv", self.variability_cv)


@dataclass(frozen=True)
class ProgrammedLayer:
    """A crossbar as programmed: the circuit and the sense amplifier's gain [1] that maps
    its column current [A], for unit inputs read as ``v_read_V`` on the rows, to the
    network's currents."""

    circuit: CrossbarLayer
    gain: float


class ChipCrossbars:
    """The synapse layers of one chip, programmed lazily from the network's weights."""

    def __init__(self, settings: CrossbarChipSettings | None = None, seed: int = 0) -> None:
        self.settings = settings or CrossbarChipSettings()
        self.seed = seed
        self.g_range_S = conductance_range_S(self.settings.rram, self.settings.circuit.v_read_V)
        self._layers: dict[str, ProgrammedLayer] = {}
        self._stale: set[str] = set()
        self._updates = 0
        self.programmings = 0
        """How many times a layer was (re)programmed."""

    def weights_updated(self, force: bool = False) -> None:
        """Count one weight update; after ``program_every`` of them (or with ``force``,
        e.g. before an evaluation) every layer is reprogrammed on its next read."""
        self._updates += 1
        if force or self._updates >= self.settings.program_every:
            self._stale = set(self._layers)
            self._updates = 0

    def program(
        self, name: SynapseLayer, weight: np.ndarray, current_scale_A: float
    ) -> ProgrammedLayer:
        """Program layer ``name`` with ``weight`` [outputs, inputs]; the device variability
        draw depends only on (seed, layer name)."""
        s = self.settings
        g_min, g_max = self.g_range_S
        rng = np.random.default_rng([self.seed, DRAW_KEYS[name]])
        g_pos, g_neg, w_per_S = program_conductances(
            np.asarray(weight, dtype=np.float64).T,
            g_min,
            g_max,
            s.program_bits,
            s.variability_cv,
            rng,
            s.quant_range,
        )
        gain = current_scale_A * w_per_S / s.circuit.v_read_V
        layer = ProgrammedLayer(CrossbarLayer(g_pos, g_neg, s.circuit), gain)
        self._layers[name] = layer
        self._stale.discard(name)
        self.programmings += 1
        return layer

    def layer(
        self, name: SynapseLayer, weight: np.ndarray, current_scale_A: float
    ) -> ProgrammedLayer:
        """Layer ``name`` as programmed now (programming it first if it is new or stale)."""
        if name not in self._layers or name in self._stale:
            return self.program(name, weight, current_scale_A)
        return self._layers[name]

    def currents_A(
        self, layer: ProgrammedLayer, x: np.ndarray, spike_counts: bool = False
    ) -> np.ndarray:
        """Column currents in network units for inputs ``x`` [T, B, inputs] (>= 0):
        [T, B, outputs], all ``T*B`` vectors in one transient.

        Analog inputs (``spike_counts=False``) go through the DAC: ``v_read_V*x/
        input_full_scale``, clipped at full scale. Spike counts (a hidden layer's output)
        arrive as one read pulse of ``v_read_V`` per spike; the cells are linear at read, so
        ``c`` pulses give ``c`` times the charge of one: the batch is solved at
        ``v_read_V*x/c_max`` and scaled back by ``c_max`` (the largest count in it)."""
        t_steps, batch, n_in = x.shape
        flat = x.reshape(t_steps * batch, n_in)
        via_transfer = self.settings.read == "transfer"
        if spike_counts:
            scale = max(1.0, float(flat.max()))
            v_rows = layer.circuit.settings.v_read_V * flat / scale
            out = layer.circuit.column_currents_A(v_rows, via_transfer=via_transfer)
        else:
            scale = self.settings.input_full_scale
            out = layer.circuit.forward(np.clip(flat / scale, 0, 1), via_transfer=via_transfer)
        return layer.gain * scale * out.reshape(t_steps, batch, -1)


__all__ = [
    "ChipCrossbars",
    "CrossbarChipSettings",
    "ProgrammedLayer",
]
