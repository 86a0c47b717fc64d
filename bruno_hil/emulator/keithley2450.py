"""An emulated Keithley 2450 SourceMeter with an RRAM cell as its load: the 2450's native
SCPI dialect, or the 2400's (:mod:`.keithley`) selected by ``*LANG``.

``*LANG SCPI`` (the power-on default) or ``*LANG SCPI2400``; ``*LANG?`` answers the one in
use. A real 2450 switches after a power cycle; the emulator switches at once (it has no
power switch), keeping the cell's state, and ``*RST`` keeps the language. ``TSP`` is
refused (-224): no Lua interpreter is emulated.

The native subset (long or short forms, optional nodes as in the 2450 reference manual;
every setting the emulator accepts answers its query):

* source: ``:SOUR:FUNC VOLT`` (``CURR`` is refused, -221), ``:SOUR:VOLT[:LEV] <V>``,
  ``:SOUR:VOLT:RANG <V>``, ``:SOUR:VOLT:ILIM <A>`` (the current limit, both polarities;
  ``:SOUR:VOLT:ILIM:TRIP?`` is 1 when the last reading was in it), ``:SOUR:VOLT:DEL <s>``
  (each step takes it, as ``:SOUR:DEL`` on the 2400), and ``:SOUR:SWE:VOLT:LIN start,
  stop, points, delay, count, range, failAbort, dual, 'buffer'`` run by ``:INIT`` (a step
  then takes the source delay plus ``delay``; ``dual ON`` sweeps back);
* sense: ``:SENS:FUNC "CURR"|"VOLT"|"RES"`` (the reading is the current, the voltage
  across the cell or their ratio), ``:SENS:COUN <n>`` (readings per ``:READ?``);
  stored without effect on the physics (:mod:`.stored`): ranges, NPLC, auto-zero,
  averaging, remote sense, user delays, terminals, output-off states;
* ``:READ? ['buffer'[, elements]]`` and ``:MEAS[:CURR|:VOLT|:RES]? ['buffer'[, elements]]``
  make ``:SENS:COUN`` readings into the buffer and return the last one; ``:FETC?`` the last
  one again; ``:TRAC:TRIG ['buffer']`` makes them without a reply;
* buffers: ``defbuffer1`` (the default) and ``defbuffer2``, and up to
  :data:`USER_BUFFERS_MAX` of ``:TRAC:MAKE 'name', size`` (``:TRAC:DEL``); each keeps its
  last ``size`` readings (the 2450's continuous fill). ``:TRAC:POIN[?]``, ``:TRAC:ACT?``,
  ``:TRAC:CLE``, ``:TRAC:DATA? start, end['buffer'[, elements]]``, ``:TRAC:STAT:AVER|MAX|
  MIN|STDD|PK2P? ['buffer']`` (of the readings). Elements: ``READ``, ``SOUR`` (the voltage
  across the cell: read-back on), ``REL`` (simulated seconds since the buffer's first
  reading), ``STAT`` (8: front terminals), ``SOURSTAT`` (128: output on, 32: in the current
  limit), ``UNIT``, ``SOURUNIT``; the clock elements (``DATE``, ``TIME``, ``TST``, ``SEC``,
  ``FRAC``) and the formatted ones are refused, -224;
* ``:OUTP ON|OFF`` (off ramps the source to 0 V; a reading with the output off is refused,
  +803, as on the 2400 emulation), ``:INIT``, ``:ABOR``, ``*TRG``, ``:STAT:PRES``,
  ``:STAT:CLE``, ``:SYST:CLE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruno_hil.devices.params import RRAMParams
from bruno_hil.emulator.keithley import EmulatedSmu
from bruno_hil.emulator.scpi import (
    Command,
    ScpiCommandError,
    format_floats,
    parse_bool,
    parse_float,
    parse_int,
    quote,
    split_quoted,
)
from bruno_hil.emulator.stored import Stored, stored_commands

LANGUAGES = ("SCPI", "SCPI2400")
"""What ``*LANG`` accepts."""
BUFFER_POINTS_MAX = 100_000
"""Readings one buffer may hold (the size of the 2450's default buffers)."""
USER_BUFFERS_MAX = 8
"""User buffers ``:TRAC:MAKE`` may create (besides ``defbuffer1`` and ``defbuffer2``)."""
SWEEP_POINTS_MAX = 2500
"""Points of one ``:SOUR:SWE:VOLT:LIN`` sweep (times its count, times 2 when dual)."""
DEFAULT_BUFFERS = ("DEFBUFFER1", "DEFBUFFER2")
SENSE_NAMES = {"CURR": "CURR:DC", "VOLT": "VOLT:DC", "RES": "RES"}
"""Sense functions and the form ``:SENS:FUNC?`` answers."""
UNITS = {"CURR:DC": "Amp DC", "VOLT:DC": "Volt DC", "RES": "Ohm"}
ELEMENT_FORMS = {
    "READ": "READ",
    "READING": "READ",
    "SOUR": "SOUR",
    "SOURCE": "SOUR",
    "REL": "REL",
    "RELATIVE": "REL",
    "STAT": "STAT",
    "STATUS": "STAT",
    "SOURSTAT": "SOURSTAT",
    "SOURSTATUS": "SOURSTAT",
    "UNIT": "UNIT",
    "SOURUNIT": "SOURUNIT",
}
"""Buffer elements and their short forms."""
STAT_FRONT, SOURSTAT_LIMIT, SOURSTAT_OUTPUT = 8, 32, 128
"""Buffer status bits (2450 reference manual): front terminals; source limited; output on."""

STORED_2450: list[Stored] = [
    *(
        entry
        for f, low, high, unit, default in (
            ("CURRent[:DC]", 1e-8, 1.05, "A", 1e-4),
            ("VOLTage[:DC]", 0.02, 210.0, "V", 21.0),
            ("RESistance", 20.0, 2.1e8, "OHM", 2e5),
        )
        for entry in (
            Stored(f"SENSe:{f}:RANGe[:UPPer]", "float", default, low, high, unit),
            Stored(f"SENSe:{f}:RANGe:AUTO", "bool", True),
            Stored(f"SENSe:{f}:NPLCycles", "float", 1.0, 0.01, 10.0),
            Stored(f"SENSe:{f}:AZERo[:STATe]", "bool", True),
            Stored(f"SENSe:{f}:RSENse", "bool", False),
            Stored(f"SENSe:{f}:AVERage[:STATe]", "bool", False),
            Stored(f"SENSe:{f}:AVERage:COUNt", "int", 10, 1, 100),
            Stored(f"SENSe:{f}:AVERage:TCONtrol", "word", "REP", choices=("REP", "MOV")),
            *(Stored(f"SENSe:{f}:DELay:USER{n}", "float", 0.0, 0.0, 1e4, "S") for n in range(1, 6)),
        )
    ),
    Stored("SENSe:COUNt", "int", 1, 1, 300_000),
    Stored("SOURce:VOLTage:RANGe:AUTO", "bool", True),
    Stored("SOURce:VOLTage:DELay:AUTO", "bool", True),
    Stored("SOURce:VOLTage:READ:BACK", "bool", True),
    *(Stored(f"SOURce:VOLTage:DELay:USER{n}", "float", 0.0, 0.0, 1e4, "S") for n in range(1, 6)),
    Stored("ROUTe:TERMinals", "word", "FRON", choices=("FRON", "REAR")),
    Stored("SYSTem:LFRequency", "int", 60, 50, 60),
    *(
        Stored(f"OUTPut:{f}:SMODe", "word", "NORM", choices=("HIMP", "NORM", "ZERO", "GUAR"))
        for f in ("VOLTage", "CURRent")
    ),
]
"""The 2450 settings stored without effect on the emulation (see :mod:`.stored`)."""


@dataclass
class Buffer:
    """A reading buffer: its ``size`` and its rows ``(V, I, R, TIME, STAT)`` as the 2400
    emulation makes them (:meth:`EmulatedSmu._rows`), with the sense function of each."""

    size: int
    rows: np.ndarray = field(default_factory=lambda: np.empty((0, 5)))
    functions: list[str] = field(default_factory=list)

    def add(self, rows: np.ndarray, function: str) -> None:
        """Append ``rows``, keeping the last :attr:`size` (continuous fill)."""
        self.rows = np.vstack([self.rows, rows])[-self.size :]
        self.functions = ([*self.functions, *[function] * len(rows)])[-self.size :]


@dataclass
class LinearSweep:
    """A ``:SOUR:SWE:VOLT:LIN`` configuration."""

    setpoints_V: list[float]
    delay_s: float
    buffer: str


def _arguments(text: str) -> list[str]:
    """The comma-separated parameters of ``text``, stripped (quoted strings kept whole)."""
    parts = split_quoted(text, ",")
    return parts if any(parts) else []


def _unquote(text: str) -> str:
    return text.strip().strip("'\"")


class EmulatedSmu2450(EmulatedSmu):
    """A 2450 whose load is an :class:`~bruno_hil.emulator.dut.RRAMDut` (see the module);
    in ``SCPI2400`` it is the 2400 emulation (:class:`EmulatedSmu`) it extends."""

    idn_2450 = "BRUNO-HIL EMULATOR,MODEL 2450 (ngspice RRAM),0,0.1.0"

    def __init__(self, params: RRAMParams | None = None) -> None:
        self.language = "SCPI"
        self.sense_2450 = "CURR:DC"
        self.stored_2450: dict[str, float | bool | str] = {}
        self.buffers = self._default_buffers()
        self.sweep: LinearSweep | None = None
        self.limit_tripped = False
        super().__init__(params)
        lang = [Command("*LANG", self._set_language), Command("*LANG?", lambda _: self.language)]
        self.dialects = {
            "SCPI": [*lang, *self.commands_2450()],
            "SCPI2400": [*lang, *self.commands()],
        }
        self.use_commands(self.dialects[self.language])

    @property
    def idn(self) -> str:  # type: ignore[override]
        """``*IDN?``: the 2450's, or the 2400's in ``SCPI2400``."""
        return self.idn_2450 if self.language == "SCPI" else EmulatedSmu.idn

    @staticmethod
    def _default_buffers() -> dict[str, Buffer]:
        return {name: Buffer(BUFFER_POINTS_MAX) for name in DEFAULT_BUFFERS}

    def reset(self) -> None:
        super().reset()
        self.sense_2450 = "CURR:DC"
        self.stored_2450 = {}
        self.buffers = self._default_buffers()
        self.sweep = None
        self.limit_tripped = False

    def _set_language(self, text: str) -> None:
        word = _unquote(text).upper()
        if not word:
            raise ScpiCommandError(-109, "*LANG: no language")
        if word == "TSP":
            raise ScpiCommandError(-224, "TSP is not emulated: use SCPI or SCPI2400")
        if word not in LANGUAGES:
            raise ScpiCommandError(-224, f"{quote(word)}: SCPI or SCPI2400")
        self.language = word
        self.use_commands(self.dialects[word])

    # -- buffers -------------------------------------------------------------------------
    def _buffer(self, name: str) -> Buffer:
        key = _unquote(name).upper() or DEFAULT_BUFFERS[0]
        if key not in self.buffers:
            raise ScpiCommandError(-222, f"no buffer {quote(name)}")
        return self.buffers[key]

    def _make_buffer(self, text: str) -> None:
        args = _arguments(text)
        if len(args) < 2:
            raise ScpiCommandError(-109, "TRAC:MAKE: 'name', size")
        name = _unquote(args[0]).upper()
        if not name or name in self.buffers:
            raise ScpiCommandError(-221, f"buffer {quote(args[0])} exists or has no name")
        if len(self.buffers) - len(DEFAULT_BUFFERS) >= USER_BUFFERS_MAX:
            raise ScpiCommandError(-221, f"at most {USER_BUFFERS_MAX} user buffers")
        if len(args) > 2 and not _unquote(args[2]).upper().startswith("STAN"):
            raise ScpiCommandError(-224, f"buffer style {quote(args[2])}: only STANdard")
        self.buffers[name] = Buffer(parse_int(args[1], "TRAC:MAKE size", 1, BUFFER_POINTS_MAX))

    def _delete_buffer(self, text: str) -> None:
        name = _unquote(text).upper()
        if name in DEFAULT_BUFFERS:
            raise ScpiCommandError(-221, f"{quote(text)} is a default buffer")
        self._buffer(text)
        del self.buffers[name]

    def _set_points(self, text: str) -> None:
        args = _arguments(text)
        if not args:
            raise ScpiCommandError(-109, "TRAC:POIN: size")
        buffer = self._buffer(args[1] if len(args) > 1 else "")
        buffer.size = parse_int(args[0], "TRAC:POIN", 1, BUFFER_POINTS_MAX)
        buffer.add(np.empty((0, 5)), self.sense_2450)  # cut to the new size

    def _clear(self, text: str) -> None:
        buffer = self._buffer(text)
        buffer.rows, buffer.functions = np.empty((0, 5)), []

    def _elements(self, words: list[str]) -> list[str]:
        out = []
        for word in words:
            form = ELEMENT_FORMS.get(word.strip().upper())
            if form is None:
                raise ScpiCommandError(-224, f"buffer element {quote(word)} is not emulated")
            out.append(form)
        return out or ["READ"]

    def _format_rows(self, buffer: Buffer, first: int, last: int, elements: list[str]) -> str:
        """Readings ``first..last`` (0-based, inclusive) of ``buffer`` as ``elements``."""
        t0 = buffer.rows[0, 3] if len(buffer.rows) else 0.0
        fields: list[str] = []
        for k in range(first, last + 1):
            v, i, r, t, stat = buffer.rows[k]
            function = buffer.functions[k]
            reading = {"CURR:DC": i, "VOLT:DC": v, "RES": r}[function]
            source_status = SOURSTAT_OUTPUT | (SOURSTAT_LIMIT if stat else 0)
            front = STAT_FRONT if self.stored_2450.get("ROUTe:TERMinals", "FRON") == "FRON" else 0
            values = {
                "READ": format_floats([reading]),
                "SOUR": format_floats([v]),
                "REL": format_floats([t - t0]),
                "STAT": str(front),
                "SOURSTAT": str(source_status),
                "UNIT": UNITS[function],
                "SOURUNIT": "Volt DC",
            }
            fields += [values[e] for e in elements]
        return ",".join(fields)

    def _trace_data_2450(self, text: str) -> str:
        args = _arguments(text)
        if len(args) < 2:
            raise ScpiCommandError(-109, "TRAC:DATA?: start, end")
        buffer = self._buffer(args[2] if len(args) > 2 else "")
        n = len(buffer.rows)
        if n == 0:
            raise ScpiCommandError(-230, "the buffer is empty")
        start = parse_int(args[0], "start index", 1, n)
        end = parse_int(args[1], "end index", start, n)
        return self._format_rows(buffer, start - 1, end - 1, self._elements(args[3:]))

    @staticmethod
    def _readings(buffer: Buffer) -> np.ndarray:
        """The reading of each row of ``buffer`` (its sense function's column)."""
        column = {"VOLT:DC": 0, "CURR:DC": 1, "RES": 2}
        index = [column[f] for f in buffer.functions]
        return buffer.rows[np.arange(len(index)), index]

    def _statistic_2450(self, kind: str):
        def handler(text: str) -> str:
            buffer = self._buffer(text)
            if not len(buffer.rows):
                raise ScpiCommandError(-230, "the buffer is empty")
            x = self._readings(buffer)
            value = {
                "AVER": x.mean(),
                "MAX": x.max(),
                "MIN": x.min(),
                "PK2P": x.max() - x.min(),
                "STDD": x.std(ddof=1) if len(x) > 1 else 0.0,
            }[kind]
            return format_floats([float(value)])

        return handler

    # -- measurement ---------------------------------------------------------------------
    def _measure_into(self, buffer_name: str, setpoints_V: list[float], delay_s: float) -> Buffer:
        """Drive ``setpoints_V`` [V] (each step ``delay_s`` [s]) and store the readings."""
        if not self.s.output:
            raise ScpiCommandError(803, "output is off")
        buffer = self._buffer(buffer_name)
        rows = self._rows(self.dut.apply(setpoints_V, self.s.compliance_A, delay_s))
        self.limit_tripped = bool(rows[-1, 4])
        buffer.add(rows, self.sense_2450)
        return buffer

    def _read_2450(self, function: str | None = None):
        def handler(text: str) -> str:
            args = _arguments(text)
            if function is not None:
                self.sense_2450 = function
            count = int(self.stored_2450.get("SENSe:COUNt", 1))
            buffer = self._measure_into(
                args[0] if args else "", [self.s.level_V] * count, self.s.delay_s
            )
            last = len(buffer.rows) - 1
            return self._format_rows(buffer, last, last, self._elements(args[1:]))

        return handler

    def _fetch_2450(self, text: str) -> str:
        args = _arguments(text)
        buffer = self._buffer(args[0] if args else "")
        if not len(buffer.rows):
            raise ScpiCommandError(-230, "no readings")
        last = len(buffer.rows) - 1
        return self._format_rows(buffer, last, last, self._elements(args[1:]))

    def _trigger_buffer(self, text: str) -> None:
        self._read_2450()(text)

    def _set_sweep(self, text: str) -> None:
        args = _arguments(text)
        if len(args) < 3:
            raise ScpiCommandError(-109, "SOUR:SWE:VOLT:LIN: start, stop, points[, ...]")
        start, stop = (parse_float(a, "sweep level", unit="V") for a in args[:2])
        points = parse_int(args[2], "sweep points", 2, SWEEP_POINTS_MAX)
        delay = parse_float(args[3], "sweep delay", unit="S") if len(args) > 3 else 0.0
        if not 0.0 <= delay <= 1e4:
            raise ScpiCommandError(-222, f"sweep delay {delay:g} s outside [0, 1e4] s")
        count = parse_int(args[4], "sweep count", 1, SWEEP_POINTS_MAX) if len(args) > 4 else 1
        dual = parse_bool(args[7], "dual") if len(args) > 7 else False
        levels = [self._check_level(float(v)) for v in np.linspace(start, stop, points)]
        one = levels + levels[::-1] if dual else levels
        if len(one) * count > SWEEP_POINTS_MAX:
            raise ScpiCommandError(-221, f"{len(one) * count} sweep points > {SWEEP_POINTS_MAX}")
        buffer = args[8] if len(args) > 8 else ""
        self._buffer(buffer)
        self.sweep = LinearSweep(one * count, self.s.delay_s + delay, buffer)

    def _initiate_2450(self, _: str = "") -> None:
        if self.sweep is None:
            self._trigger_buffer("")
            return
        self._measure_into(self.sweep.buffer, self.sweep.setpoints_V, self.sweep.delay_s)

    def _set_sense_2450(self, text: str) -> None:
        word = _unquote(text).upper()
        if not word:
            raise ScpiCommandError(-109, "sense function: none given")
        for key, name in SENSE_NAMES.items():
            if word.startswith(key):
                self.sense_2450 = name
                return
        raise ScpiCommandError(-224, f"sense function {quote(text)}: CURR, VOLT or RES")

    def _clear_events(self, _: str = "") -> None:
        self.clear_status()

    def commands_2450(self) -> list[Command]:
        """The 2450's native command set (see the module)."""
        s = "SOURce"
        measure_queries = [
            Command(f"MEASure{f}?", self._read_2450(name))
            for f, name in (
                ("", None),
                (":CURRent[:DC]", "CURR:DC"),
                (":VOLTage[:DC]", "VOLT:DC"),
                (":RESistance", "RES"),
            )
        ]
        return [
            Command(f"{s}:FUNCtion[:MODE]", self._set_function),
            Command(f"{s}:FUNCtion[:MODE]?", lambda _: self.s.function),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_level),
            Command(f"{s}:VOLTage[:LEVel][:IMMediate][:AMPLitude]?", self._getter("level_V")),
            Command(f"{s}:VOLTage:RANGe", self._set_range),
            Command(f"{s}:VOLTage:RANGe?", self._getter("range_V")),
            Command(f"{s}:VOLTage:ILIMit[:LEVel]", self._setter("compliance_A", 1e-9, 1.05, "A")),
            Command(f"{s}:VOLTage:ILIMit[:LEVel]?", self._getter("compliance_A")),
            Command(
                f"{s}:VOLTage:ILIMit[:LEVel]:TRIPped?",
                lambda _: "1" if self.limit_tripped else "0",
            ),
            Command(f"{s}:VOLTage:DELay", self._setter("delay_s", 1e-9, 1e3, "s")),
            Command(f"{s}:VOLTage:DELay?", self._getter("delay_s")),
            Command(f"{s}:SWEep:VOLTage:LINear", self._set_sweep),
            Command("SENSe:FUNCtion[:ON]", self._set_sense_2450),
            Command("SENSe:FUNCtion[:ON]?", lambda _: f'"{self.sense_2450}"'),
            Command("SENSe:AZERo:ONCE", lambda _: None),
            *stored_commands(STORED_2450, lambda: self.stored_2450),
            Command("READ?", self._read_2450()),
            *measure_queries,
            Command("FETCh?", self._fetch_2450),
            Command("TRACe:MAKE", self._make_buffer),
            Command("TRACe:DELete", self._delete_buffer),
            Command("TRACe:POINts", self._set_points),
            Command("TRACe:POINts?", lambda t: str(self._buffer(t).size)),
            Command("TRACe:ACTual?", lambda t: str(len(self._buffer(t).rows))),
            Command("TRACe:CLEar", self._clear),
            Command("TRACe:DATA?", self._trace_data_2450),
            Command("TRACe:TRIGger", self._trigger_buffer),
            *(
                Command(f"TRACe:STATistics:{name}?", self._statistic_2450(kind))
                for name, kind in (
                    ("AVERage", "AVER"),
                    ("MAXimum", "MAX"),
                    ("MINimum", "MIN"),
                    ("PK2Pk", "PK2P"),
                    ("STDDev", "STDD"),
                )
            ),
            Command("OUTPut[:STATe]", self._output_cmd),
            Command("OUTPut[:STATe]?", lambda _: "1" if self.s.output else "0"),
            Command("INITiate[:IMMediate]", self._initiate_2450),
            Command("ABORt", lambda _: None),
            Command("*TRG", lambda _: None),
            Command("STATus:PRESet", self._preset_status),
            Command("STATus:CLEar", self._clear_events),
            Command("SYSTem:CLEar", lambda _: self.errors.clear()),
        ]


__all__ = ["LANGUAGES", "STORED_2450", "USER_BUFFERS_MAX", "EmulatedSmu2450"]
