"""The one error type of settings and the rules that check them.

A setting is anything a user chooses by name: a key of a training config file, a ``--set``
override, a command-line option. Each rule is written once, here, and every place that
accepts the setting calls it, so a value is judged the same everywhere and a bad one is
one line naming the key (the CLI prints :class:`SettingsError` without a traceback).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from bruno_hil.errors import BrunoHilError

FELIF_MODES: tuple[str, ...] = ("bruno", "nobruno", "bptt")
"""FeLIF gradient modes: BRUNO (fine forward, coarse-step Jacobian), the coarse step forward
and backward, backpropagation through every inner step."""
WEIGHT_BITS: tuple[int | None, ...] = (None, 8, 4, 3)
"""Training-time weight resolutions of the RRAM synapses (None: full precision)."""
MAX_VARIABILITY_CV = 0.5
"""Device-to-device and cycle-to-cycle relative std must stay below this (a factor
``1 + cv*N(0,1)`` with cv = 0.5 is negative for 2 % of the devices)."""


class SettingsError(BrunoHilError, ValueError):
    """A setting is malformed or out of range; the message names it and the value."""


def check_choice(key: str, value: Any, choices: Iterable[Any]) -> None:
    """``value`` must be one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise SettingsError(f"{key} = {value!r}: expected one of {', '.join(map(repr, options))}")


def check_positive(key: str, value: float) -> None:
    """``value`` must be a finite number > 0."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise SettingsError(f"{key} = {value!r}: must be positive")


def check_non_negative(key: str, value: float, unit: str = "") -> None:
    """``value`` must be a finite number >= 0."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise SettingsError(f"{key} = {value!r}: must be >= 0{' ' + unit if unit else ''}")


def check_cv(key: str, value: float) -> None:
    """A relative standard deviation of devices or cycles: in ``[0, 0.5)``."""
    if not (isinstance(value, (int, float)) and 0.0 <= value < MAX_VARIABILITY_CV):
        raise SettingsError(f"{key} = {value!r}: must be in [0, {MAX_VARIABILITY_CV})")


def check_int_range(key: str, value: Any, low: int, high: int, allow_none: bool = False) -> None:
    """``value`` must be an int in ``low..high`` (or None with ``allow_none``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        tail = " or null" if allow_none else ""
        raise SettingsError(f"{key} = {value!r}: expected {low}..{high}{tail}")


__all__ = [
    "FELIF_MODES",
    "MAX_VARIABILITY_CV",
    "WEIGHT_BITS",
    "SettingsError",
    "check_choice",
    "check_cv",
    "check_int_range",
    "check_non_negative",
    "check_positive",
]
