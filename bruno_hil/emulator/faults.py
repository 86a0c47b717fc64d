"""Fault injection for the emulator: what goes wrong, and on which command.

A fault is written ``KIND[:key=value,...]`` (the ``--fault`` option of ``bruno-hil
emulate``; repeatable). Kinds:

* ``delay``: the reply comes ``seconds`` [s] late (default 2 s; longer than a client's
  timeout, it is a timeout);
* ``drop``: the command is executed, then the connection is closed without a reply (a
  cable pulled or a LAN hiccup; the instrument keeps its state and buffers);
* ``garble``: the reply is replaced by bytes that are not a valid response;
* ``error``: the command is *not* executed and the error ``code`` (default -213,
  "Init ignored") enters the error queue, as when the instrument refuses a command.

Which commands it hits: ``on=HEADER`` (received headers that start with ``HEADER``,
case-insensitive, e.g. ``on=:FETC?``) and/or ``at=N`` (from the N-th command received,
counting from 1), ``skip=J`` (let the first J matching commands pass), ``times=K`` (how
many times it fires; default 1; 0 = every time). Examples: ``drop:on=:FETC?``,
``delay:at=3,seconds=1.5``, ``error:on=:INIT,skip=2`` (the third ``:INIT`` fails).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bruno_hil.errors import BrunoHilError

FAULT_KINDS: tuple[str, ...] = ("delay", "drop", "garble", "error")
GARBLED_REPLY = "#\x7f?!GARBLED"
"""What a garbled reply reads (not a number, not a valid response)."""


class FaultSpecError(BrunoHilError, ValueError):
    """A ``--fault`` option is malformed (it names the field)."""


@dataclass
class Fault:
    """One fault: its ``kind`` and trigger (see the module)."""

    kind: str
    on: str = ""
    at: int = 1
    skip: int = 0
    times: int = 1
    seconds: float = 2.0
    code: int = -213
    fired: int = field(default=0, compare=False)
    seen: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(
                f"fault kind {self.kind!r}: choose one of {', '.join(FAULT_KINDS)}"
            )
        if self.at < 1:
            raise FaultSpecError(f"fault {self.kind}: at = {self.at} must be >= 1")
        if self.skip < 0:
            raise FaultSpecError(f"fault {self.kind}: skip = {self.skip} must be >= 0")
        if self.times < 0:
            raise FaultSpecError(f"fault {self.kind}: times = {self.times} must be >= 0")
        if not 0.0 <= self.seconds <= 3600.0:
            raise FaultSpecError(
                f"fault {self.kind}: seconds = {self.seconds} must lie in [0, 3600] s"
            )
        if not -999 <= self.code <= -100:
            raise FaultSpecError(
                f"fault {self.kind}: code = {self.code} must be a SCPI error code in [-999, -100]"
            )

    def matches(self, index: int, unit: str) -> bool:
        """Whether the ``index``-th command (1-based) with text ``unit`` triggers it."""
        if self.times and self.fired >= self.times:
            return False
        if index < self.at or not unit.strip().upper().startswith(self.on.upper()):
            return False
        self.seen += 1
        return self.seen > self.skip


_INT_KEYS = ("at", "skip", "times", "code")


def parse_fault(text: str) -> Fault:
    """Parse ``KIND[:key=value,...]`` (see the module); errors name the field."""
    kind, _, rest = text.strip().partition(":")
    values: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in ("on", *_INT_KEYS, "seconds"):
            raise FaultSpecError(
                f"--fault {text!r}: {item!r} is not one of on=, at=, skip=, times=, seconds=, code="
            )
        try:
            if key in _INT_KEYS:
                values[key] = int(value)
            elif key == "seconds":
                values[key] = float(value)
            else:
                values[key] = value.strip()
        except ValueError:
            raise FaultSpecError(f"--fault {text!r}: {key} = {value!r} is not a number") from None
    try:
        return Fault(kind=kind.strip().lower(), **values)  # type: ignore[arg-type]
    except FaultSpecError as err:
        raise FaultSpecError(f"--fault {text!r}: {err}") from None


class FaultPlan:
    """The faults of one server; :meth:`pick` is called for every command received."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults = list(faults or [])
        self.count = 0
        self.log: list[tuple[int, str, str]] = []
        """(command index, fault kind, command) of every fault that fired."""
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, specs: list[str] | None) -> FaultPlan:
        """From ``--fault`` strings."""
        return cls([parse_fault(s) for s in specs or []])

    def pick(self, unit: str) -> Fault | None:
        """Count this command; the fault that fires on it, if any (one per command)."""
        with self._lock:
            self.count += 1
            for fault in self.faults:
                if fault.matches(self.count, unit):
                    fault.fired += 1
                    self.log.append((self.count, fault.kind, unit.strip()[:80]))
                    return fault
            return None


__all__ = ["FAULT_KINDS", "GARBLED_REPLY", "Fault", "FaultPlan", "FaultSpecError", "parse_fault"]
