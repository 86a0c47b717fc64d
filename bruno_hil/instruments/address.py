"""The bench address of a ``visa://`` setting: ``<VISA resource>[?library=<VISA library>]``
(``@py``, the default, pyvisa-py; ``@ivi`` for NI-VISA or Keysight IO Libraries;
``<file.yaml>@sim`` for pyvisa-sim). Training's ``--chip`` and characterization's read it
the same way, from here."""

from __future__ import annotations

from bruno_hil.settings import SettingsError

VISA_PREFIX = "visa://"
DEFAULT_VISA_LIBRARY = "@py"
"""The VISA library (pyvisa backend) when a ``visa://`` address names none: pyvisa-py."""
LIBRARY_QUERY = "?library="


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


__all__ = ["DEFAULT_VISA_LIBRARY", "VISA_PREFIX", "parse_visa_address"]
