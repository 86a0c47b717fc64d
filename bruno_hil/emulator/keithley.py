"""An emulated Keithley 2400-class source-measure unit with an RRAM cell as its load.

The command subset (long or short forms, optional nodes as in the 2400 manual; every
setting the emulator accepts answers its query):

* source: ``:SOUR:FUNC VOLT`` (``CURR`` is refused, -221: no current source is emulated),
  ``:SOUR:FUNC:SHAP DC|PULS``, ``:SOUR:VOLT[:LEV] <V>``,
  ``:SOUR:VOLT:RANG <V>`` (levels beyond the range are refused, -222),
  ``:SOUR:VOLT:MODE FIX|LIST|SWE``, ``:SOUR:VOLT:STAR|STOP|STEP <V>`` (linear staircase),
  ``:SOUR:LIST:VOLT <V>,...`` (at most 100 values per command, as on the 2400) and
  ``:SOUR:LIST:VOLT:APP <V>,...`` (up to 2500 points), ``:SOUR:DEL <s>``,
  ``:SOUR:PULS:WIDT <s>``, ``:SOUR:PULS:DEL <s>``;
* ``:SOUR:PULS:READ <V>``: a bruno-hil extension (no 2400 has it): in pulse shape each
  list point is a programming pulse of ``WIDT`` from 0 V, followed by a read at this
  level; the reading is taken during the read (a pulse-measure unit's "measure at base");
* sense: ``:SENS:CURR:PROT <A>`` (compliance, both polarities), ``:SENS:FUNC``,
  ``:SENS:VOLT:RANG?`` (the source range: in a voltage source function the 2400 measures
  voltage on it); stored without effect on the physics (:mod:`.stored`): NPLC, measure
  ranges and auto-range, averaging, voltage protection, auto-zero, remote sense,
  terminals, beeper, display, line frequency, trigger and arm sources, lines and timers;
* ``:FORM:ELEM VOLT,CURR,RES,TIME,STAT`` (any subset, in that order), ``:FORM:DATA ASC``
  (binary formats are refused), ``:ARM:COUN <n>`` x ``:TRIG:COUN <n>`` <= 2500 readings,
  ``:OUTP ON|OFF`` (off ramps the source to 0 V), ``:INIT``, ``:FETC?``, ``:READ?``,
  ``:MEAS[:CURR|:VOLT|:RES]?``; ``:INIT`` with the output off gives +803 "Output
  disabled". Triggering is immediate whatever the sources (``*TRG`` is accepted);
* buffer: ``:TRAC:POIN <n>``, ``:TRAC:FEED SENS``, ``:TRAC:FEED:CONT NEXT|NEV`` (the
  readings of each ``:INIT`` fill it until full, then the control returns to ``NEV``),
  ``:TRAC:CLE``, ``:TRAC:POIN:ACT?``, ``:TRAC:DATA?``; ``:CALC3:FORM MEAN|SDEV|MAX|MIN|
  PKPK`` and ``:CALC3:DATA?`` (the statistic of the buffer's V, I, R elements);
* status: the measurement event register (``:STAT:MEAS[:EVEN]?``, ``:ENAB``, ``:COND?``;
  bit 5 reading available, 8 buffer available, 9 buffer full, 14 compliance), its summary
  in bit 0 of the status byte, ``:STAT:PRES``, ``:STAT:OPER|QUES`` (always 0).

Timing: a DC step from one setpoint to the next is a ramp that takes ``:SOUR:DEL`` for a
step of the median step size of the setpoints of one command (see
:mod:`bruno_hil.emulator.dut`), so a list sweep in steps of 10 mV with a 10 ms source
delay sweeps at 1 V/s. ``VOLT`` readings are the voltage across the cell (remote sense),
``TIME`` the simulated time [s] of the reading.
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
    parse_int,
    quote,
)
from bruno_hil.emulator.stored import Stored, stored_commands

LIST_CHUNK_MAX = 100
"""Values one ``:SOUR:LIST:VOLT`` command may carry (the 2400's limit)."""
LIST_POINTS_MAX = 2500
"""Points of a list sweep, readings of one ``:INIT`` and of the buffer (the 2400's limit)."""
ELEMENTS: tuple[str, ...] = ("VOLT", "CURR", "RES", "TIME", "STAT")
MODES = {"FIX": "FIX", "FIXED": "FIX", "LIST": "LIST", "SWE": "SWE", "SWEEP": "SWE"}
COMPLIANCE_BIT = 8
"""Status bit of a reading taken in current compliance."""
OVERFLOW = 9.91e37
"""What the 2400 returns for a resistance with no current."""
READING_AVAILABLE, BUFFER_AVAILABLE, BUFFER_FULL, IN_COMPLIANCE = 1 << 5, 1 << 8, 1 << 9, 1 << 14
"""Bits of the 2400's measurement event register."""
STATISTICS = ("MEAN", "SDEV", "MAX", "MIN", "PKPK")

_WORDS_TRIGGER = ("IMM", "TLIN", "TIM", "MAN", "BUS", "NST", "PST", "BST")
STORED_2400: list[Stored] = [
    Stored("SOURce:VOLTage:RANGe:AUTO", "bool", False),
    Stored("SOURce:DELay:AUTO", "bool", False),
    Stored("SOURce:CLEar:AUTO", "bool", False),
    *(
        Stored(f"SENSe:{f}:NPLCycles", "float", 1.0, 0.01, 10.0)
        for f in ("CURRent[:DC]", "VOLTage[:DC]", "RESistance")
    ),
    Stored("SENSe:CURRent[:DC]:RANGe[:UPPer]", "float", 1.05e-4, 0.0, 1.05, "A"),
    Stored("SENSe:CURRent[:DC]:RANGe:AUTO", "bool", True),
    Stored("SENSe:VOLTage[:DC]:RANGe:AUTO", "bool", True),
    Stored("SENSe:RESistance:RANGe[:UPPer]", "float", 2.1e5, 0.0, 2.1e8, "OHM"),
    Stored("SENSe:RESistance:RANGe:AUTO", "bool", True),
    Stored("SENSe:RESistance:MODE", "word", "MAN", choices=("MAN", "AUTO")),
    Stored("SENSe:VOLTage[:DC]:PROTection[:LEVel]", "float", 21.0, 0.2, 210.0, "V"),
    Stored("SENSe:FUNCtion:CONCurrent", "bool", True),
    Stored("SENSe:AVERage[:STATe]", "bool", False),
    Stored("SENSe:AVERage:TCONtrol", "word", "REP", choices=("REP", "MOV")),
    Stored("SENSe:AVERage:COUNt", "int", 10, 1, 100),
    Stored("SYSTem:AZERo[:STATe]", "bool", True, extra_words=("ONCE",)),
    Stored("SYSTem:BEEPer[:STATe]", "bool", True),
    Stored("SYSTem:RSENse", "bool", False),
    Stored("SYSTem:LFRequency", "int", 60, 50, 60),
    Stored("SYSTem:LFRequency:AUTO", "bool", False),
    Stored("ROUTe:TERMinals", "word", "FRON", choices=("FRON", "REAR")),
    Stored("OUTPut:SMODe", "word", "NORM", choices=("HIMP", "NORM", "ZERO", "GUAR")),
    Stored("DISPlay:ENABle", "bool", True),
    Stored("TRIGger:DELay", "float", 0.0, 0.0, 999.9999, "S"),
    Stored("TRIGger:SOURce", "word", "IMM", choices=("IMM", "TLIN")),
    Stored("ARM:SOURce", "word", "IMM", choices=_WORDS_TRIGGER),
    Stored("ARM:TIMer", "float", 0.1, 0.001, 99999.99, "S"),
    *(
        Stored(f"{layer}:{line}", "int", 1, 1, 4)
        for layer in ("ARM", "TRIGger")
        for line in ("ILINe", "OLINe")
    ),
    Stored("ARM:OUTPut", "word", "NONE", choices=("NONE", "TEN", "TEX")),
    Stored("TRIGger:OUTPut", "word", "NONE", choices=("NONE", "SOUR", "DEL", "SENS")),
    Stored("FORMat[:DATA]", "word", "ASC", choices=("ASC",)),
    Stored("TRACe:FEED", "word", "SENS", choices=("SENS", "CALC", "NONE")),
    Stored("CALCulate3:FORMat", "word", "MEAN", choices=STATISTICS),
]
"""The 2400 settings stored without effect on the emulation (see :mod:`.stored`)."""


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
    arm_count: int = 1
    sense_functions: tuple[str, ...] = ("CURR:DC",)
    elements: tuple[str, ...] = ELEMENTS
    list_V: list[float] = field(default_factory=list)
    trace_points: int = 100
    trace_next: bool = False
    stored: dict[str, float | bool | str] = field(default_factory=dict)


class EmulatedSmu(EmulatedInstrument):
    """A 2400-class SMU whose load is an :class:`RRAMDut` (see the module).

    :attr:`events` records each output switch-on with the compliance and range then set,
    for the safety tests. :attr:`readings` holds the last ``:INIT``'s readings and
    :attr:`trace` the buffer, rows of ``(V, I, R, TIME, STAT)``."""

    idn = "BRUNO-HIL EMULATOR,MODEL 2400 SMU (ngspice RRAM),0,0.1.0"

    def __init__(self, params: RRAMParams | None = None) -> None:
        self.dut = RRAMDut(params)
        self.s = SmuSettings()
        self.readings = np.empty((0, len(ELEMENTS)))
        self.trace = np.empty((0, len(ELEMENTS)))
        self.measurement_event = 0
        self.measurement_enable = 0
        self.events: list[dict[str, float | str]] = []
        super().__init__()

    # -- helpers -------------------------------------------------------------------------
    def reset(self) -> None:
        self._output(False)
        self.s = SmuSettings()
        self.readings = np.empty((0, len(ELEMENTS)))

    def output_off(self) -> None:
        self._output(False)

    def clear_status(self) -> None:
        super().clear_status()
        self.measurement_event = 0

    def summary_bits(self) -> int:
        """Bit 0: an enabled measurement event."""
        return 1 if self.measurement_event & self.measurement_enable else 0

    def _preset_status(self, _: str = "") -> None:
        self.measurement_enable = 0

    def _read_event(self, _: str = "") -> str:
        value, self.measurement_event = self.measurement_event, 0
        return str(value)

    def _condition(self) -> int:
        full = len(self.trace) >= self.s.trace_points
        return (BUFFER_AVAILABLE if len(self.trace) else 0) | (BUFFER_FULL if full else 0)

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
        default = getattr(SmuSettings(), attr)

        def handler(text: str) -> None:
            value = parse_float(
                text, attr, unit=unit.upper(), minimum=low, maximum=high, default=default
            )
            if not low <= value <= high:
                raise ScpiCommandError(-222, f"{value:g} {unit} outside [{low:g}, {high:g}] {unit}")
            setattr(self.s, attr, value)

        return handler

    def _getter(self, attr: str):
        return lambda _: f"{getattr(self.s, attr):+.9E}"

    def _choice(self, attr: str, choices: dict[str, str]):
        def handler(text: str) -> None:
            word = text.strip().strip("'\"").upper()
            if not word:
                raise ScpiCommandError(-109, f"{attr}: no value")
            if word not in choices:
                raise ScpiCommandError(-224, f"{quote(word)}: expected one of {', '.join(choices)}")
            setattr(self.s, attr, choices[word])

        return handler

    # -- source --------------------------------------------------------------------------
    def _set_function(self, text: str) -> None:
        word = text.strip().strip("'\"").upper()
        if word.startswith("CURR"):
            raise ScpiCommandError(-221, "the current source is not emulated (use VOLT)")
        self._choice("function", {"VOLT": "VOLT", "VOLTAGE": "VOLT"})(text)

    def _set_level(self, text: str) -> None:
        v = self._check_level(
            parse_float(
                text,
                "level",
                unit="V",
                minimum=-self.s.range_V,
                maximum=self.s.range_V,
                default=0.0,
            )
        )
        self.s.level_V = v
        if self.s.output and self.s.mode == "FIX" and self.s.shape == "DC":
            self.dut.apply([v], self.s.compliance_A, self.s.delay_s)

    def _set_range(self, text: str) -> None:
        value = parse_float(text, "range", unit="V", minimum=0.2, maximum=210.0, default=21.0)
        if not 0.0 < value <= 210.0:
            raise ScpiCommandError(-222, f"range {value:g} V outside (0, 210] V")
        self.s.range_V = value

    def _set_list(self, text: str, append: bool = False) -> None:
        values = parse_floats(text, "list", unit="V")
        if len(values) > LIST_CHUNK_MAX:
            raise ScpiCommandError(
                -222, f"{len(values)} values; at most {LIST_CHUNK_MAX} per command"
            )
        new = (self.s.list_V if append else []) + [self._check_level(v) for v in values]
        if len(new) > LIST_POINTS_MAX:
            raise ScpiCommandError(-222, f"list of {len(new)} points; at most {LIST_POINTS_MAX}")
        self.s.list_V = new

    def _set_count(self, attr: str):
        def handler(text: str) -> None:
            n = parse_int(text, attr, 1, LIST_POINTS_MAX)
            other = self.s.arm_count if attr == "trigger_count" else self.s.trigger_count
            if n * other > LIST_POINTS_MAX:
                raise ScpiCommandError(
                    -221, f"ARM:COUN x TRIG:COUN = {n * other} > {LIST_POINTS_MAX} readings"
                )
            setattr(self.s, attr, n)

        return handler

    def _set_elements(self, text: str) -> None:
        words = [w.strip().strip("'\"").upper() for w in text.split(",") if w.strip()]
        chosen = {e for e in ELEMENTS for w in words if w.startswith(e)}
        unknown = [w[:16] for w in words if not any(w.startswith(e) for e in ELEMENTS)]
        if not words:
            raise ScpiCommandError(-109, "elements: none given")
        if unknown:
            raise ScpiCommandError(-224, f"elements {unknown[:3]}: use {', '.join(ELEMENTS)}")
        self.s.elements = tuple(e for e in ELEMENTS if e in chosen)

    def _set_sense(self, text: str) -> None:
        words = [w.strip().strip("'\"").upper() for w in text.split(",") if w.strip()]
        if not words:
            raise ScpiCommandError(-109, "sense function: none given")
        names = {"CURR": "CURR:DC", "VOLT": "VOLT:DC", "RES": "RES"}
        chosen = [n for w in words for key, n in names.items() if w.startswith(key)]
        if len(chosen) != len(words):
            raise ScpiCommandError(-224, f"sense functions {quote(text)}: CURR, VOLT or RES")
        self.s.sense_functions = tuple(dict.fromkeys(chosen))

    # -- measurement ---------------------------------------------------------------------
    def _points(self) -> list[float]:
        s, n = self.s, self.s.trigger_count
        if s.mode == "FIX":
            return [s.level_V] * n * s.arm_count
        if s.mode == "LIST":
            if n > len(s.list_V):
                raise ScpiCommandError(-221, f"TRIG:COUN {n} > {len(s.list_V)} list points")
            return s.list_V[:n] * s.arm_count
        if s.step_V == 0.0:
            raise ScpiCommandError(-221, "sweep step is 0 V")
        count = int(np.floor(abs(s.stop_V - s.start_V) / abs(s.step_V) + 1e-9)) + 1
        if count > LIST_POINTS_MAX:
            raise ScpiCommandError(-221, f"sweep of {count} points; at most {LIST_POINTS_MAX}")
        points = s.start_V + np.sign(s.stop_V - s.start_V) * abs(s.step_V) * np.arange(count)
        return [self._check_level(float(v)) for v in points[:n]] * s.arm_count

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
        self.readings = self._rows(data)
        self.measurement_event |= READING_AVAILABLE
        if np.any(self.readings[:, 4] > 0):
            self.measurement_event |= IN_COMPLIANCE
        if self.s.trace_next:
            room = self.s.trace_points - len(self.trace)
            self.trace = np.vstack([self.trace, self.readings[:room]])
            self.measurement_event |= BUFFER_AVAILABLE
            if len(self.trace) >= self.s.trace_points:
                self.s.trace_next = False
                self.measurement_event |= BUFFER_FULL

    def _rows(self, d: pd.DataFrame) -> np.ndarray:
        """Readings ``(V, I, R, TIME, STAT)`` of the simulated rows ``d``."""
        v = d["device_voltage_V"].to_numpy()
        i = d["current_A"].to_numpy()
        return np.column_stack(
            [
                v,
                i,
                np.where(i != 0.0, v / np.where(i != 0.0, i, 1.0), OVERFLOW),
                d["time_s"].to_numpy() if "time_s" in d else np.zeros(len(d)),
                np.where(np.abs(i) >= 0.999 * self.s.compliance_A, COMPLIANCE_BIT, 0),
            ]
        )

    def _format(self, rows: np.ndarray) -> str:
        columns = [ELEMENTS.index(e) for e in self.s.elements]
        return format_floats(rows[:, columns].ravel())

    def _fetch(self, _: str = "") -> str:
        if not len(self.readings):
            raise ScpiCommandError(-230, "no readings")
        return self._format(self.readings)

    def _read(self, _: str = "") -> str:
        self._initiate()
        return self._fetch()

    def _trace_data(self, _: str = "") -> str:
        if not len(self.trace):
            raise ScpiCommandError(-230, "the buffer is empty")
        return self._format(self.trace)

    def _statistic(self, _: str = "") -> str:
        if not len(self.trace):
            raise ScpiCommandError(-230, "the buffer is empty")
        kind = str(self.s.stored.get("CALCulate3:FORMat", "MEAN"))
        x = self.trace[:, [ELEMENTS.index(e) for e in self.s.elements if e in ELEMENTS[:3]]]
        result = {
            "MEAN": lambda: x.mean(axis=0),
            "SDEV": lambda: x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1]),
            "MAX": lambda: x.max(axis=0),
            "MIN": lambda: x.min(axis=0),
            "PKPK": lambda: x.max(axis=0) - x.min(axis=0),
        }[kind]()
        return format_floats(result)

    def _trace_control(self, text: str) -> None:
        word = text.strip().upper()
        if word.startswith("NEXT"):
            self.s.trace_next = True
        elif word.startswith("NEV"):
            self.s.trace_next = False
        else:
            raise ScpiCommandError(-224 if word else -109, f"{quote(word)}: NEXT or NEV")

    def _trace_clear(self, _: str = "") -> None:
        self.trace = np.empty((0, len(ELEMENTS)))

    def _output_cmd(self, text: str) -> None:
        self._output(parse_bool(text, "output"))

    def commands(self) -> list[Command]:
        s = "SOURce"
        return [
            Command(f"{s}:FUNCtion[:MODE]", self._set_function),
            Command(f"{s}:FUNCtion[:MODE]?", lambda _: self.s.function),
            Command(
                f"{s}:FUNCtion:SHAPe",
                self._choice("shape", {"DC": "DC", "PULS": "PULS", "PULSE": "PULS"}),
            ),
            Command(f"{s}:FUNCtion:SHAPe?", lambda _: self.s.shape),
            Command(f"{s}:VOLTage:MODE", self._choice("mode", MODES)),
            Command(f"{s}:VOLTage:MODE?", lambda _: self.s.mode),
            Command(f"{s}:VOLTage:RANGe", self._set_range),
            Command(f"{s}:VOLTage:RANGe?", self._getter("range_V")),
            Command(f"{s}:VOLTage:STARt", self._setter("start_V", -210, 210, "V")),
            Command(f"{s}:VOLTage:STARt?", self._getter("start_V")),
            Command(f"{s}:VOLTage:STOP", self._setter("stop_V", -210, 210, "V")),
            Command(f"{s}:VOLTage:STOP?", self._getter("stop_V")),
            Command(f"{s}:VOLTage:STEP", self._setter("step_V", -210, 210, "V")),
            Command(f"{s}:VOLTage:STEP?", self._getter("step_V")),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_level),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", self._getter("level_V")),
            Command(f"{s}:LIST:VOLTage", self._set_list),
            Command(f"{s}:LIST:VOLTage:APPend", lambda t: self._set_list(t, append=True)),
            Command(f"{s}:LIST:VOLTage?", lambda _: format_floats(self.s.list_V)),
            Command(f"{s}:LIST:VOLTage:POINts?", lambda _: str(len(self.s.list_V))),
            Command(f"{s}:DELay", self._setter("delay_s", 1e-9, 1e3, "s")),
            Command(f"{s}:DELay?", self._getter("delay_s")),
            Command(f"{s}:PULSe:WIDTh", self._setter("pulse_width_s", 1e-9, 1.0, "s")),
            Command(f"{s}:PULSe:WIDTh?", self._getter("pulse_width_s")),
            Command(f"{s}:PULSe:DELay", self._setter("pulse_delay_s", 0.0, 1.0, "s")),
            Command(f"{s}:PULSe:DELay?", self._getter("pulse_delay_s")),
            Command(f"{s}:PULSe:READ[:VOLTage]", self._setter("pulse_read_V", -210, 210, "V")),
            Command(f"{s}:PULSe:READ[:VOLTage]?", self._getter("pulse_read_V")),
            Command(
                "SENSe:CURRent[:DC]:PROTection[:LEVel]",
                self._setter("compliance_A", 1e-9, 1.05, "A"),
            ),
            Command("SENSe:CURRent[:DC]:PROTection[:LEVel]?", self._getter("compliance_A")),
            Command("SENSe:VOLTage[:DC]:RANGe[:UPPer]?", self._getter("range_V")),
            Command("SENSe:FUNCtion[:ON]", self._set_sense),
            Command(
                "SENSe:FUNCtion[:ON]?",
                lambda _: ",".join(f'"{f}"' for f in self.s.sense_functions),
            ),
            Command("SENSe:FUNCtion:ALL", lambda _: self._set_sense("CURR,VOLT,RES")),
            *stored_commands(STORED_2400, lambda: self.s.stored),
            Command("FORMat:ELEMents[:SENSe]", self._set_elements),
            Command("FORMat:ELEMents[:SENSe]?", lambda _: ",".join(self.s.elements)),
            Command("TRIGger:COUNt", self._set_count("trigger_count")),
            Command("TRIGger:COUNt?", lambda _: str(self.s.trigger_count)),
            Command("ARM:COUNt", self._set_count("arm_count")),
            Command("ARM:COUNt?", lambda _: str(self.s.arm_count)),
            Command("TRIGger:CLEar", lambda _: None),
            Command("*TRG", lambda _: None),
            Command(
                "TRACe:POINts",
                lambda t: setattr(
                    self.s, "trace_points", parse_int(t, "TRAC:POIN", 1, LIST_POINTS_MAX)
                ),
            ),
            Command("TRACe:POINts?", lambda _: str(self.s.trace_points)),
            Command("TRACe:POINts:ACTual?", lambda _: str(len(self.trace))),
            Command("TRACe:FEED:CONTrol", self._trace_control),
            Command("TRACe:FEED:CONTrol?", lambda _: "NEXT" if self.s.trace_next else "NEV"),
            Command("TRACe:CLEar", self._trace_clear),
            Command("TRACe:DATA?", self._trace_data),
            Command("CALCulate3:DATA?", self._statistic),
            Command("STATus:PRESet", self._preset_status),
            Command("STATus:MEASurement[:EVENt]?", self._read_event),
            Command(
                "STATus:MEASurement:ENABle",
                lambda t: setattr(
                    self, "measurement_enable", parse_int(t, "STAT:MEAS:ENAB", 0, 65535)
                ),
            ),
            Command("STATus:MEASurement:ENABle?", lambda _: str(self.measurement_enable)),
            Command("STATus:MEASurement:CONDition?", lambda _: str(self._condition())),
            Command("STATus:OPERation[:EVENt]?", lambda _: "0"),
            Command("STATus:QUEStionable[:EVENt]?", lambda _: "0"),
            Command("OUTPut[:STATe]", self._output_cmd),
            Command("OUTPut[:STATe]?", lambda _: "1" if self.s.output else "0"),
            Command("INITiate[:IMMediate]", self._initiate),
            Command("ABORt", lambda _: None),
            Command("FETCh?", self._fetch),
            Command("READ?", self._read),
            Command("MEASure[:CURRent][:DC]?", self._read),
            Command("MEASure:VOLTage[:DC]?", self._read),
            Command("MEASure:RESistance?", self._read),
        ]


__all__ = ["LIST_CHUNK_MAX", "LIST_POINTS_MAX", "STORED_2400", "EmulatedSmu", "SmuSettings"]
