"""What a chip setting may say: ``surrogate``, ``ngspice`` or ``visa://<VISA resource>``
(optionally ``?library=<VISA library>``: ``@py``, the default, pyvisa-py; ``@ivi`` for
NI-VISA or Keysight IO Libraries; ``<file.yaml>@sim`` for pyvisa-sim), and which layers
each backend can hold. The one place these rules are written (the ``visa://`` address
itself: :mod:`bruno_hil.instruments.address`)."""

from __future__ import annotations

from typing import Literal, NamedTuple

from bruno_hil.chip.layers import NEURON_LAYERS, LayerName
from bruno_hil.instruments.address import DEFAULT_VISA_LIBRARY, VISA_PREFIX, parse_visa_address
from bruno_hil.settings import SettingsError


class ChipSpec(NamedTuple):
    """A parsed chip setting: the backend and, for ``visa``, the VISA resource and the
    VISA library that opens it (pyvisa's ``ResourceManager`` argument)."""

    backend: Literal["surrogate", "ngspice", "visa"]
    resource: str = ""
    library: str = DEFAULT_VISA_LIBRARY


def parse_chip(spec: str) -> ChipSpec:
    """``surrogate`` | ``ngspice`` | ``visa://<resource>``; anything else is a
    :class:`SettingsError`."""
    if spec in ("surrogate", "ngspice"):
        return ChipSpec(spec)  # type: ignore[arg-type]
    if spec.startswith(VISA_PREFIX) and spec.removeprefix(VISA_PREFIX).strip():
        return ChipSpec("visa", *parse_visa_address(spec.removeprefix(VISA_PREFIX)))
    raise SettingsError(
        f"chip = {spec!r}: unknown chip; expected surrogate, ngspice or visa://<resource>"
    )


def check_backend_layers(chip: ChipSpec, layers: tuple[LayerName, ...]) -> None:
    """What each backend can hold: a visa bench holds one neuron, so neuron layers only."""
    if chip.backend != "visa":
        return
    crossbars = [name for name in layers if name not in NEURON_LAYERS]
    if crossbars or not layers:
        raise SettingsError(
            f"hil.layers = {list(layers)}: the crossbars {crossbars} are not on a visa bench"
            f" (it holds one neuron); run only neuron layers {list(NEURON_LAYERS)} on it,"
            " e.g. --set hil.layers=output"
        )


__all__ = ["ChipSpec", "check_backend_layers", "parse_chip"]
