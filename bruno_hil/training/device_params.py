"""Device parameter files into a training config (``train --device-params FILE ...``).

Each file (as ``bruno-hil calibrate`` writes it, or hand-written) holds parameter sets by
class (``FeCapParams:``, ``RRAMParams:``, ``LIFParams:``). Several files combine: each
contributes the fields it sets away from the class's defaults (``calibrate fecap`` the
ferroelectric, ``calibrate neuron`` the parasitic, threshold and reset); two files that set
one field to different values are refused, naming both.

Each set goes to the places in the config listed in :data:`TARGETS`: the surrogate's
model and the chip's device alike (``to="both"``, the default), or only one of them. The
fields reach the config as numbers (:func:`~bruno_hil.training.config.load_config`'s
``overrides``), and ``--set`` still wins over them.

Quantities a calibration fitted of its bench (the ``bench:`` section, e.g. the P-V
fixture's capacitance) are not device parameters: they are left out, with a note. So is a
bench field that an older ``calibrate fecap`` file wrote into its device set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from bruno_hil.devices import FeCapParams, LIFParams, RRAMParams, bench_quantities, load_param_sets
from bruno_hil.devices.params import DeviceParams, ParameterError

TARGETS: dict[str, dict[str, tuple[str, str]]] = {
    "FeCapParams": {"surrogate": ("network", "fecap"), "chip": ("hil", "fecap")},
    "RRAMParams": {"chip": ("hil", "rram")},
    "LIFParams": {"surrogate": ("network", "lif")},
}
"""Where each parameter set goes in the config, for the surrogate and for the chip."""

DESTINATIONS: tuple[str, ...] = ("both", "surrogate", "chip")
"""The choices of ``--device-params-to``."""

DEFAULTS: dict[str, DeviceParams] = {
    "FeCapParams": FeCapParams(),
    "RRAMParams": RRAMParams(),
    "LIFParams": LIFParams(),
}

OLD_BENCH_FIELDS: dict[str, tuple[str, ...]] = {"FeCapParams": ("c_par_F",)}
"""Fields that a ``calibrate fecap`` file without a ``bench:`` section fitted on the bench
(its ``calibration: fitted:`` lists them)."""


class DeviceOverrides(NamedTuple):
    """The config overrides of some parameter files, and the notes for the user."""

    overrides: dict[str, Any]
    """Nested ``{section: {key: {field: value}}}`` for ``load_config(overrides=...)``."""
    notes: list[str]
    """One line each: what was left out and why."""


def _fitted_on_bench(path: Path, name: str) -> list[str]:
    """Bench fields of set ``name`` that an older ``calibrate fecap`` file fitted."""
    data = yaml.safe_load(path.read_text()) or {}
    fitted = (data.get("calibration") or {}).get("fitted") or {}
    if "bench" in data or not isinstance(fitted, Mapping):
        return []
    return [field for field in OLD_BENCH_FIELDS.get(name, ()) if field in fitted]


def _show(value: float | str) -> str:
    """A field's value in a message: numbers as ``%g``, choices as they are."""
    return f"{value:g}" if isinstance(value, float) else value


def combine(paths: Iterable[Path]) -> tuple[dict[str, dict[str, float | str]], list[str]]:
    """The fields each parameter set takes from ``paths`` (see the module), and notes."""
    chosen: dict[str, dict[str, tuple[float | str, Path]]] = {}
    notes: list[str] = []
    for path in map(Path, paths):
        bench = bench_quantities(path)
        if bench:
            listed = ", ".join(f"{k} = {v:g}" for k, v in bench.items())
            notes.append(
                f"{path}: bench quantities ({listed}) belong to the calibration's set-up,"
                " not to the device: not used for training"
            )
        for name, params in load_param_sets(path).items():
            dropped = _fitted_on_bench(path, name)
            for field in dropped:
                notes.append(
                    f"{path}: {name}.{field} = {getattr(params, field):g} was fitted on the"
                    f" bench (the fixture's capacitance), not the device: left out, the"
                    f" neurons keep {getattr(DEFAULTS[name], field):g} unless --set gives one"
                )
            for field, value in params.as_dict().items():
                if field in dropped or value == getattr(DEFAULTS[name], field):
                    continue
                seen = chosen.setdefault(name, {}).get(field)
                if seen is not None and seen[0] != value:
                    raise ParameterError(
                        f"{path}: {name}.{field} = {_show(value)} contradicts {seen[1]}"
                        f" ({_show(seen[0])}); give each field in one --device-params file"
                    )
                chosen[name][field] = (value, path)
    return {name: {f: v for f, (v, _) in fields.items()} for name, fields in chosen.items()}, notes


def inner_step_notes(paths: Iterable[Path], n_inner: int) -> list[str]:
    """A note for each file whose calibration fitted the surrogate at other inner steps
    than the run's ``n_inner`` (``calibrate neuron`` records its ``n_inner``; the fitted
    threshold, reset and parasitic absorb that many steps' error)."""
    notes = []
    for path in map(Path, paths):
        data = yaml.safe_load(path.read_text()) or {}
        fitted = (data.get("calibration") or {}).get("n_inner")
        if isinstance(fitted, int) and fitted != n_inner:
            notes.append(
                f"{path}: calibrated at n_inner = {fitted}, but this run's network.n_inner is"
                f" {n_inner}; the fitted neuron fits the surrogate at {fitted} inner steps"
                f" (rerun calibrate neuron --n-inner {n_inner}, or --set network.n_inner={fitted})"
            )
    return notes


def device_overrides(paths: Iterable[Path], to: str = "both") -> DeviceOverrides:
    """The config overrides of the parameter files ``paths`` for ``to`` (one of
    :data:`DESTINATIONS`)."""
    if to not in DESTINATIONS:
        raise ParameterError(f"--device-params-to {to!r}: choose one of {', '.join(DESTINATIONS)}")
    sets, notes = combine(paths)
    overrides: dict[str, Any] = {}
    for name, fields in sets.items():
        places = TARGETS[name]
        wanted = [places[k] for k in places if to in ("both", k)]
        if not wanted:
            notes.append(f"{name}: has no {to} counterpart in training; not used")
        for section, key in wanted:
            overrides.setdefault(section, {})[key] = dict(fields)
    return DeviceOverrides(overrides, notes)


__all__ = [
    "DESTINATIONS",
    "TARGETS",
    "DeviceOverrides",
    "combine",
    "device_overrides",
    "inner_step_notes",
]
