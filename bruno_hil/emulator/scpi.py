"""The SCPI core of an emulated instrument: headers, parameters, the error queue and the
IEEE 488.2 status registers.

A command set is a list of :class:`Command` entries, each a SCPI header pattern in the
standard notation (``SOURce:VOLTage[:LEVel]``: the upper-case letters are the short form,
brackets mark optional nodes, and a node may carry a numeric suffix such as ``OUTPut1``).
:class:`EmulatedInstrument` matches each received program message unit against them,
runs the handler, and keeps the IEEE 488.2 error queue (``SYSTem:ERRor?``), with the
standard codes: -113 "Undefined header", -102 "Syntax error", -104 "Data type error",
-109 "Missing parameter", -131 "Invalid suffix", -221 "Settings conflict", -222 "Data out
of range", -213 "Init ignored", -230 "Data corrupt or stale", -350 "Queue overflow",
-363 "Input buffer overrun" (and the Keithley-specific +803 "Output disabled"). Entries are
bounded (:data:`DETAIL_MAX_CHARS`), whatever a peer sends. Numeric parameters
(:func:`parse_float`) take unit suffixes with IEEE 488.2 multipliers (``100mV``) and the
keywords ``MIN``, ``MAX``, ``DEF``; the IEEE 488.2 mandatory common commands are built in
(see :class:`EmulatedInstrument`).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ERROR_QUEUE_LENGTH = 10
"""Entries the error queue holds; one more replaces the newest by -350 "Queue overflow"."""

ERROR_MESSAGES: dict[int, str] = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -109: "Missing parameter",
    -131: "Invalid suffix",
    -113: "Undefined header",
    -200: "Execution error",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -310: "System error",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
    803: "Output disabled",
}
"""Standard SCPI error codes used by the emulator and their messages."""


class ScpiCommandError(Exception):
    """Raised by a handler: the command fails with this SCPI error ``code``."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or ERROR_MESSAGES.get(code, "Error"))
        self.code = code
        self.detail = detail


def _node_regex(node: str) -> str:
    """Regex of one header node, e.g. ``VOLTage`` -> ``(?:VOLT|VOLTAGE)``, plus an
    optional numeric suffix."""
    short = "".join(c for c in node if c.isupper() or c.isdigit() or c == "*")
    long = node.upper()
    forms = sorted({re.escape(short), re.escape(long)}, key=len, reverse=True)
    return f"(?:{'|'.join(forms)})(?:1)?"


def header_regex(pattern: str) -> re.Pattern[str]:
    """Compile a SCPI header pattern (``SOURce:VOLTage[:LEVel]``; ``?`` at the end for a
    query) into a regex that matches received headers in upper case."""
    query = pattern.endswith("?")
    body = pattern.rstrip("?")
    parts = re.findall(r"\[:?([^\]]+)\]|:?([^:\[\]]+)", body)
    out: list[str] = []
    required_seen = False
    for optional, required in parts:
        sep = ":" if out else ":?"
        if optional:
            out.append(f"(?:{sep}{_node_regex(optional)})?")
        else:
            out.append((":" if required_seen else ":?") + _node_regex(required))
            required_seen = True
    return re.compile("".join(out) + (r"\?" if query else ""))


@dataclass(frozen=True)
class Command:
    """One entry of a command set: the header ``pattern`` and its handler, called with the
    parameter text (``""`` when none) and returning the reply (queries) or ``None``."""

    pattern: str
    handler: Callable[[str], str | None]

    @property
    def regex(self) -> re.Pattern[str]:
        return header_regex(self.pattern)


def split_quoted(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quoted strings, each part stripped."""
    parts, current, quote_char = [], [], ""
    for char in text:
        if quote_char:
            current.append(char)
            quote_char = "" if char == quote_char else quote_char
        elif char in "\"'":
            quote_char = char
            current.append(char)
        elif char == separator:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def split_units(message: str) -> list[str]:
    """The program message units of one message (``;``-separated, quotes respected)."""
    return [u for u in split_quoted(message, ";") if u]


NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
"""A decimal numeric program data element (IEEE 488.2 <NRf>): no ``_``, no ``inf``/``nan``."""
MULTIPLIERS: dict[str, float] = {
    "EX": 1e18,
    "PE": 1e15,
    "T": 1e12,
    "G": 1e9,
    "MA": 1e6,
    "K": 1e3,
    "M": 1e-3,
    "U": 1e-6,
    "N": 1e-9,
    "P": 1e-12,
    "F": 1e-15,
    "A": 1e-18,
}
"""IEEE 488.2 suffix multipliers (``M`` is milli, ``MA`` mega; ``MHZ`` and ``MOHM`` are
mega by the standard's exception)."""
PARAMETER_MAX_CHARS = 64
"""Longest numeric parameter accepted (a longer one is -104, and only its start is quoted)."""
DETAIL_MAX_CHARS = 80
"""Longest detail text an error queue entry keeps (a bad parameter is quoted cut)."""


def quote(text: str) -> str:
    """``text`` for an error message: stripped, cut to :data:`DETAIL_MAX_CHARS` // 2."""
    text = text.strip()
    limit = DETAIL_MAX_CHARS // 2
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _suffix_scale(suffix: str, unit: str) -> float | None:
    """The factor of a unit suffix such as ``MV`` for ``unit="V"`` (``None``: invalid)."""
    if suffix in ("MHZ", "MOHM") and suffix[1:] == unit:
        return 1e6
    if not unit:
        return MULTIPLIERS.get(suffix)
    if suffix == unit:
        return 1.0
    if suffix.endswith(unit):
        return MULTIPLIERS.get(suffix[: -len(unit)])
    return MULTIPLIERS.get(suffix)  # a multiplier alone (``100m``), as many instruments allow


def parse_float(
    text: str,
    name: str = "value",
    *,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """A numeric parameter: ``1.5``, ``1e-3``, ``+2``, with an optional unit suffix
    (``100mV``, ``10 uA``; ``unit`` is the base unit, e.g. ``"V"``) or a keyword ``MIN``,
    ``MAX``, ``DEF`` (``minimum``, ``maximum``, ``default``). -109 when missing, -104 when
    not a number, -131 for a wrong suffix, -224 for a keyword the setting lacks."""
    word = text.strip()
    if not word:
        raise ScpiCommandError(-109, f"{name}: no value")
    if len(word) > PARAMETER_MAX_CHARS:
        raise ScpiCommandError(-104, f"{name}: {quote(word)} is too long")
    keyword = word.upper()
    keywords = {"MIN": minimum, "MINIMUM": minimum, "MAX": maximum, "MAXIMUM": maximum}
    keywords |= {"DEF": default, "DEFAULT": default}
    if keyword in keywords:
        value = keywords[keyword]
        if value is None:
            raise ScpiCommandError(-224, f"{name}: {keyword} is not available")
        return value
    match = NUMBER.match(word)
    if match is None:
        raise ScpiCommandError(-104, f"{name}: {quote(word)} is not a number")
    suffix = word[match.end() :].strip().upper()
    if suffix and not suffix[0].isalpha():
        raise ScpiCommandError(-104, f"{name}: {quote(word)} is not a number")
    scale = _suffix_scale(suffix, unit.upper()) if suffix else 1.0
    if scale is None:
        raise ScpiCommandError(-131, f"{name}: invalid suffix {quote(suffix)}")
    value = float(Decimal(match.group()) * Decimal(repr(scale)))  # 10uA is exactly 1e-5
    if value in (float("inf"), float("-inf")):
        raise ScpiCommandError(-104, f"{name}: {quote(word)} is not finite")
    return value


def parse_int(text: str, name: str, low: int, high: int) -> int:
    """An integer parameter in ``low..high`` (``MIN``/``MAX`` allowed); -222 outside."""
    value = parse_float(text, name, minimum=low, maximum=high, default=low)
    if value != int(value) or not low <= value <= high:
        raise ScpiCommandError(-222, f"{name} {value:g} outside {low}..{high}")
    return int(value)


def parse_floats(text: str, name: str = "values", unit: str = "") -> list[float]:
    """A comma-separated list of numbers (unit suffixes as in :func:`parse_float`);
    -109 if empty."""
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise ScpiCommandError(-109, f"{name}: no values")
    return [parse_float(t, name, unit=unit) for t in items]


def parse_bool(text: str, name: str = "state") -> bool:
    """``ON``/``OFF``/``1``/``0``; -224 otherwise."""
    word = text.strip().upper()
    if not word:
        raise ScpiCommandError(-109, f"{name}: no value")
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiCommandError(-224, f"{name}: expected ON|OFF|1|0, got {quote(text)}")


def format_floats(values: Sequence[float]) -> str:
    """Comma-separated numbers in the ``%+.9E`` style of bench instruments."""
    return ",".join(f"{v:+.9E}" for v in values)


def _esr_bit(code: int) -> int:
    """The standard event status bit an error sets: command error (5) for -1xx,
    execution error (4) for -2xx, device-dependent error (3) for -3xx and positive codes,
    query error (2) for -4xx."""
    if -199 <= code <= -100:
        return 1 << 5
    if -299 <= code <= -200:
        return 1 << 4
    if -499 <= code <= -400:
        return 1 << 2
    return 1 << 3


class EmulatedInstrument:
    """An instrument's SCPI state machine, independent of any connection: its settings,
    buffers, error queue and status registers survive a dropped connection, as on a real
    instrument.

    Subclasses set :attr:`idn` and return their command set from :meth:`commands`, and
    override :meth:`reset` (``*RST``), :meth:`output_off` (the watchdog's safe state) and
    :meth:`summary_bits` (their status byte bits). Every command runs under :attr:`lock`,
    so one instrument serves one command at a time.

    The IEEE 488.2 mandatory common commands are built in: ``*IDN?``, ``*RST``, ``*TST?``,
    ``*OPC``, ``*OPC?``, ``*WAI``, ``*CLS``, ``*ESE``, ``*ESE?``, ``*ESR?`` (read and
    cleared), ``*SRE``, ``*SRE?`` and ``*STB?`` (bit 2: error queue not empty; bit 5: an
    enabled standard event; bit 6: master summary of the bits enabled by ``*SRE``)."""

    idn = "BRUNO-HIL,EMULATED INSTRUMENT,0,0"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.errors: deque[tuple[int, str]] = deque()
        self.commands_seen = 0
        self.esr = 1 << 7  # power on
        self.ese = 0
        self.sre = 0
        self.common = [
            Command("*IDN?", lambda _: self.idn),
            Command("*RST", lambda _: self.reset()),
            Command("*CLS", lambda _: self.clear_status()),
            Command("*OPC?", lambda _: "1"),
            Command("*OPC", lambda _: self._set_esr(1)),
            Command("*WAI", lambda _: None),
            Command("*TST?", lambda _: "0"),
            Command("*ESE", lambda t: setattr(self, "ese", parse_int(t, "*ESE", 0, 255))),
            Command("*ESE?", lambda _: str(self.ese)),
            Command("*ESR?", lambda _: str(self._read_esr())),
            Command("*SRE", lambda t: setattr(self, "sre", parse_int(t, "*SRE", 0, 255) & ~64)),
            Command("*SRE?", lambda _: str(self.sre)),
            Command("*STB?", lambda _: str(self.status_byte())),
            Command("SYSTem:ERRor[:NEXT]?", lambda _: self.next_error()),
            Command("SYSTem:ERRor:COUNt?", lambda _: str(len(self.errors))),
        ]
        self.use_commands(self.commands())

    def use_commands(self, commands: list[Command]) -> None:
        """Serve :attr:`common` and ``commands`` from now on (a dialect switch)."""
        self._table = [(c.regex, c.handler) for c in [*self.common, *commands]]

    def commands(self) -> list[Command]:
        """The instrument's own command set (besides the common commands)."""
        return []

    def reset(self) -> None:
        """``*RST``: back to the power-on settings."""

    def output_off(self) -> None:
        """Switch the output off (the watchdog's safe state; ``*RST`` by default)."""
        self.reset()

    def summary_bits(self) -> int:
        """The instrument's own bits of the status byte (e.g. the 2400's measurement
        summary, bit 0)."""
        return 0

    def clear_status(self) -> None:
        """``*CLS``: empty the error queue and the event registers."""
        self.errors.clear()
        self.esr = 0

    def _set_esr(self, bits: int) -> None:
        self.esr |= bits

    def _read_esr(self) -> int:
        value, self.esr = self.esr, 0
        return value

    def status_byte(self) -> int:
        """The status byte (``*STB?``), see the class."""
        stb = self.summary_bits() & ~(64 | 32 | 4)
        stb |= 4 if self.errors else 0
        stb |= 32 if self.esr & self.ese else 0
        return stb | (64 if stb & self.sre else 0)

    def push_error(self, code: int, detail: str = "") -> None:
        """Append to the error queue (a full queue ends in -350 "Queue overflow"); the
        detail is cut to :data:`DETAIL_MAX_CHARS`."""
        self.esr |= _esr_bit(code)
        message = ERROR_MESSAGES.get(code, "Error")
        detail = detail if len(detail) <= DETAIL_MAX_CHARS else detail[:DETAIL_MAX_CHARS] + "..."
        text = f"{message}; {detail}" if detail else message
        if len(self.errors) >= ERROR_QUEUE_LENGTH:
            self.errors[-1] = (-350, ERROR_MESSAGES[-350])
            return
        self.errors.append((code, text.replace('"', "'")))

    def next_error(self) -> str:
        """The reply of ``SYSTem:ERRor?``: the oldest entry, or ``0,"No error"``."""
        code, text = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{text}"'

    def execute(self, unit: str) -> str | None:
        """Run one program message unit; its reply, or ``None`` (errors go to the queue)."""
        with self.lock:
            self.commands_seen += 1
            header, _, params = unit.strip().partition(" ")
            if not header:
                self.push_error(-102, "empty command")
                return None
            key = header.upper()
            for regex, handler in self._table:
                if regex.fullmatch(key):
                    try:
                        return handler(params.strip())
                    except ScpiCommandError as err:
                        self.push_error(err.code, f"{header[:32]}: {err.detail}".rstrip(": "))
                        return None
            self.push_error(-113, header[:32])
            return None


__all__ = [
    "ERROR_MESSAGES",
    "ERROR_QUEUE_LENGTH",
    "Command",
    "EmulatedInstrument",
    "ScpiCommandError",
    "format_floats",
    "header_regex",
    "parse_bool",
    "parse_float",
    "parse_floats",
    "parse_int",
    "quote",
    "split_quoted",
    "split_units",
]
