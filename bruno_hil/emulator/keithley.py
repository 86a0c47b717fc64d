"""An emulated Keithley 2400-class source-measure unit with an RRAM cell as its load.

The command subset (long or short forms, optional nodes as in the 2400 manual):

* source: ``:SOUR:FUNC VOLT``, ``:SOUR:FUNC:SHAP DC|PULS``, ``:SOUR:VOLT[:LEV] <V>``,
  ``:SOUR:VOLT:RANG <V>`` (levels beyond the range are refused, -222),
  ``:SOUR:VOLT:MODE FIX|LIST|SWE``, ``:SOUR:VOLT:STAR|STOP|STEP <V>`` (linear staircase),
  ``:SOUR:LIST:VOLT <V>,...`` (at most 100 values per command, as on the 2400) and
  ``:SOUR:LIST:VOLT:APP <V>,...`` (up to 2500 points), ``:SOUR:DEL <s>``,
  ``:SOUR:PULS:WIDT <s>``, ``:SOUR:PULS:DEL <s>``;
* ``:SOUR:PULS:READ <V>``: a bruno-hil extension (no 2400 has it): in pulse shape each
  list point is a programming pulse of ``WIDT`` from 0 V, followed by a read at this
  level; the reading is taken during the read (a pulse-measure unit's "measure at base");
* sense: ``:SENS:CURR:PROT <A>`` (compliance, both polarities), ``:SENS:FUNC``,
  ``:SENS:CURR:NPLC``, ``:SENS:CURR:RANG[:AUTO]`` (stored, no effect);
* ``:FORM:ELEM VOLT,CURR,RES,TIME,STAT`` (any subset, in that order), ``:TRIG:COUN <n>``,
  ``:OUTP ON|OFF`` (off ramps the source to 0 V), ``:INIT``, ``:FETC?``, ``:READ?``,
  ``:MEAS[:CURR|:VOLT]?``; ``:INIT`` with the output off gives +803 "Output disabled".

Timing: a DC step from one setpoint to the next is a ramp that takes ``:SOUR:DEL`` for a
step of the path's median size (see :mod:`bruno_hil.emulator.dut`), so a list sweep in
steps of 10 mV with a 10 ms source delay sweeps at 1 V/s. ``VOLT`` readings are the
voltage across the cell (remote sense), ``TIME`` the simulated time [s] of the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bruno_hil.devices.params import RRAMParams
from bruno_hil.emulator.dut import RRAMDut
from bruno_hil.emulator.scpi import (
    Command,
    EmulatedInstrument,
    ScpiCommandError,
    format_floats,
    parse_bool,
    parse_float,
    parse_floats,
)

LIST_CHUNK_MAX = 100
"""Values one ``:SOUR:LIST:VOLT`` command may carry (the 2400's limit)."""
LIST_POINTS_MAX = 2500
"""Points of a list sweep and of the reading buffer (the 2400's limit)."""
ELEMENTS: tuple[str, ...] = ("VOLT", "CURR", "RES", "TIME", "STAT")
MODES = {"FIX": "FIX", "FIXED": "FIX", "LIST": "LIST", "SWE": "SWE", "SWEEP": "SWE"}
COMPLIANCE_BIT = 8
"""Status bit of a reading taken in current compliance."""
OVERFLOW = 9.91e37
"""What the 2400 returns for a resistance with no current."""


@dataclass
class SmuSettings:
    """The settings ``*RST`` restores (2400 power-on defaults where they matter)."""

    output: bool = False
    function: str = "VOLT"
    shape: str = "DC"
    mode: str = "FIX"
    level_V: float = 0.0
    range_V: float = 21.0
    compliance_A: float = 105e-6
    delay_s: float = 0.01
    start_V: float = 0.0
    stop_V: float = 0.0
    step_V: float = 0.0
    pulse_width_s: float = 1e-6
    pulse_delay_s: float = 1e-6
    pulse_read_V: float = 0.1
    trigger_count: int = 1
    elements: tuple[str, ...] = ELEMENTS
    list_V: list[float] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)


class EmulatedSmu(EmulatedInstrument):
    """A 2400-class SMU whose load is an :class:`RRAMDut` (see the module).

    :attr:`events` records each output switch-on with the compliance and range then set,
    for the safety tests."""

    idn = "BRUNO-HIL EMULATOR,MODEL 2400 SMU (ngspice RRAM),0,0.1.0"

    def __init__(self, params: RRAMParams | None = None) -> None:
        self.dut = RRAMDut(params)
        self.s = SmuSettings()
        self.buffer: pd.DataFrame | None = None
        self.events: list[dict[str, float | str]] = []
        super().__init__()

    # -- helpers -------------------------------------------------------------------------
    def reset(self) -> None:
        self._output(False)
        self.s = SmuSettings()
        self.buffer = None

    def _output(self, on: bool) -> None:
        if on and not self.s.output:
            self.events.append(
                {
                    "event": "output on",
                    "compliance_A": self.s.compliance_A,
                    "range_V": self.s.range_V,
                }
            )
        if not on and self.s.output:
            self.dut.rest(self.s.compliance_A, self.s.delay_s)
            self.events.append({"event": "output off"})
        self.s.output = on

    def _check_level(self, v: float) -> float:
        if abs(v) > self.s.range_V:
            raise ScpiCommandError(-222, f"{v:g} V is beyond the source range {self.s.range_V:g} V")
        return v

    def _setter(self, attr: str, low: float, high: float, unit: str):
        def handler(text: str) -> None:
            value = parse_float(text, attr)
            if not low <= value <= high:
                raise ScpiCommandError(-222, f"{value:g} {unit} outside [{low:g}, {high:g}] {unit}")
            setattr(self.s, attr, value)

        return handler

    def _getter(self, attr: str):
        return lambda _: f"{getattr(self.s, attr):+.9E}"

    def _choice(self, attr: str, choices: dict[str, str]):
        def handler(text: str) -> None:
            word = text.strip().strip("'\"").upper()
            if word not in choices:
                raise ScpiCommandError(-224, f"{word!r}: expected one of {', '.join(choices)}")
            setattr(self.s, attr, choices[word])

        return handler

    def _store(self, name: str):
        def handler(text: str) -> None:
            self.s.stored[name] = text

        return handler

    # -- source --------------------------------------------------------------------------
    def _set_level(self, text: str) -> None:
        v = self._check_level(parse_float(text, "level"))
        self.s.level_V = v
        if self.s.output and self.s.mode == "FIX" and self.s.shape == "DC":
            self.dut.apply([v], self.s.compliance_A, self.s.delay_s)

    def _set_range(self, text: str) -> None:
        value = parse_float(text, "range")
        if not 0.0 < value <= 210.0:
            raise ScpiCommandError(-222, f"range {value:g} V outside (0, 210] V")
        self.s.range_V = value

    def _set_list(self, text: str, append: bool = False) -> None:
        values = parse_floats(text, "list")
        if len(values) > LIST_CHUNK_MAX:
            raise ScpiCommandError(
                -222, f"{len(values)} values; at most {LIST_CHUNK_MAX} per command"
            )
        new = (self.s.list_V if append else []) + [self._check_level(v) for v in values]
        if len(new) > LIST_POINTS_MAX:
            raise ScpiCommandError(-222, f"list of {len(new)} points; at most {LIST_POINTS_MAX}")
        self.s.list_V = new

    def _set_count(self, text: str) -> None:
        n = parse_float(text, "count")
        if n != int(n) or not 1 <= n <= LIST_POINTS_MAX:
            raise ScpiCommandError(-222, f"count {n:g} outside 1..{LIST_POINTS_MAX}")
        self.s.trigger_count = int(n)

    def _set_elements(self, text: str) -> None:
        words = [w.strip().strip("'\"").upper() for w in text.split(",") if w.strip()]
        chosen = {e for e in ELEMENTS for w in words if w.startswith(e)}
        unknown = [w for w in words if not any(w.startswith(e) for e in ELEMENTS)]
        if not words or unknown:
            raise ScpiCommandError(-224, f"elements {unknown}: use {', '.join(ELEMENTS)}")
        self.s.elements = tuple(e for e in ELEMENTS if e in chosen)

    # -- measurement ---------------------------------------------------------------------
    def _points(self) -> list[float]:
        s, n = self.s, self.s.trigger_count
        if s.mode == "FIX":
            return [s.level_V] * n
        if s.mode == "LIST":
            if n > len(s.list_V):
                raise ScpiCommandError(-221, f"TRIG:COUN {n} > {len(s.list_V)} list points")
            return s.list_V[:n]
        if s.step_V == 0.0:
            raise ScpiCommandError(-221, "sweep step is 0 V")
        count = int(np.floor(abs(s.stop_V - s.start_V) / abs(s.step_V) + 1e-9)) + 1
        points = s.start_V + np.sign(s.stop_V - s.start_V) * abs(s.step_V) * np.arange(count)
        return [self._check_level(float(v)) for v in points[:n]]

    def _initiate(self, _: str = "") -> None:
        if not self.s.output:
            raise ScpiCommandError(803, "output is off")
        points = self._points()
        c = self.s.compliance_A
        if self.s.shape == "PULS":
            self.dut.rest(c, self.s.delay_s)
            data = self.dut.pulses(points, self.s.pulse_width_s, self.s.pulse_read_V, c)
            data = data.rename(columns={"read_current_A": "current_A", "read_time_s": "time_s"})
        else:
            data = self.dut.apply(points, c, self.s.delay_s)
        self.buffer = data

    def _fetch(self, _: str = "") -> str:
        if self.buffer is None or self.buffer.empty:
            raise ScpiCommandError(-230, "no readings")
        d = self.buffer
        v = d["device_voltage_V"].to_numpy()
        i = d["current_A"].to_numpy()
        columns = {
            "VOLT": v,
            "CURR": i,
            "RES": np.where(i != 0.0, v / np.where(i != 0.0, i, 1.0), OVERFLOW),
            "TIME": d["time_s"].to_numpy() if "time_s" in d else np.zeros(len(d)),
            "STAT": np.where(np.abs(i) >= 0.999 * self.s.compliance_A, COMPLIANCE_BIT, 0),
        }
        table = np.column_stack([columns[e] for e in self.s.elements])
        return format_floats(table.ravel())

    def _read(self, _: str = "") -> str:
        self._initiate()
        return self._fetch()

    def _output_cmd(self, text: str) -> None:
        self._output(parse_bool(text, "output"))

    def commands(self) -> list[Command]:
        s = "SOURce"
        return [
            Command(
                f"{s}:FUNCtion[:MODE]",
                self._choice("function", {"VOLT": "VOLT", "VOLTAGE": "VOLT"}),
            ),
            Command(f"{s}:FUNCtion[:MODE]?", lambda _: self.s.function),
            Command(
                f"{s}:FUNCtion:SHAPe",
                self._choice("shape", {"DC": "DC", "PULS": "PULS", "PULSE": "PULS"}),
            ),
            Command(f"{s}:FUNCtion:SHAPe?", lambda _: self.s.shape),
            Command(f"{s}:VOLTage:MODE", self._choice("mode", MODES)),
            Command(f"{s}:VOLTage:MODE?", lambda _: self.s.mode),
            Command(f"{s}:VOLTage:RANGe:AUTO", self._store("SOUR:VOLT:RANG:AUTO")),
            Command(f"{s}:VOLTage:RANGe", self._set_range),
            Command(f"{s}:VOLTage:RANGe?", self._getter("range_V")),
            Command(f"{s}:VOLTage:STARt", self._setter("start_V", -210, 210, "V")),
            Command(f"{s}:VOLTage:STOP", self._setter("stop_V", -210, 210, "V")),
            Command(f"{s}:VOLTage:STEP", self._setter("step_V", -210, 210, "V")),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_level),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", self._getter("level_V")),
            Command(f"{s}:LIST:VOLTage", self._set_list),
            Command(f"{s}:LIST:VOLTage:APPend", lambda t: self._set_list(t, append=True)),
            Command(f"{s}:LIST:VOLTage?", lambda _: format_floats(self.s.list_V)),
            Command(f"{s}:LIST:VOLTage:POINts?", lambda _: str(len(self.s.list_V))),
            Command(f"{s}:DELay", self._setter("delay_s", 1e-9, 1e3, "s")),
            Command(f"{s}:DELay?", self._getter("delay_s")),
            Command(f"{s}:DELay:AUTO", self._store("SOUR:DEL:AUTO")),
            Command(f"{s}:CLEar:AUTO", self._store("SOUR:CLE:AUTO")),
            Command(f"{s}:PULSe:WIDTh", self._setter("pulse_width_s", 1e-9, 1.0, "s")),
            Command(f"{s}:PULSe:WIDTh?", self._getter("pulse_width_s")),
            Command(f"{s}:PULSe:DELay", self._setter("pulse_delay_s", 0.0, 1.0, "s")),
            Command(f"{s}:PULSe:READ[:VOLTage]", self._setter("pulse_read_V", -210, 210, "V")),
            Command(f"{s}:PULSe:READ[:VOLTage]?", self._getter("pulse_read_V")),
            Command(
                "SENSe:CURRent[:DC]:PROTection[:LEVel]",
                self._setter("compliance_A", 1e-9, 1.05, "A"),
            ),
            Command("SENSe:CURRent[:DC]:PROTection[:LEVel]?", self._getter("compliance_A")),
            Command("SENSe:FUNCtion[:ON]", self._store("SENS:FUNC")),
            Command("SENSe:FUNCtion:ALL", self._store("SENS:FUNC:ALL")),
            Command("SENSe:CURRent[:DC]:NPLCycles", self._store("SENS:CURR:NPLC")),
            Command("SENSe:CURRent[:DC]:RANGe[:UPPer]", self._store("SENS:CURR:RANG")),
            Command("SENSe:CURRent[:DC]:RANGe:AUTO", self._store("SENS:CURR:RANG:AUTO")),
            Command("SYSTem:AZERo[:STATe]", self._store("SYST:AZER")),
            Command("SYSTem:BEEPer[:STATe]", self._store("SYST:BEEP")),
            Command("FORMat:ELEMents[:SENSe]", self._set_elements),
            Command("FORMat:ELEMents[:SENSe]?", lambda _: ",".join(self.s.elements)),
            Command("TRIGger:COUNt", self._set_count),
            Command("TRIGger:COUNt?", lambda _: str(self.s.trigger_count)),
            Command("TRIGger:CLEar", lambda _: None),
            Command("TRIGger:DELay", self._store("TRIG:DEL")),
            Command("ARM:COUNt", self._store("ARM:COUN")),
            Command("OUTPut[:STATe]", self._output_cmd),
            Command("OUTPut[:STATe]?", lambda _: "1" if self.s.output else "0"),
            Command("INITiate[:IMMediate]", self._initiate),
            Command("ABORt", lambda _: None),
            Command("FETCh?", self._fetch),
            Command("READ?", self._read),
            Command("MEASure[:CURRent][:DC]?", self._read),
            Command("MEASure:VOLTage[:DC]?", self._read),
        ]


__all__ = ["LIST_CHUNK_MAX", "LIST_POINTS_MAX", "EmulatedSmu", "SmuSettings"]
