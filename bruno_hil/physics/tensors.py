"""A device parameter set as float64 tensors: the one wrapper that the torch physics of
every device (:mod:`bruno_hil.physics.fecap`, :mod:`bruno_hil.physics.rram`) reads.

Each field of a :class:`~bruno_hil.devices.params.DeviceParams` becomes a tensor that
broadcasts against the device state (a scalar, or one value per device), read as an
attribute (``d.area_m2``); a device subclass adds the quantities derived from the fields
(capacitances, thermal voltage) as properties, so that each is defined once, and declares
the parameter set's choices of model form (words, not tensors) as dataclass fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Self, TypeVar

import torch

from bruno_hil.devices.params import DeviceParams

DTYPE = torch.float64
"""The dtype of every device computation."""

P = TypeVar("P", bound=DeviceParams)


@dataclass(frozen=True)
class DeviceTensors(Generic[P]):
    """The fields of a parameter set of type ``P`` as float64 tensors, by field name."""

    values: dict[str, torch.Tensor]
    variable_fields: ClassVar[tuple[str, ...]] = ()
    """The fields that vary from device to device (rows of ``factors``)."""

    @classmethod
    def from_params(
        cls,
        params: P,
        factors: torch.Tensor | None = None,
        device: torch.device | str | None = None,
    ) -> Self:
        """``params`` for every device; ``factors`` [len(variable_fields), N], if given,
        multiplies the device-to-device variable fields device by device."""
        values = {
            name: torch.tensor(value, dtype=DTYPE, device=device)
            for name, value in params.numbers().items()
        }
        if factors is not None:
            rows: Sequence[torch.Tensor] = list(factors.to(DTYPE))
            if len(rows) != len(cls.variable_fields):
                raise ValueError(
                    f"{cls.__name__}.from_params: factors must have one row per variable"
                    f" field ({len(cls.variable_fields)}: {', '.join(cls.variable_fields)}),"
                    f" got {len(rows)}"
                )
            for row, name in zip(rows, cls.variable_fields, strict=True):
                values[name] = values[name] * row.to(values[name].device)
        return cls(values, **params.choices())

    def replace(self, **values: torch.Tensor) -> Self:
        """A copy with some fields replaced (e.g. a per-step ``tau_0_s``)."""
        return dataclasses.replace(self, values={**self.values, **values})

    def __getattr__(self, name: str) -> torch.Tensor:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


__all__ = ["DTYPE", "DeviceTensors"]
