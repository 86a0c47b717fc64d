"""Driver of the neuron bench: a neuron tester, i.e. a current source that plays a list of
input currents (one per network step) into one neuron, and a counter + sampler that
record the neuron's spikes per step and its membrane voltage at the end of each step.

The command set is the one the emulator implements (:mod:`bruno_hil.emulator.neuron`):
``SOUR:CURR:RANG``, ``SOUR:LIST:CURR``, ``SOUR:LIST:DWEL``, ``SENS:VOLT:PROT``, ``OUTP``,
``INIT`` (a write: the run happens once) and ``FETC?`` (a query: retried safely after a
timeout, a lost connection or a garbled reply; the readings stay in the buffer). A bench
built from a source-measure unit in current-list mode and a counter needs a driver with
the same :meth:`NeuronTester.run` (not written yet).

Safety (:class:`NeuronLimits`): every current of a run is checked against
``current_max_A``, and the step and the number of points against their limits, before the
first command of the run is sent; :meth:`NeuronTester.configure` programs the source range
(``current_max_A``) and the voltage compliance, reads both back, and only then may the
output go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bruno_hil.instruments.errors import (
    InstrumentError,
    InstrumentLimitError,
    InstrumentResponseError,
)
from bruno_hil.instruments.limits import SafetyLimits
from bruno_hil.instruments.scpi import ScpiInstrument


def _num(value: float) -> str:
    return f"{float(value):.10g}"


@dataclass(frozen=True)
class NeuronLimits:
    """The safe operating range of a neuron on the neuron bench (SI units).

    * ``current_max_A``: the largest |input current| [A] (the source range programmed);
    * ``compliance_V``: the source's voltage compliance [V]; +-``compliance_V`` must lie
      within ``voltage``, the bench's voltage range (default +-6 V);
    * ``points_max``: list points per run; ``step_max_s``: the longest step [s].

    The default compliance, 5.5 V, sits above the neuron's own clip at 5 V (which the
    circuit overshoots by < 0.1 V at 1 uA) so that it never limits a healthy neuron."""

    current_max_A: float = 1e-6
    compliance_V: float = 5.5
    points_max: int = 10_000
    step_max_s: float = 1.0
    voltage: SafetyLimits = field(default_factory=lambda: SafetyLimits(v_min_V=-6.0, v_max_V=6.0))

    def __post_init__(self) -> None:
        if not (math.isfinite(self.current_max_A) and self.current_max_A > 0.0):
            raise InstrumentLimitError(
                f"NeuronLimits.current_max_A = {self.current_max_A!r} A must be > 0"
            )
        if not self.compliance_V > 0.0:
            raise InstrumentLimitError(
                f"NeuronLimits.compliance_V = {self.compliance_V!r} V must be > 0"
            )
        self.voltage.check_voltages([-self.compliance_V, self.compliance_V], "compliance_V")
        if self.points_max < 1 or not self.step_max_s > 0.0:
            raise InstrumentLimitError("NeuronLimits: points_max >= 1 and step_max_s > 0 needed")

    def check_currents(self, currents_A: np.ndarray | list[float]) -> np.ndarray:
        """All of ``currents_A`` [A] as a 1-D float array if each is finite with |I| <=
        ``current_max_A`` and there are 1 to ``points_max``; else the error names the first
        offending value, its index and the limit."""
        array = np.asarray(currents_A, dtype=np.float64).ravel()
        if not 1 <= array.size <= self.points_max:
            raise InstrumentLimitError(
                f"currents_A: {array.size} points; a run holds 1 to {self.points_max}"
                " (NeuronLimits.points_max); nothing was sent"
            )
        bad = ~np.isfinite(array) | (np.abs(array) > self.current_max_A)
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise InstrumentLimitError(
                f"currents_A[{k}] = {float(array[k])!r} A is outside the safety limit"
                f" |I| <= {self.current_max_A:g} A (NeuronLimits.current_max_A); nothing was sent"
            )
        return array

    def check_step(self, dt_s: float) -> float:
        """``dt_s`` [s] if 0 < dt_s <= step_max_s."""
        if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0.0):
            raise InstrumentLimitError(f"dt_s = {dt_s!r} s must be a finite number > 0")
        if dt_s > self.step_max_s:
            raise InstrumentLimitError(
                f"dt_s = {dt_s!r} s exceeds NeuronLimits.step_max_s = {self.step_max_s:g} s;"
                " nothing was sent"
            )
        return float(dt_s)


NEURON_LIMITS = NeuronLimits()
"""Default limits of the neuron bench: |I| <= 1 uA, 5.5 V compliance, 10,000 points."""


@dataclass(frozen=True)
class NeuronMeasurement:
    """One run of the neuron: ``spikes`` [T] (count per step) and ``v_V`` [T] (membrane
    voltage at the end of each step) for ``currents_A`` [T] with steps of ``dt_s`` [s]."""

    currents_A: np.ndarray
    dt_s: float
    spikes: np.ndarray
    v_V: np.ndarray


class NeuronTester(ScpiInstrument):
    """The neuron tester of the module docstring; ``limits`` bound everything it may
    apply."""

    def __init__(self, resource: str, limits: NeuronLimits | None = None, **kwargs: object) -> None:
        self.limits = limits or NEURON_LIMITS
        self.configured = False
        self._output_on = False
        self._dwell_s: float | None = None
        super().__init__(resource, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def matches(idn: str) -> bool:
        """Whether ``*IDN?`` names a neuron tester."""
        model = idn.split(",")[1].upper() if idn.count(",") >= 1 else ""
        return "NEURON-TESTER" in model

    def configure(self) -> None:
        """Reset, program the source range and the voltage compliance, verify both on the
        instrument. The output stays off."""
        self.configured = self._output_on = False
        self._dwell_s = None
        for command in (
            "*RST",
            "*CLS",
            "OUTP OFF",
            f"SOUR:CURR:RANG {_num(self.limits.current_max_A)}",
            f"SENS:VOLT:PROT {_num(self.limits.compliance_V)}",
        ):
            self._write(command)
        got_range = self.query("SOUR:CURR:RANG?", float)
        got_compliance = self.query("SENS:VOLT:PROT?", float)
        if got_range > self.limits.current_max_A * (1 + 1e-6) or not np.isclose(
            got_compliance, self.limits.compliance_V, rtol=1e-6
        ):
            raise InstrumentError(
                f"{self.resource}: the instrument did not take the limits: range"
                f" {got_range:g} A (asked {self.limits.current_max_A:g}), compliance"
                f" {got_compliance:g} V (asked {self.limits.compliance_V:g})"
            )
        self.configured = True

    def shutdown(self) -> None:
        """Output off and reset (see :meth:`ScpiInstrument.shutdown`); :meth:`configure`
        must run again before the next measurement."""
        self.configured = self._output_on = False
        self._dwell_s = None
        super().shutdown()

    def run(self, currents_A: np.ndarray | list[float], dt_s: float) -> NeuronMeasurement:
        """Play ``currents_A`` [A] (one per step of ``dt_s`` [s], all checked first) into
        the neuron from rest and read its spikes and end-of-step voltages. The output is
        switched on at the first run and stays on (the tester rests the neuron between
        runs)."""
        currents = self.limits.check_currents(currents_A)
        dt = self.limits.check_step(dt_s)
        if not self.configured:
            raise InstrumentLimitError(
                f"{self.resource}: run refused: configure() has not set the source range and"
                " the compliance on the instrument"
            )
        if self._dwell_s != dt:
            self._write(f"SOUR:LIST:DWEL {_num(dt)}")
            self._dwell_s = dt
        self._write(f"SOUR:LIST:CURR {','.join(_num(i) for i in currents)}")
        if not self._output_on:
            self._write("OUTP ON")
            self._output_on = True
        self._write("INIT")
        values = self.query_floats("FETC?", 2 * currents.size).reshape(currents.size, 2)
        spikes = np.rint(values[:, 0]).astype(np.int64)
        if np.any(spikes < 0) or not np.allclose(values[:, 0], spikes):
            raise InstrumentResponseError(
                f"{self.resource}: spike counts that are not counts: {values[:5, 0]}"
            )
        return NeuronMeasurement(currents, dt, spikes, values[:, 1].copy())


__all__ = ["NEURON_LIMITS", "NeuronLimits", "NeuronMeasurement", "NeuronTester"]
