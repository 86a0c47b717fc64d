"""Simulator options (tolerances, integration method), validated and written as one
``.options`` line."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bruno_hil.spice.values import NetlistValueError, spice_number

_OPTION_SPECS: dict[str, tuple[type, float, float]] = {
    "reltol": (float, 1e-9, 0.1),
    "abstol": (float, 1e-30, 1e-3),
    "vntol": (float, 1e-15, 1e-1),
    "chgtol": (float, 1e-30, 1e-6),
    "gmin": (float, 1e-30, 1e-3),
    "trtol": (float, 1.0, 100.0),
    "temp": (float, -273.15, 1000.0),
    "tnom": (float, -273.15, 1000.0),
    "itl1": (int, 1, 1_000_000),
    "itl2": (int, 1, 1_000_000),
    "itl4": (int, 1, 1_000_000),
    "itl6": (int, 0, 1_000_000),
    "gminsteps": (int, 0, 1000),
    "srcsteps": (int, 0, 1000),
    "maxord": (int, 1, 6),
}
_OPTION_CHOICES: dict[str, tuple[str, ...]] = {"method": ("trap", "gear")}


@dataclass(frozen=True)
class SimOptions:
    """Simulator options written as one ``.options`` line into the netlist.

    ``None`` leaves ngspice's default. Temperatures are in degrees Celsius (ngspice's
    convention), tolerances in SI units (``abstol`` A, ``vntol`` V, ``chgtol`` C,
    ``gmin`` S), ``itl*`` are iteration counts. :meth:`robust` is a preset for retrying a
    circuit that did not converge.
    """

    reltol: float | None = None
    abstol: float | None = None
    vntol: float | None = None
    chgtol: float | None = None
    gmin: float | None = None
    trtol: float | None = None
    temp: float | None = None
    tnom: float | None = None
    itl1: int | None = None
    itl2: int | None = None
    itl4: int | None = None
    itl6: int | None = None
    gminsteps: int | None = None
    srcsteps: int | None = None
    maxord: int | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            _check_option(name, value)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> SimOptions:
        """Build from a mapping, naming any unknown option and the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        for name in options:
            if name not in known:
                raise NetlistValueError(
                    f"simulator option {name!r} is unknown; known options: {sorted(known)}"
                )
        return cls(**options)

    @classmethod
    def robust(cls) -> SimOptions:
        """Gear integration, more DC/transient iterations and gmin/source stepping."""
        return cls(method="gear", itl1=500, itl2=200, itl4=100, gminsteps=20, srcsteps=20)

    def as_dict(self) -> dict[str, float | int | str]:
        """The options that are set (not ``None``)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }

    def line(self) -> str | None:
        """The ``.options`` line, or ``None`` when no option is set."""
        items = self.as_dict()
        if not items:
            return None
        parts = [
            f"{k}={v if isinstance(v, str) else spice_number(v, f'options.{k}')}"
            for k, v in items.items()
        ]
        return ".options " + " ".join(parts)


def _check_option(name: str, value: Any) -> None:
    """Range- and type-check one simulator option, naming it."""
    if name in _OPTION_CHOICES:
        if value not in _OPTION_CHOICES[name]:
            raise NetlistValueError(
                f"simulator option {name}={value!r}: choose one of {_OPTION_CHOICES[name]}"
            )
        return
    kind, low, high = _OPTION_SPECS[name]
    spice_number(value, f"simulator option {name}")
    if kind is int and int(value) != value:
        raise NetlistValueError(f"simulator option {name}={value!r}: expected an integer")
    if not low <= value <= high:
        raise NetlistValueError(
            f"simulator option {name}={value!r} is outside its range [{low:g}, {high:g}]"
        )


def with_options(netlist: str, options: SimOptions | None) -> str:
    """Insert ``options``'s ``.options`` line before the netlist's ``.end`` (or append it),
    so it overrides options the netlist sets itself."""
    line = options.line() if options is not None else None
    if line is None:
        return netlist
    lines = netlist.splitlines()
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].strip().lower() == ".end":
            return "\n".join([*lines[:i], line, *lines[i:]])
    return "\n".join([*lines, line])
