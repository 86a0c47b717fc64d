"""The SCPI core of an emulated instrument: headers, parameters and the error queue.

A command set is a list of :class:`Command` entries, each a SCPI header pattern in the
standard notation (``SOURce:VOLTage[:LEVel]``: the upper-case letters are the short form,
brackets mark optional nodes, and a node may carry a numeric suffix such as ``OUTPut1``).
:class:`EmulatedInstrument` matches each received program message unit against them,
runs the handler, and keeps the IEEE 488.2 error queue (``SYSTem:ERRor?``), with the
standard codes: -113 "Undefined header", -102 "Syntax error", -104 "Data type error",
-109 "Missing parameter", -221 "Settings conflict", -222 "Data out of range",
-213 "Init ignored", -230 "Data corrupt or stale", -350 "Queue overflow" (and the
Keithley-specific +803 "Output disabled"). The common commands ``*IDN?``, ``*RST``,
``*CLS``, ``*OPC?``, ``*OPC``, ``*WAI`` and ``*TST?`` are built in.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ERROR_QUEUE_LENGTH = 10
"""Entries the error queue holds; one more replaces the newest by -350 "Queue overflow"."""

ERROR_MESSAGES: dict[int, str] = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -109: "Missing parameter",
    -113: "Undefined header",
    -200: "Execution error",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -310: "System error",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
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


def split_units(message: str) -> list[str]:
    """The program message units of one message (``;``-separated, quotes respected)."""
    units, current, quote = [], [], ""
    for char in message:
        if quote:
            current.append(char)
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == ";":
            units.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    units.append("".join(current).strip())
    return [u for u in units if u]


def parse_float(text: str, name: str = "value") -> float:
    """A numeric parameter (``1.5``, ``1e-3``, ``+2``); -104 if not a number."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ScpiCommandError(-104, f"{name}: {text.strip()!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ScpiCommandError(-104, f"{name}: {text.strip()!r} is not finite")
    return value


def parse_floats(text: str, name: str = "values") -> list[float]:
    """A comma-separated list of numbers; -109 if empty."""
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise ScpiCommandError(-109, f"{name}: no values")
    return [parse_float(t, name) for t in items]


def parse_bool(text: str, name: str = "state") -> bool:
    """``ON``/``OFF``/``1``/``0``; -224 otherwise."""
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiCommandError(-224, f"{name}: expected ON|OFF|1|0, got {text.strip()!r}")


def format_floats(values: Sequence[float]) -> str:
    """Comma-separated numbers in the ``%+.9E`` style of bench instruments."""
    return ",".join(f"{v:+.9E}" for v in values)


class EmulatedInstrument:
    """An instrument's SCPI state machine, independent of any connection: its settings,
    buffers and error queue survive a dropped connection, as on a real instrument.

    Subclasses set :attr:`idn` and return their command set from :meth:`commands`, and
    override :meth:`reset` (``*RST``). Every command runs under :attr:`lock`, so one
    instrument serves one command at a time."""

    idn = "BRUNO-HIL,EMULATED INSTRUMENT,0,0"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.errors: deque[tuple[int, str]] = deque()
        self.commands_seen = 0
        common = [
            Command("*IDN?", lambda _: self.idn),
            Command("*RST", lambda _: self.reset()),
            Command("*CLS", lambda _: self.errors.clear()),
            Command("*OPC?", lambda _: "1"),
            Command("*OPC", lambda _: None),
            Command("*WAI", lambda _: None),
            Command("*TST?", lambda _: "0"),
            Command("SYSTem:ERRor[:NEXT]?", lambda _: self.next_error()),
            Command("SYSTem:ERRor:COUNt?", lambda _: str(len(self.errors))),
        ]
        self._table = [(c.regex, c.handler) for c in [*common, *self.commands()]]

    def commands(self) -> list[Command]:
        """The instrument's own command set (besides the common commands)."""
        return []

    def reset(self) -> None:
        """``*RST``: back to the power-on settings."""

    def push_error(self, code: int, detail: str = "") -> None:
        """Append to the error queue (a full queue ends in -350 "Queue overflow")."""
        message = ERROR_MESSAGES.get(code, "Error")
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
                        self.push_error(err.code, f"{header}: {err.detail}".rstrip(": "))
                        return None
            self.push_error(-113, header)
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
    "split_units",
]
