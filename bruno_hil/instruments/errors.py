"""Errors of the instrument drivers; each names the instrument (its VISA resource)."""

from __future__ import annotations

from bruno_hil.errors import BrunoHilError


class InstrumentError(BrunoHilError, RuntimeError):
    """An instrument could not do what was asked (the message names the resource)."""


class InstrumentLimitError(InstrumentError, ValueError):
    """A value is outside the configured :class:`~bruno_hil.instruments.limits.
    SafetyLimits`; raised before anything is sent to the instrument."""


class InstrumentConnectionError(InstrumentError):
    """The instrument cannot be reached, or the connection was lost and not regained."""


class InstrumentTimeoutError(InstrumentError):
    """The instrument did not answer in time (after the retries)."""


class InstrumentResponseError(InstrumentError):
    """The instrument's reply cannot be parsed (after the retries)."""


class InstrumentCommandError(InstrumentError):
    """The instrument's SCPI error queue reported errors after a command."""

    def __init__(self, message: str, errors: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.errors = errors


__all__ = [
    "InstrumentCommandError",
    "InstrumentConnectionError",
    "InstrumentError",
    "InstrumentLimitError",
    "InstrumentResponseError",
    "InstrumentTimeoutError",
]
