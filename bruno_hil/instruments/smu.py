"""Driver of a Keithley 2400/2450-class source-measure unit (SCPI dialect of the 2400).

Source voltage, measure current, with current compliance in both polarities. Every
request is checked against :class:`SafetyLimits` before anything is sent;
:meth:`Keithley2400.configure` programs the source range (the limits' ``span_V``) and the
compliance and reads both back, and the output cannot be switched on before it has run.

Measurements: ``:INIT`` (a write: it runs once) then ``:FETC?`` (a query: retried safely
after a timeout, a lost connection or a garbled reply, the readings stay in the buffer).

* :meth:`~Keithley2400.measure`: one source-and-read point at the present level;
* :meth:`~Keithley2400.list_sweep`: a list sweep (``:SOUR:LIST:VOLT`` in chunks of 100,
  ``:APP`` for the rest, up to 2500 points) with a source delay per point;
* :meth:`~Keithley2400.pulse_train`: programming pulses in pulse shape, each followed by
  a read (``:SOUR:PULS:READ``, a bruno-hil extension that the emulator implements; on a
  bench SMU without it, use a pulse-measure unit or a list of short list sweeps).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bruno_hil.instruments.errors import InstrumentError, InstrumentLimitError
from bruno_hil.instruments.limits import SMU_LIMITS, SafetyLimits
from bruno_hil.instruments.scpi import ScpiInstrument

LIST_CHUNK = 100
"""Values per ``:SOUR:LIST:VOLT`` command (the 2400's limit)."""
LIST_POINTS_MAX = 2500
"""Points per list sweep (the 2400's buffer)."""
ELEMENTS = ("VOLT", "CURR")
"""Reading elements requested (``:FORM:ELEM``): voltage at the device, current."""


def _num(value: float) -> str:
    return f"{float(value):.10g}"


class Keithley2400(ScpiInstrument):
    """A 2400-class SMU; ``limits`` bound everything it may apply (see the module)."""

    def __init__(self, resource: str, limits: SafetyLimits | None = None, **kwargs: object) -> None:
        self.limits = limits or SMU_LIMITS
        self.compliance_A: float | None = None
        self._configured = False
        self._output_on = False
        super().__init__(resource, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def matches(idn: str) -> bool:
        """Whether ``*IDN?`` names a 2400/2450-class SMU."""
        model = idn.split(",")[1].upper() if idn.count(",") >= 1 else ""
        return any(m in model for m in ("2400", "2401", "2410", "2420", "2430", "2440", "2450"))

    def configure(self, compliance_A: float) -> None:
        """Reset, then program voltage sourcing, the source range and the compliance, and
        verify them on the instrument. The output stays off."""
        self.limits.check_compliance(compliance_A)
        self._configured = self._output_on = False
        for command in (
            "*RST",
            "*CLS",
            ":SOUR:FUNC VOLT",
            ":SOUR:FUNC:SHAP DC",
            ":SOUR:VOLT:MODE FIX",
            f":SOUR:VOLT:RANG {_num(self.limits.span_V)}",
            f":SENS:CURR:PROT {_num(compliance_A)}",
            f":FORM:ELEM {','.join(ELEMENTS)}",
        ):
            self._write(command)
        got_range = self.query(":SOUR:VOLT:RANG?", float)
        got_compliance = self.query(":SENS:CURR:PROT?", float)
        if got_range > self.limits.span_V * (1 + 1e-6) or not np.isclose(
            got_compliance, compliance_A, rtol=1e-6
        ):
            raise InstrumentError(
                f"{self.resource}: the instrument did not take the limits: range {got_range:g} V"
                f" (asked {self.limits.span_V:g}), compliance {got_compliance:g} A (asked"
                f" {compliance_A:g})"
            )
        self.compliance_A = compliance_A
        self._configured = True

    def set_compliance(self, compliance_A: float) -> None:
        """Change the current compliance [A] (checked first)."""
        self.limits.check_compliance(compliance_A)
        self._write(f":SENS:CURR:PROT {_num(compliance_A)}")
        self.compliance_A = compliance_A

    def set_voltage(self, voltage_V: float) -> None:
        """Set the source level [V] (checked first; applied at once if the output is on)."""
        self.limits.check_voltage(voltage_V, "voltage_V")
        self._write(f":SOUR:VOLT:LEV {_num(voltage_V)}")

    def set_source_delay(self, delay_s: float) -> None:
        """Set the source delay [s] before each reading (> 0 and finite)."""
        if not (isinstance(delay_s, (int, float)) and 0.0 < delay_s < float("inf")):
            raise InstrumentLimitError(f"delay_s = {delay_s!r} s must be a finite number > 0")
        self._write(f":SOUR:DEL {_num(delay_s)}")

    def _require_configured(self, what: str) -> None:
        if not self._configured:
            raise InstrumentLimitError(
                f"{self.resource}: {what} refused: configure() has not set the source range"
                " and compliance on the instrument"
            )

    def output(self, on: bool) -> None:
        """Switch the output; on only after :meth:`configure`."""
        if on:
            self._require_configured("output on")
        self._write(":OUTP ON" if on else ":OUTP OFF")
        self._output_on = on

    def _acquire(self, count: int) -> pd.DataFrame:
        """``:INIT`` then ``:FETC?``: ``count`` readings (``device_voltage_V``, ``current_A``)."""
        self._write(":INIT")
        values = self.query_floats(":FETC?", count * len(ELEMENTS)).reshape(count, len(ELEMENTS))
        return pd.DataFrame({"device_voltage_V": values[:, 0], "current_A": values[:, 1]})

    def measure(self) -> tuple[float, float]:
        """One reading at the present level: (device voltage [V], current [A])."""
        self._write(":SOUR:VOLT:MODE FIX")
        self._write(":TRIG:COUN 1")
        row = self._acquire(1).iloc[0]
        return float(row["device_voltage_V"]), float(row["current_A"])

    def _load_list(self, values: np.ndarray) -> None:
        if not 1 <= values.size <= LIST_POINTS_MAX:
            raise InstrumentError(
                f"a list sweep holds 1 to {LIST_POINTS_MAX} points, got {values.size}"
            )
        for k in range(0, values.size, LIST_CHUNK):
            head = ":SOUR:LIST:VOLT:APP" if k else ":SOUR:LIST:VOLT"
            self._write(f"{head} {','.join(_num(v) for v in values[k : k + LIST_CHUNK])}")
        self._write(f":TRIG:COUN {values.size}")

    def list_sweep(self, voltage_V: np.ndarray, delay_s: float) -> pd.DataFrame:
        """Step through ``voltage_V`` [V] (all checked first), ``delay_s`` [s] per point,
        switching the output on if needed (it stays on, so that consecutive sweeps
        continue one path); rows ``voltage_V`` (setpoint), ``device_voltage_V``,
        ``current_A``."""
        v = self.limits.check_voltages(voltage_V, "voltage_V")
        self._require_configured("list sweep")
        if not delay_s > 0.0:
            raise InstrumentError(f"delay_s = {delay_s!r} s must be > 0")
        self._write(":SOUR:FUNC:SHAP DC")
        self._write(":SOUR:VOLT:MODE LIST")
        self._load_list(v)
        self._write(f":SOUR:DEL {_num(delay_s)}")
        if not self._output_on:
            self.output(True)
        data = self._acquire(v.size)
        data.insert(0, "voltage_V", v)
        return data

    def pulse_train(self, amplitude_V: np.ndarray, width_s: float, read_V: float) -> pd.DataFrame:
        """One pulse of ``width_s`` [s] per amplitude [V] from 0 V, each followed by a read
        at ``read_V`` [V] (everything checked first); rows ``amplitude_V``,
        ``device_voltage_V`` (during the read) and ``read_current_A``."""
        amps = self.limits.check_voltages(amplitude_V, "amplitude_V")
        self.limits.check_voltage(read_V, "read_V")
        self.limits.check_pulse_width(width_s, "width_s")
        self._require_configured("pulse train")
        self._write(":SOUR:FUNC:SHAP PULS")
        self._write(f":SOUR:PULS:WIDT {_num(width_s)}")
        self._write(f":SOUR:PULS:READ {_num(read_V)}")
        self._write(":SOUR:VOLT:MODE LIST")
        self._load_list(amps)
        if not self._output_on:
            self.output(True)
        data = self._acquire(amps.size).rename(columns={"current_A": "read_current_A"})
        data.insert(0, "amplitude_V", amps)
        self._write(":SOUR:FUNC:SHAP DC")
        return data


__all__ = ["ELEMENTS", "LIST_CHUNK", "LIST_POINTS_MAX", "Keithley2400"]
