"""An emulated neuron tester: a current source that plays a list of input currents into
one FeLIF neuron and a counter + sampler that record its spikes and membrane voltage.

The device under test is the chip's neuron circuit in ngspice
(:func:`bruno_hil.chip.neuron_circuit.simulate_neuron`, FeCap membrane, leak, comparator
and reset), with :class:`FeCapParams` (``--param`` overrides them). Every run starts from
the neuron's rest state (V = 0 V, P = -P_s): the tester resets the neuron before it
plays a list. Command set (long or short forms, as in :mod:`.scpi`):

* ``[SOUR]:CURR:RANG <A>``: source range, the largest |I| a list may hold (default 10 uA,
  at most 1 mA); a list point beyond it is refused (-222 "Data out of range");
* ``[SOUR]:LIST:CURR <A>,...`` (replaces the list; at most :data:`LIST_POINTS_MAX`) and
  ``[SOUR]:LIST:CURR:APP <A>,...`` (appends); ``[SOUR]:LIST:CURR:POIN?``;
* ``[SOUR]:LIST:DWEL <s>``: how long each list point is held (the network step dt);
* ``SENS:VOLT:PROT <V>``: the source's voltage compliance (0 < V <= 10 V). ``*RST``
  leaves it unset, and ``OUTP ON`` is refused (-221 "Settings conflict") until it has
  been set: compliance before output;
* ``OUTP ON|OFF``; ``INIT``: play the list once (+803 "Output disabled" with the output
  off, -221 without a list); a run whose membrane voltage reached the compliance is
  flagged by -222 (the emulator does not model the limiter; its neuron clips at
  ``v_clip_V`` by itself, so a compliance above ``v_clip_V`` is never reached);
* ``FETC?``: per list point the spike count in the point's step and the membrane
  voltage [V] at its end, interleaved (``count,V,count,V,...``); ``FETC:TIME?``: the spike
  times [s] (``9.91E37`` when there were none); ``ACQ:POIN?``: steps recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruno_hil.chip.neuron_circuit import (
    NeuronCircuitError,
    NeuronCircuitSettings,
    NeuronRun,
    simulate_neuron,
)
from bruno_hil.devices.params import FeCapParams
from bruno_hil.emulator.dut import NGSPICE_LOCK
from bruno_hil.emulator.scpi import (
    Command,
    EmulatedInstrument,
    ScpiCommandError,
    format_floats,
    parse_bool,
    parse_float,
    parse_floats,
)
from bruno_hil.spice.errors import SimulationError

LIST_POINTS_MAX = 10_000
"""Points a current list may hold."""
RANGE_MAX_A = 1e-3
"""The largest source range [A]."""
COMPLIANCE_MAX_V = 10.0
"""The largest voltage compliance [V]."""
DWELL_MAX_S = 1.0
"""The longest hold per list point [s]."""
NO_SPIKE = 9.91e37
"""``FETC:TIME?`` when the run had no spike (the SCPI "not a number" value)."""


class FeLIFDut:
    """One FeLIF neuron circuit; every run starts from rest. :attr:`applied_A` records
    every current [A] the neuron was driven with (for the safety tests)."""

    def __init__(
        self, params: FeCapParams | None = None, settings: NeuronCircuitSettings | None = None
    ) -> None:
        self.params = params or FeCapParams()
        self.settings = settings or NeuronCircuitSettings()
        self.applied_A: list[float] = []

    def run(self, currents_A: np.ndarray, dt_s: float) -> NeuronRun:
        """Drive the neuron from rest with ``currents_A`` [A], one per step of ``dt_s`` [s]."""
        self.applied_A += [float(i) for i in currents_A]
        with NGSPICE_LOCK:
            return simulate_neuron(self.params, currents_A, dt_s, settings=self.settings)


@dataclass
class NeuronTesterSettings:
    """The settings ``*RST`` restores."""

    output: bool = False
    range_A: float = 10e-6
    dwell_s: float = 1e-3
    compliance_V: float | None = None
    currents_A: list[float] = field(default_factory=list)


class EmulatedNeuronTester(EmulatedInstrument):
    """The neuron tester of the module docstring, driving a :class:`FeLIFDut`."""

    idn = "BRUNO-HIL EMULATOR,NEURON-TESTER FeLIF (ngspice neuron circuit),0,0.1.0"

    def __init__(
        self, params: FeCapParams | None = None, settings: NeuronCircuitSettings | None = None
    ) -> None:
        self.dut = FeLIFDut(params, settings)
        self.s = NeuronTesterSettings()
        self.last: NeuronRun | None = None
        self.events: list[dict[str, float | str]] = []
        """Each output switch-on with the range and compliance then set."""
        super().__init__()

    def reset(self) -> None:
        self.s = NeuronTesterSettings()
        self.last = None

    # -- settings ------------------------------------------------------------------------
    def _range(self, text: str) -> None:
        value = parse_float(text, "CURR:RANG")
        if not 0.0 < value <= RANGE_MAX_A:
            raise ScpiCommandError(-222, f"{value:g} A outside (0, {RANGE_MAX_A:g}] A")
        if any(abs(i) > value for i in self.s.currents_A):
            raise ScpiCommandError(-221, "the loaded list exceeds the new range")
        self.s.range_A = value

    def _list(self, append: bool):
        def handler(text: str) -> None:
            values = parse_floats(text, "LIST:CURR")
            total = values if not append else [*self.s.currents_A, *values]
            if len(total) > LIST_POINTS_MAX:
                raise ScpiCommandError(-222, f"{len(total)} points; at most {LIST_POINTS_MAX}")
            worst = max(abs(v) for v in values)
            if worst > self.s.range_A:
                raise ScpiCommandError(
                    -222, f"|I| = {worst:g} A beyond the source range {self.s.range_A:g} A"
                )
            self.s.currents_A = total

        return handler

    def _dwell(self, text: str) -> None:
        value = parse_float(text, "LIST:DWEL")
        if not 0.0 < value <= DWELL_MAX_S:
            raise ScpiCommandError(-222, f"{value:g} s outside (0, {DWELL_MAX_S:g}] s")
        self.s.dwell_s = value

    def _compliance(self, text: str) -> None:
        value = parse_float(text, "VOLT:PROT")
        if not 0.0 < value <= COMPLIANCE_MAX_V:
            raise ScpiCommandError(-222, f"{value:g} V outside (0, {COMPLIANCE_MAX_V:g}] V")
        self.s.compliance_V = value

    def _output(self, text: str) -> None:
        on = parse_bool(text, "output")
        if on and self.s.compliance_V is None:
            raise ScpiCommandError(-221, "no voltage compliance set (SENS:VOLT:PROT first)")
        if on and not self.s.output:
            self.events.append(
                {
                    "event": "output on",
                    "range_A": self.s.range_A,
                    "compliance_V": float(self.s.compliance_V or 0.0),
                }
            )
        self.s.output = on

    # -- acquisition ---------------------------------------------------------------------
    def _initiate(self, _: str = "") -> None:
        if not self.s.output:
            raise ScpiCommandError(803, "output is off")
        if not self.s.currents_A:
            raise ScpiCommandError(-221, "no current list loaded")
        self.last = None
        try:
            run = self.dut.run(np.asarray(self.s.currents_A), self.s.dwell_s)
        except (SimulationError, NeuronCircuitError) as err:
            raise ScpiCommandError(-200, f"neuron run failed: {str(err).splitlines()[0]}") from None
        self.last = run
        compliance = float(self.s.compliance_V or COMPLIANCE_MAX_V)
        if np.abs(run.wave_v_V).max() >= compliance:
            self.push_error(-222, f"membrane voltage reached the compliance {compliance:g} V")

    def _readings(self) -> NeuronRun:
        if self.last is None:
            raise ScpiCommandError(-230, "no readings")
        return self.last

    def _fetch(self, _: str = "") -> str:
        run = self._readings()
        pairs = np.column_stack([run.spikes.astype(np.float64), run.v_V[1:]])
        return format_floats(pairs.ravel())

    def _fetch_times(self, _: str = "") -> str:
        times = self._readings().spike_times_s
        return format_floats(times if times.size else [NO_SPIKE])

    def commands(self) -> list[Command]:
        src = "[SOURce]"
        return [
            Command(f"{src}:CURRent:RANGe", self._range),
            Command(f"{src}:CURRent:RANGe?", lambda _: f"{self.s.range_A:+.9E}"),
            Command(f"{src}:LIST:CURRent", self._list(append=False)),
            Command(f"{src}:LIST:CURRent:APPend", self._list(append=True)),
            Command(f"{src}:LIST:CURRent:POINts?", lambda _: str(len(self.s.currents_A))),
            Command(f"{src}:LIST:DWELl", self._dwell),
            Command(f"{src}:LIST:DWELl?", lambda _: f"{self.s.dwell_s:+.9E}"),
            Command("SENSe:VOLTage:PROTection[:LEVel]", self._compliance),
            Command(
                "SENSe:VOLTage:PROTection[:LEVel]?",
                lambda _: f"{self.s.compliance_V or 0.0:+.9E}",
            ),
            Command("OUTPut[:STATe]", self._output),
            Command("OUTPut[:STATe]?", lambda _: "1" if self.s.output else "0"),
            Command("INITiate[:IMMediate]", self._initiate),
            Command("FETCh?", self._fetch),
            Command("FETCh:TIME?", self._fetch_times),
            Command(
                "ACQuire:POINts?", lambda _: str(0 if self.last is None else self.last.spikes.size)
            ),
        ]


__all__ = [
    "LIST_POINTS_MAX",
    "EmulatedNeuronTester",
    "FeLIFDut",
    "NeuronTesterSettings",
]
