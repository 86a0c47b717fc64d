"""Settings an emulated instrument stores and reports but that do not change the emulated
physics (integration time, measure ranges, beeper, display, trigger lines, ...).

A real instrument answers the query of every setting it accepts; so does the emulator:
each :class:`Stored` entry becomes a set command and its query (``<header>?``), checked
like the instrument checks it (a number within its bounds, with ``MIN``/``MAX``/``DEF``
and unit suffixes; a boolean; one of a few words), and replying in the instrument's form
(``1``/``0``, ``+1.000000000E+00``, the word's short form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bruno_hil.emulator.scpi import Command, ScpiCommandError, parse_bool, parse_float, quote


@dataclass(frozen=True)
class Stored:
    """One stored setting: its header ``pattern`` (no ``?``), the ``kind`` (``"bool"``,
    ``"float"``, ``"int"``, ``"word"``), its ``default`` (the reply after ``*RST``), for
    numbers the bounds ``low``/``high`` and the ``unit`` suffix, for words the ``choices``
    (short forms; a longer form that starts with one is accepted)."""

    pattern: str
    kind: str
    default: float | bool | str
    low: float = 0.0
    high: float = 0.0
    unit: str = ""
    choices: tuple[str, ...] = ()
    extra_words: tuple[str, ...] = ()
    """Words accepted by the set command without being stored (e.g. ``ONCE``)."""

    def reply(self, value: float | bool | str) -> str:
        """The query's reply for ``value``."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "int":
            return str(int(value))
        if self.kind == "float":
            return f"{float(value):+.9E}"
        return str(value)

    def parse(self, text: str) -> float | bool | str | None:
        """The value of a set command's parameter (``None``: accepted, not stored)."""
        if self.kind == "bool":
            if text.strip().upper() in self.extra_words:
                return None
            return parse_bool(text, self.pattern)
        if self.kind in ("float", "int"):
            value = parse_float(
                text, self.pattern, unit=self.unit, minimum=self.low, maximum=self.high
            )
            if not self.low <= value <= self.high or (self.kind == "int" and value != int(value)):
                raise ScpiCommandError(
                    -222, f"{value:g} {self.unit} outside [{self.low:g}, {self.high:g}]"
                )
            return int(value) if self.kind == "int" else value
        word = text.strip().strip("'\"").upper()
        for choice in self.choices:
            if word.startswith(choice):
                return choice
        raise ScpiCommandError(-224, f"{quote(word)}: expected one of {', '.join(self.choices)}")


def stored_commands(
    entries: list[Stored], values: Callable[[], dict[str, float | bool | str]]
) -> list[Command]:
    """A set command and a query for each entry, keeping the values in the dict that
    ``values()`` returns (the instrument's present settings, so ``*RST`` may replace it)."""
    commands = []
    for entry in entries:

        def setter(text: str, entry: Stored = entry) -> None:
            value = entry.parse(text)
            if value is not None:
                values()[entry.pattern] = value

        def getter(_: str, entry: Stored = entry) -> str:
            return entry.reply(values().get(entry.pattern, entry.default))

        commands += [Command(entry.pattern, setter), Command(f"{entry.pattern}?", getter)]
    return commands


__all__ = ["Stored", "stored_commands"]
