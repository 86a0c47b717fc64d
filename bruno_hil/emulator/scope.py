"""An emulated oscilloscope (Keysight InfiniiVision-class commands) watching the FeCap
bench: the AWG + scope way many labs measure a P-V loop.

The scope is wired to an :class:`~bruno_hil.emulator.tester.EmulatedTester` used as a
33500-class AWG driving the FeCap through the front-end amplifiers: channel 1 sees the
drive voltage, channel 2 the charge amplifier's output ``Q / C_int`` (``DIG:INT:CAP`` of
the tester, 10 pF by default), channel 3 the transimpedance amplifier's output ``I * R``
(``DIG:TIA``, 10 kohm), channel 4 nothing (0 V). It triggers on the AWG's sync: each
waveform the AWG plays is one acquisition, with the scope's sample clock locked to the
AWG's (one sample per AWG point).

Commands (long or short forms):

* ``:RUN``, ``:STOP``, ``:SING``: a stopped scope keeps its record; running or single, the
  next play is acquired (single then stops); ``:DIG [CHANn[,...]]`` takes the AWG's
  latest play as the record and stops (a real scope's ``:DIG`` waits for the next
  trigger: send it after the AWG's ``*TRG``; -230 when the AWG has never played);
  ``:TER?`` (1 once after a new record);
* ``:TIM:SCAL <s/div>`` (10 divisions) or ``:TIM:RANG <s>``, ``:TIM:POS <s>`` (the
  reference's time after the trigger), ``:TIM:REF LEFT|CENT|RIGH``, ``:TIM:MODE MAIN``:
  the record holds the played samples inside the window (none outside the play);
* ``:CHAN<n>:SCAL <V/div>`` (8 divisions) or ``:CHAN<n>:RANG <V>``, ``:CHAN<n>:OFFS <V>``
  (the screen's centre), ``:CHAN<n>:DISP``, ``:CHAN<n>:COUP DC`` (``AC`` is refused:
  it would remove the loop's offset), ``:CHAN<n>:PROB`` (stored), ``:CHAN<n>:BWL``,
  ``:CHAN<n>:INV``: samples beyond the screen are clipped to its edges, as on a scope;
* ``:WAV:SOUR CHAN<n>``, ``:WAV:FORM ASC`` (the binary ``BYTE``/``WORD`` are refused,
  -221), ``:WAV:POIN <n>`` (at most that many, by decimation), ``:WAV:POIN:MODE``,
  ``:WAV:PRE?`` (format 4 = ASCii, type 0, points, 1, x increment, x origin, 0, y
  increment, y origin, 0), ``:WAV:XINC?``, ``:WAV:XOR?``, ``:WAV:DATA?`` (an IEEE 488.2
  definite-length block ``#8nnnnnnnn`` of comma-separated values [V]);
* ``:TRIG:SOUR``, ``:TRIG:EDGE:SOUR``, ``:TRIG:EDGE:LEV``, ``:ACQ:TYPE NORM``,
  ``:ACQ:MODE RTIM`` (stored); ``:AUT`` is refused (-221: it would rescale every channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruno_hil.emulator.scpi import (
    Command,
    EmulatedInstrument,
    ScpiCommandError,
    format_floats,
    parse_float,
    parse_int,
    quote,
)
from bruno_hil.emulator.stored import Stored, stored_commands
from bruno_hil.emulator.tester import EmulatedTester

CHANNELS = 4
DIVISIONS_Y, DIVISIONS_X = 8, 10
"""Screen divisions, vertical and horizontal (InfiniiVision)."""
TESTER_CHANNEL = {1: "1", 2: "3", 3: "2"}
"""Scope channel -> tester signal (1 drive, 2 charge amplifier, 3 TIA; 4 is open)."""
REFERENCE = {"LEFT": 0.1, "CENT": 0.5, "RIGH": 0.9}
"""Where the reference sits on the screen (InfiniiVision: one division from an edge)."""
POINTS_MAX = 1_000_000

STORED_SCOPE: list[Stored] = [
    Stored("TRIGger[:EDGE]:SOURce", "word", "EXT", choices=("EXT", "CHAN", "LINE")),
    Stored("TRIGger[:EDGE]:LEVel", "float", 0.0, -1e3, 1e3, "V"),
    Stored("TRIGger:MODE", "word", "EDGE", choices=("EDGE",)),
    Stored("TRIGger:SWEep", "word", "NORM", choices=("NORM", "AUTO")),
    Stored("ACQuire:TYPE", "word", "NORM", choices=("NORM",)),
    Stored("ACQuire:MODE", "word", "RTIM", choices=("RTIM",)),
    Stored("TIMebase:MODE", "word", "MAIN", choices=("MAIN",)),
    Stored("WAVeform:POINts:MODE", "word", "NORM", choices=("NORM", "MAX", "RAW")),
    *(
        entry
        for n in range(1, CHANNELS + 1)
        for entry in (
            Stored(f"CHANnel{n}:PROBe", "float", 1.0, 0.001, 10000.0),
            Stored(f"CHANnel{n}:BWLimit", "bool", False),
            Stored(f"CHANnel{n}:INVert", "bool", False),
            Stored(f"CHANnel{n}:DISPlay", "bool", n <= 2),
        )
    ),
]
"""Scope settings stored without effect on the record (see :mod:`.stored`)."""


@dataclass
class ScopeSettings:
    """The settings ``*RST`` restores (InfiniiVision defaults where they matter)."""

    scale_V: list[float] = field(default_factory=lambda: [1.0] * CHANNELS)
    offset_V: list[float] = field(default_factory=lambda: [0.0] * CHANNELS)
    timebase_s: float = 1e-3
    """Full-scale range (10 divisions) [s]."""
    position_s: float = 0.0
    reference: str = "CENT"
    source: int = 1
    points: int = 1000
    running: bool = True
    single: bool = False
    stored: dict[str, float | bool | str] = field(default_factory=dict)


class EmulatedScope(EmulatedInstrument):
    """The oscilloscope of the module docstring, watching ``awg``."""

    idn = "BRUNO-HIL EMULATOR,DSO-X 4CH SCOPE (FeCap bench),0,0.1.0"

    def __init__(self, awg: EmulatedTester) -> None:
        self.awg = awg
        self.s = ScopeSettings()
        self.record: dict[str, np.ndarray] = {}
        self.new_record = False
        awg.listeners.append(self._on_play)
        super().__init__()

    def reset(self) -> None:
        self.s = ScopeSettings()
        self.record = {}

    # -- acquisition ---------------------------------------------------------------------
    def _on_play(self) -> None:
        """The AWG played a waveform (its sync triggers the scope)."""
        with self.lock:
            if self.s.running:
                self._acquire()
                if self.s.single:
                    self.s.running = self.s.single = False

    def _acquire(self) -> None:
        t = self.awg.channels["TIME"]
        reference = REFERENCE[self.s.reference]
        start = self.s.position_s - reference * self.s.timebase_s
        inside = (t >= start - 1e-15) & (t <= start + self.s.timebase_s + 1e-15)
        self.record = {"TIME": t[inside]}
        for n in range(1, CHANNELS + 1):
            key = TESTER_CHANNEL.get(n)
            raw = self.awg.channels[key][inside] if key else np.zeros(int(inside.sum()))
            half = 0.5 * DIVISIONS_Y * self.s.scale_V[n - 1]
            offset = self.s.offset_V[n - 1]
            self.record[str(n)] = np.clip(raw, offset - half, offset + half)
        self.new_record = True

    def _digitize(self, text: str) -> None:
        for word in (w.strip().upper() for w in text.split(",") if w.strip()):
            self._channel_of(word)
        if not self.awg.plays:
            raise ScpiCommandError(-230, "no trigger: the AWG has played nothing")
        self._acquire()
        self.s.running = self.s.single = False

    def _single(self, _: str = "") -> None:
        self.s.running, self.s.single = True, True

    def _terminated(self, _: str = "") -> str:
        value, self.new_record = self.new_record, False
        return "1" if value else "0"

    # -- settings ------------------------------------------------------------------------
    @staticmethod
    def _channel_of(word: str) -> int:
        for prefix in ("CHANNEL", "CHAN"):
            if word.startswith(prefix) and word[len(prefix) :].isdigit():
                n = int(word[len(prefix) :])
                if 1 <= n <= CHANNELS:
                    return n
        raise ScpiCommandError(-224, f"source {quote(word)}: CHAN1..CHAN{CHANNELS} only")

    def _set_source(self, text: str) -> None:
        self.s.source = self._channel_of(text.strip().upper())

    def _vertical(self, n: int, what: str):
        def handler(text: str) -> None:
            value = parse_float(text, what, unit="V")
            if what == "offset":
                if abs(value) > 1e3:
                    raise ScpiCommandError(-222, f"offset {value:g} V outside +-1000 V")
                self.s.offset_V[n - 1] = value
                return
            per_div = value / DIVISIONS_Y if what == "range" else value
            if not 1e-4 <= per_div <= 1e2:
                raise ScpiCommandError(-222, f"{value:g} V/div outside [1e-4, 100] V/div")
            self.s.scale_V[n - 1] = per_div

        return handler

    def _coupling(self, text: str) -> None:
        word = text.strip().upper()
        if word != "DC":
            raise ScpiCommandError(-221, f"coupling {quote(word)}: only DC is emulated")

    def _timebase(self, per_div: bool):
        def handler(text: str) -> None:
            value = parse_float(text, "timebase", unit="S") * (DIVISIONS_X if per_div else 1)
            if not 1e-9 <= value <= 500.0:
                raise ScpiCommandError(-222, f"timebase range {value:g} s outside [1e-9, 500] s")
            self.s.timebase_s = value

        return handler

    def _set_position(self, text: str) -> None:
        self.s.position_s = parse_float(text, "position", unit="S")

    def _set_reference(self, text: str) -> None:
        word = text.strip().upper()[:4]
        if word not in REFERENCE:
            raise ScpiCommandError(-224 if word else -109, f"{quote(text)}: LEFT, CENT or RIGH")
        self.s.reference = word

    def _set_format(self, text: str) -> None:
        word = text.strip().upper()
        if not word:
            raise ScpiCommandError(-109, "WAV:FORM: no format")
        if not word.startswith("ASC"):
            raise ScpiCommandError(-221, f"format {quote(word)}: only ASCii is emulated")

    # -- transfer ------------------------------------------------------------------------
    def _selected(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and values of the source channel's record, decimated to the points."""
        if not self.record or not len(self.record["TIME"]):
            raise ScpiCommandError(-230, "no record")
        t, v = self.record["TIME"], self.record[str(self.s.source)]
        step = max(1, int(np.ceil(len(t) / self.s.points)))
        return t[::step], v[::step]

    def _preamble(self, _: str = "") -> str:
        t, _v = self._selected()
        x_increment = float(t[1] - t[0]) if len(t) > 1 else 0.0
        n = self.s.source - 1
        y_increment = DIVISIONS_Y * self.s.scale_V[n] / 65536
        fields = [4, 0, len(t), 1, x_increment, float(t[0]), 0, y_increment, self.s.offset_V[n], 0]
        return ",".join(f"{f:+.9E}" if isinstance(f, float) else str(f) for f in fields)

    def _data(self, _: str = "") -> str:
        body = format_floats(self._selected()[1])
        return f"#8{len(body):08d}{body}"

    def commands(self) -> list[Command]:
        channel_commands = []
        for n in range(1, CHANNELS + 1):
            chan = "CHANnel" if n == 1 else f"CHANnel{n}"
            channel_commands += [
                Command(f"{chan}:SCALe", self._vertical(n, "scale")),
                Command(f"{chan}:SCALe?", lambda _, n=n: f"{self.s.scale_V[n - 1]:+.9E}"),
                Command(f"{chan}:RANGe", self._vertical(n, "range")),
                Command(
                    f"{chan}:RANGe?",
                    lambda _, n=n: f"{DIVISIONS_Y * self.s.scale_V[n - 1]:+.9E}",
                ),
                Command(f"{chan}:OFFSet", self._vertical(n, "offset")),
                Command(f"{chan}:OFFSet?", lambda _, n=n: f"{self.s.offset_V[n - 1]:+.9E}"),
                Command(f"{chan}:COUPling", self._coupling),
                Command(f"{chan}:COUPling?", lambda _: "DC"),
            ]
        return [
            *channel_commands,
            *stored_commands(STORED_SCOPE, lambda: self.s.stored),
            Command("RUN", lambda _: setattr(self.s, "running", True)),
            Command("STOP", lambda _: setattr(self.s, "running", False)),
            Command("SINGle", self._single),
            Command("DIGitize", self._digitize),
            Command("TER?", self._terminated),
            Command("AUToscale", lambda _: self._refuse_autoscale()),
            Command("TIMebase:SCALe", self._timebase(per_div=True)),
            Command("TIMebase:SCALe?", lambda _: f"{self.s.timebase_s / DIVISIONS_X:+.9E}"),
            Command("TIMebase[:MAIN]:RANGe", self._timebase(per_div=False)),
            Command("TIMebase[:MAIN]:RANGe?", lambda _: f"{self.s.timebase_s:+.9E}"),
            Command("TIMebase:POSition", self._set_position),
            Command("TIMebase:POSition?", lambda _: f"{self.s.position_s:+.9E}"),
            Command("TIMebase:REFerence", self._set_reference),
            Command("TIMebase:REFerence?", lambda _: self.s.reference),
            Command("WAVeform:SOURce", self._set_source),
            Command("WAVeform:SOURce?", lambda _: f"CHAN{self.s.source}"),
            Command("WAVeform:FORMat", self._set_format),
            Command("WAVeform:FORMat?", lambda _: "ASC"),
            Command(
                "WAVeform:POINts",
                lambda t: setattr(self.s, "points", parse_int(t, "WAV:POIN", 1, POINTS_MAX)),
            ),
            Command("WAVeform:POINts?", lambda _: str(self.s.points)),
            Command("WAVeform:PREamble?", self._preamble),
            Command("WAVeform:XINCrement?", lambda _: self._preamble().split(",")[4]),
            Command("WAVeform:XORigin?", lambda _: self._preamble().split(",")[5]),
            Command("WAVeform:DATA?", self._data),
        ]

    @staticmethod
    def _refuse_autoscale() -> None:
        raise ScpiCommandError(-221, "AUToscale is not emulated: set the scales")


__all__ = ["CHANNELS", "EmulatedScope", "ScopeSettings"]
