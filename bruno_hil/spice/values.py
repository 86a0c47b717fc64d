"""Everything that enters a netlist passes through here: numbers, names, templates.

ngspice netlists can carry ``.control`` blocks, and those can run ``shell`` commands, so a
value pasted into a netlist as a raw string is a code-execution hole. The rules:

* numbers are Python floats, checked finite, and written by :func:`spice_number` (never
  a user's text);
* names (nodes, instances, models, parameters) must match :data:`NAME_RE`;
* templates are rendered by :func:`render`, whose placeholders accept only those two kinds,
  and the rendered text is checked once more by :func:`check_netlist` for control
  constructs that no template of ours contains.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from numbers import Real
from pathlib import Path

from bruno_hil.errors import BrunoHilError

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
"""A SPICE node, element, model or parameter name that bruno_hil accepts."""

_FORBIDDEN_RE = re.compile(
    r"^\s*(\.control|\.endc|\.exec|\.shell|shell\b|\.system|system\b|\.include\s+\||\.lib\s+\|)",
    re.IGNORECASE | re.MULTILINE,
)


_BAD_CHAR_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]|\r(?!\n)")
"""Characters that some line splitter (Python's ``splitlines``, ngspice's reader) could take
for a line break, or that have no business in a netlist: a ``.control`` hidden behind a
lone carriage return would slip past a line-anchored check."""


class NetlistValueError(BrunoHilError, ValueError):
    """A value or name cannot be placed in a netlist safely."""


def spice_number(value: float, field: str = "value") -> str:
    """Format a finite real number for a netlist (``1.5e-12``), or raise naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise NetlistValueError(f"{field}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise NetlistValueError(f"{field}: {x!r} is not a finite number")
    return repr(x) if x != 0.0 else "0"


def spice_name(name: str, field: str = "name") -> str:
    """Return ``name`` if it is a plain SPICE identifier, else raise naming ``field``."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise NetlistValueError(
            f"{field}: {name!r} is not a valid SPICE name (letters, digits and '_',"
            " starting with a letter or '_', at most 64 characters)"
        )
    return name


class SpiceName(str):
    """A string already validated as a SPICE name (so templates accept it as-is)."""

    def __new__(cls, name: str, field: str = "name") -> SpiceName:
        return super().__new__(cls, spice_name(name, field))


def spice_node(node: str, field: str = "node") -> SpiceName | int:
    """A node for a template: a validated SPICE name, or ground ``"0"`` (rendered as 0)."""
    return 0 if node == "0" else SpiceName(node, field)


def check_netlist(text: str, source: str = "netlist") -> str:
    """Reject netlist text with control constructs (``.control``, ``shell``, piped
    includes) or with control characters other than ``\\n``, ``\\r\\n`` and ``\\t``.
    Templates of ours never contain them, so their presence means injection."""
    if not isinstance(text, str):
        raise NetlistValueError(f"{source}: expected netlist text, got {type(text).__name__}")
    bad = _BAD_CHAR_RE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise NetlistValueError(
            f"{source}, line {line}: control character {bad.group(0)!r} is not allowed in a"
            " bruno_hil netlist (lines end with '\\n')"
        )
    match = _FORBIDDEN_RE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise NetlistValueError(
            f"{source}, line {line}: {match.group(0).strip()!r} is not allowed in a"
            " bruno_hil netlist (control blocks and shell commands are rejected)"
        )
    return text


def render(template: str, values: Mapping[str, float | SpiceName], source: str = "template") -> str:
    """Fill ``$name`` / ``${name}`` placeholders with formatted numbers or validated names.

    Every placeholder must be given and every value must be a real number or a
    :class:`SpiceName`; plain strings are refused, so no raw text reaches the netlist.
    """
    formatted: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, SpiceName):
            formatted[key] = str(value)
        elif isinstance(value, str):
            raise NetlistValueError(
                f"{source}: placeholder {key!r} got the string {value!r}; pass a number or a"
                " SpiceName"
            )
        else:
            formatted[key] = spice_number(value, f"{source}: {key}")
    try:
        text = string.Template(template).substitute(formatted)
    except KeyError as err:
        raise NetlistValueError(f"{source}: no value for placeholder {err.args[0]!r}") from None
    except ValueError as err:
        raise NetlistValueError(f"{source}: malformed placeholder: {err}") from None
    return check_netlist(text, source)


def render_file(path: str | Path, values: Mapping[str, float | SpiceName]) -> str:
    """Read a template from ``path`` and :func:`render` it (errors name the file)."""
    path = Path(path)
    return render(path.read_text(), values, source=str(path))
