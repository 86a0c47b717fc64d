"""Measurement files that survive a crash: append-only CSV rows and atomic whole files.

* :class:`RowStream`: the header is written atomically when the file is created; each
  batch of rows is appended as it arrives from the instrument, then flushed and fsynced.
  A crash can tear only the last line; reading keeps complete lines only (and a resumed
  stream rewrites the file without the torn line), so no completed point is lost and the
  file always parses.
* :func:`write_atomic`: a whole table written to a temporary file in the same folder,
  fsynced, then renamed over the target (a reader sees the old file or the new one).

Numbers are written with full precision (they read back bit for bit).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bruno_hil.errors import BrunoHilError


class StreamFileError(BrunoHilError, ValueError):
    """A stream file does not belong to the measurement being resumed."""


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as CSV to ``path`` atomically (see the module)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as f:
        frame.to_csv(f, index=False, float_format="%.17g")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def read_complete(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The complete rows of a stream file (a torn last line is dropped)."""
    text = path.read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    frame = pd.read_csv(io.StringIO(text)) if text else pd.DataFrame(columns=list(columns))
    if list(frame.columns) != list(columns):
        raise StreamFileError(
            f"{path}: columns {list(frame.columns)} are not those of this measurement"
            f" {list(columns)}"
        )
    return frame


class RowStream:
    """An append-only CSV of one measurement (see the module). With ``resume`` an
    existing file's complete rows are kept (:attr:`done`); otherwise it starts empty."""

    def __init__(self, path: Path, columns: Sequence[str], *, resume: bool = False) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        if resume and self.path.exists():
            kept = read_complete(self.path, self.columns)
            write_atomic(self.path, kept)  # drop a torn last line before appending
        else:
            write_atomic(self.path, pd.DataFrame(columns=self.columns))
        self.done = len(read_complete(self.path, self.columns))

    def append(self, rows: pd.DataFrame) -> None:
        """Append ``rows`` (with exactly this stream's columns), flushed and fsynced."""
        with open(self.path, "a", newline="") as f:
            rows[self.columns].to_csv(f, header=False, index=False, float_format="%.17g")
            f.flush()
            os.fsync(f.fileno())
        self.done += len(rows)

    def read(self) -> pd.DataFrame:
        """Every complete row so far."""
        return read_complete(self.path, self.columns)


__all__ = ["RowStream", "StreamFileError", "read_complete", "write_atomic"]
