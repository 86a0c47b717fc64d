"""Safety limits of a bench: checked in the driver before any command is sent.

Every voltage a driver is asked to apply (a level, each point of a list sweep, each pulse
amplitude, the read level, every point of an arbitrary waveform), every current compliance
and every pulse width passes through :class:`SafetyLimits` first; a value outside raises
:class:`~bruno_hil.instruments.errors.InstrumentLimitError` naming the value and the limit,
and nothing of that request reaches the instrument. The drivers also program the limits
into the instrument (source range and compliance on an SMU, output limits on a waveform
source) and read them back *before* switching the output on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bruno_hil.instruments.errors import InstrumentLimitError


@dataclass(frozen=True)
class SafetyLimits:
    """The safe operating range of one device on one bench (SI units).

    * ``v_min_V`` <= 0 <= ``v_max_V``: voltage range applied to the device [V];
    * ``compliance_max_A``: the largest current compliance a measurement may set [A];
    * ``pulse_width_max_s``: the longest programming pulse [s].
    """

    v_min_V: float = -2.0
    v_max_V: float = 2.0
    compliance_max_A: float = 1e-3
    pulse_width_max_s: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("v_min_V", "v_max_V", "compliance_max_A", "pulse_width_max_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InstrumentLimitError(f"SafetyLimits.{name}: expected a number, got {value!r}")
            if not math.isfinite(value):
                raise InstrumentLimitError(f"SafetyLimits.{name} = {value!r} must be finite")
        if not self.v_min_V <= 0.0 <= self.v_max_V or self.v_min_V == self.v_max_V:
            raise InstrumentLimitError(
                f"SafetyLimits: need v_min_V <= 0 <= v_max_V (not both 0), got"
                f" v_min_V = {self.v_min_V} V, v_max_V = {self.v_max_V} V"
            )
        for name in ("compliance_max_A", "pulse_width_max_s"):
            if not getattr(self, name) > 0.0:
                raise InstrumentLimitError(
                    f"SafetyLimits.{name} = {getattr(self, name)} must be > 0"
                )

    @property
    def span_V(self) -> float:
        """Largest |V| allowed [V] (the source range the drivers program)."""
        return max(-self.v_min_V, self.v_max_V)

    def check_voltage(self, value: float, name: str = "voltage_V") -> float:
        """``value`` [V] if it lies in [v_min_V, v_max_V], else :class:`InstrumentLimitError`."""
        self.check_voltages([value], name)
        return float(value)

    def check_voltages(
        self, values: Sequence[float] | np.ndarray, name: str = "voltage_V"
    ) -> np.ndarray:
        """All of ``values`` [V] as an array, if every one is finite and within the range;
        else the error names the first offending value, its index and the limit."""
        array = np.asarray(values, dtype=np.float64).ravel()
        bad = ~np.isfinite(array) | (array < self.v_min_V) | (array > self.v_max_V)
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            where = f"{name}[{k}]" if array.size > 1 else name
            raise InstrumentLimitError(
                f"{where} = {float(array[k])!r} V is outside the safety limits [{self.v_min_V:g},"
                f" {self.v_max_V:g}] V (SafetyLimits.v_min_V/v_max_V); nothing was sent"
            )
        return array

    def check_compliance(self, value: float, name: str = "compliance_A") -> float:
        """``value`` [A] if 0 < value <= compliance_max_A."""
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
            raise InstrumentLimitError(f"{name} = {value!r} A must be a finite number > 0")
        if value > self.compliance_max_A:
            raise InstrumentLimitError(
                f"{name} = {value!r} A exceeds SafetyLimits.compliance_max_A ="
                f" {self.compliance_max_A:g} A; nothing was sent"
            )
        return float(value)

    def check_pulse_width(self, value: float, name: str = "width_s") -> float:
        """``value`` [s] if 0 < value <= pulse_width_max_s."""
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
            raise InstrumentLimitError(f"{name} = {value!r} s must be a finite number > 0")
        if value > self.pulse_width_max_s:
            raise InstrumentLimitError(
                f"{name} = {value!r} s exceeds SafetyLimits.pulse_width_max_s ="
                f" {self.pulse_width_max_s:g} s; nothing was sent"
            )
        return float(value)

    def check(
        self,
        *,
        voltage_V: Sequence[float] | np.ndarray | float | None = None,
        compliance_A: float | None = None,
        width_s: float | None = None,
    ) -> None:
        """Check any of a request's voltages [V], compliance [A] and pulse width [s]."""
        if voltage_V is not None:
            self.check_voltages(np.atleast_1d(voltage_V))
        if compliance_A is not None:
            self.check_compliance(compliance_A)
        if width_s is not None:
            self.check_pulse_width(width_s)


SMU_LIMITS = SafetyLimits()
"""Default limits of the RRAM bench: +-2 V, 1 mA, 1 ms pulses."""
TESTER_LIMITS = SafetyLimits(v_min_V=-5.0, v_max_V=5.0, compliance_max_A=10e-3)
"""Default limits of the FeCap bench: +-5 V (the FeLIF clipping range), 10 mA."""

__all__ = ["SMU_LIMITS", "TESTER_LIMITS", "SafetyLimits"]
