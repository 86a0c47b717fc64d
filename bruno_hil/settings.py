"""The one error type of settings and the rules that check them.

A setting is anything a user chooses by name: a key of a training config file, a ``--set``
override, a command-line option. Each rule is written once, here, and every place that
accepts the setting calls it, so a value is judged the same everywhere and a bad one is
one line naming the key (the CLI prints :class:`SettingsError` without a traceback).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bruno_hil.errors import BrunoHilError

FELIF_MODES: tuple[str, ...] = ("bruno", "nobruno", "bptt", "bptt_full")
"""FeLIF gradient modes: BRUNO (fine forward, coarse-step Jacobian), the coarse step forward
and backward, backpropagation through every inner step with the Merz rate frozen in each
step's backward pass (``bptt``), and the same with the rate's full derivative
(``bptt_full``: the exact gradient of the fine forward, the reference of gradient studies;
its step Jacobians can grow large where switching is fast, see ``fecap_step``)."""
WEIGHT_BITS: tuple[int | None, ...] = (None, 8, 4, 3)
"""Training-time weight resolutions of the RRAM synapses (None: full precision)."""
MAX_SEED = 2**32 - 1
"""Largest seed numpy's and torch's generators take (seeds are 0..2**32-1)."""
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


def check_finite(key: str, value: float) -> None:
    """``value`` must be a finite number (no setting means infinity or NaN)."""
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise SettingsError(f"{key} = {value!r}: must be a finite number")


def check_seed(key: str, value: Any) -> None:
    """A random seed: an int in ``0..2**32-1``."""
    check_int_range(key, value, 0, MAX_SEED)


def check_count(key: str, value: Any, allow_none: bool = False) -> None:
    """A number of things (samples, steps): an int >= 1 (or None with ``allow_none``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        tail = " or null" if allow_none else ""
        raise SettingsError(f"{key} = {value!r}: expected a whole number >= 1{tail}")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML itself keeps
    the last one silently)."""


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: the base constructor reports it
            break
        if first is not None:
            raise SettingsError(f"line {line}: key {key!r} given twice (first on line {first})")
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` safely (no objects), refusing duplicate keys; errors name
    ``source`` (a file or option) and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no objects
    except SettingsError as err:
        raise SettingsError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        raise SettingsError(f"{source}: not valid YAML: {err}") from None


def read_yaml_file(path: Path, what: str) -> Any:
    """The YAML (or JSON) file ``path`` parsed by :func:`load_yaml`; ``what`` names its
    role in errors (e.g. ``training config``)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not a text file, cannot read the {what}") from None
    except OSError as err:
        raise SettingsError(f"{path}: cannot read the {what}: {err.strerror}") from None
    return load_yaml(text, str(path))


__all__ = [
    "FELIF_MODES",
    "MAX_SEED",
    "MAX_VARIABILITY_CV",
    "WEIGHT_BITS",
    "SettingsError",
    "check_choice",
    "check_count",
    "check_cv",
    "check_finite",
    "check_int_range",
    "check_non_negative",
    "check_positive",
    "check_seed",
    "load_yaml",
    "read_yaml_file",
]
