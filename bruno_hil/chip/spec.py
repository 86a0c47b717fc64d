"""What a chip setting may say: ``surrogate``, ``ngspice`` or ``visa://<VISA resource>``
(optionally ``?library=<VISA library>``: ``@py``, the default, pyvisa-py; ``@ivi`` for
NI-VISA or Keysight IO Libraries; ``<file.yaml>@sim`` for pyvisa-sim), and which layers
each backend can hold. The one place these rules are written."""

from __future__ import annotations

from typing import Literal, NamedTuple

from bruno_hil.chip.layers import NEURON_LAYERS, LayerName
from bruno_hil.settings import SettingsError

VISA_PREFIX = "visa://"
DEFAULT_VISA_LIBRARY = "@py"
"""The VISA library (pyvisa backend) when a ``visa://`` address names none: pyvisa-py."""
LIBRARY_QUERY = "?library="


class ChipSpec(NamedTuple):
    """A parsed chip setting: the backend and, for ``visa``, the VISA resource and the
    VISA library that opens it (pyvisa's ``ResourceManager`` argument)."""

    backend: Literal["surrogate", "ngspice", "visa"]
    resource: str = ""
    library: str = DEFAULT_VISA_LIBRARY


def parse_visa_address(address: str) -> tuple[str, str]:
    """``<VISA resource>[?library=<VISA library>]`` (what follows ``visa://``) as
    ``(resource, library)``; :class:`SettingsError` for an empty part or another query."""
    resource, query, library = address.partition("?")
    resource = resource.strip()
    if query and not ("?" + library).startswith(LIBRARY_QUERY):
        raise SettingsError(
            f"visa://{address}: unknown option {'?' + library!r}; the one option is"
            " ?library=<VISA library>, e.g. ?library=@ivi or ?library=bench.yaml@sim"
        )
    library = library.removeprefix(LIBRARY_QUERY[1:]).strip() if query else DEFAULT_VISA_LIBRARY
    if not resource or not library:
        raise SettingsError(
            f"visa://{address}: give the VISA resource (and a library after ?library=),"
            " e.g. visa://TCPIP0::127.0.0.1::5025::SOCKET or visa://GPIB0::24::INSTR?library=@ivi"
        )
    return resource, library


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


__all__ = [
    "DEFAULT_VISA_LIBRARY",
    "VISA_PREFIX",
    "ChipSpec",
    "check_backend_layers",
    "parse_chip",
    "parse_visa_address",
]
