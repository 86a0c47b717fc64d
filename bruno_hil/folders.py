"""Output folders checked before any work: created, and shown to accept a file.

A run that measures or fits for minutes and then cannot write its results loses them; so
every command creates its output folder and writes (then removes) a probe file in it
before its first measurement, simulation or fit.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bruno_hil.errors import BrunoHilError


class OutputFolderError(BrunoHilError, OSError):
    """An output folder cannot be created or written."""


def writable_folder(path: Path, what: str = "--out") -> Path:
    """``path``, created if missing, after a probe file was written and removed there;
    :class:`OutputFolderError` naming ``what`` (the option) and the reason otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=path)
        try:
            os.write(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise OutputFolderError(f"{what} {path}: cannot write there ({reason})") from None
    return path


__all__ = ["OutputFolderError", "writable_folder"]
