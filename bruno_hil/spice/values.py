"""Everything that enters a netlist passes through here: numbers, names, templates.

ngspice netlists can carry ``.control`` blocks, and those can run ``shell`` commands, so a
value pasted into a netlist as a raw string is a code-execution hole. The rules:

* numbers are Python floats, checked finite, and written by :func:`spice_number` (never
  a user's text);
* names (nodes, instances, models, parameters) must match :data:`NAME_RE`;
* templates are rendered by :func:`render`, whose placeholders accept only those two kinds,
  and the rendered text is checked once more by :func:`check_netlist` for control
  constructs that no template of ours contains;
* a ``.include``/``.lib`` file is checked by the same rules, recursively, before ngspice
  reads it: a library cannot carry what the netlist itself may not.
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


_INCLUDE_RE = re.compile(
    r"""^[ \t]*\.(?:inc\w*|lib\w*)[ \t]+(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"']+))([ \t]+\S+)?""",
    re.IGNORECASE | re.MULTILINE,
)
"""An ``.include``/``.inc`` line (a file) or a ``.lib FILE SECTION`` line; ``.lib NAME``
alone (one word) opens a section inside a library and names no file."""

MAX_INCLUDE_DEPTH = 8
"""How deep ``.include`` files may nest before :func:`check_netlist` refuses them."""

MAX_INCLUDE_BYTES = 16 * 1024 * 1024
"""The largest file [bytes] that :func:`check_netlist` reads as an include."""


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


def check_netlist(
    text: str, source: str = "netlist", base: Path | None = None, _depth: int = 0
) -> str:
    """Reject netlist text with control constructs (``.control``, ``shell``, piped
    includes) or with control characters other than ``\\n``, ``\\r\\n`` and ``\\t``,
    in the text or in any file it includes (``.include``/``.inc``/``.lib FILE SECTION``,
    followed recursively; relative paths are looked up in ``base``, the including file's
    folder, and the working directory, as ngspice does). Templates of ours and the shipped
    libraries never contain them, so their presence means injection."""
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
    for inc in _INCLUDE_RE.finditer(text):
        quoted, single, bare, section = inc.groups()
        if inc.group(0).lstrip()[:4].lower() == ".lib" and section is None:
            continue  # a section header inside a library
        line = text.count("\n", 0, inc.start()) + 1
        _check_include(quoted or single or bare, f"{source}, line {line}", base, _depth)
    return text


def _check_include(name: str, where: str, base: Path | None, depth: int) -> None:
    """Read the file that ``name`` (an include at ``where``) names and :func:`check_netlist`
    it; refuse a file that cannot be found, read, or that nests too deep."""
    if depth >= MAX_INCLUDE_DEPTH:
        raise NetlistValueError(
            f"{where}: includes nest deeper than {MAX_INCLUDE_DEPTH} files (a loop?)"
        )
    path = Path(name).expanduser()
    folders = [] if path.is_absolute() else [f for f in (base, Path.cwd()) if f is not None]
    candidates = [folder / path for folder in folders] or [path]
    found = [c.resolve() for c in candidates if c.is_file()]
    if not found:
        raise NetlistValueError(f"{where}: included file {name!r} does not exist")
    for target in dict.fromkeys(found):
        if target.stat().st_size > MAX_INCLUDE_BYTES:
            raise NetlistValueError(
                f"{where}: included file {str(target)!r} is larger than {MAX_INCLUDE_BYTES} bytes"
            )
        try:
            body = target.read_text(encoding="utf-8", errors="replace")
        except OSError as ex:
            raise NetlistValueError(
                f"{where}: cannot read included file {str(target)!r}: {ex.strerror}"
            ) from None
        check_netlist(body, f"{target} (included at {where})", target.parent, depth + 1)


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
