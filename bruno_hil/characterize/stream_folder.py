"""The folder one run's instrument streams go to, owned by one bench and one device.

A folder of stream files (:mod:`bruno_hil.characterize.stream`) belongs to the run that
claims it first: its ``bench.json`` records the instrument (VISA resource and ``*IDN?``)
and the device settings (the parameters the figures are extracted with). Claiming is
atomic (``O_EXCL``), so two runs pointed at one folder never write one file:

* a fresh run refuses a folder that already holds a run's streams (finished data are never
  truncated; continue it with resume or choose another folder);
* a resumed run refuses a folder measured on another instrument or with other device
  settings, naming the first field that differs (a half sweep is never stitched to another
  device's);
* without a folder, each run streams to a private folder of its own (``mkdtemp``: mode
  0700, a fresh name per run).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bruno_hil.characterize.stream import StreamFileError

BENCH_FILE = "bench.json"
"""The record of the bench and device a stream folder belongs to."""


def _first_difference(recorded: dict[str, Any], current: dict[str, Any]) -> str | None:
    for name in sorted(set(recorded) | set(current)):
        if recorded.get(name) != current.get(name):
            return f"{name} was {recorded.get(name)!r}, now {current.get(name)!r}"
    return None


class StreamFolder:
    """Where a run's streams go (see the module): ``folder`` or, when None, a private
    folder made for this run on first use. ``resume`` continues the run recorded there."""

    def __init__(self, folder: Path | None, *, resume: bool = False) -> None:
        if resume and folder is None:
            raise StreamFileError(
                "resume needs the folder the interrupted run streamed to (give --out)"
            )
        self._folder = None if folder is None else Path(folder)
        self.resume = resume
        self._record: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        """The folder (a private one is made on first use)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="bruno_hil_visa-"))
        return self._folder

    def claim(self, bench: dict[str, str], device: dict[str, float]) -> Path:
        """The folder, once it is this run's: ``bench`` (``resource``, ``idn``) and
        ``device`` (its settings) recorded on first use, checked on every later one;
        :class:`StreamFileError` if the folder belongs to another run, bench or device."""
        record = {"bench": bench, "device": device}
        if self._record is None:
            self._record = self._open(record)
        for part in ("bench", "device"):
            differs = _first_difference(self._record[part], record[part])
            if differs is not None:
                raise StreamFileError(
                    f"{self.path / BENCH_FILE}: these streams were measured with another"
                    f" {part} ({differs}); choose another --out"
                )
        return self.path

    def _open(self, record: dict[str, Any]) -> dict[str, Any]:
        """Create the folder's record (a fresh run) or read it (a resumed one)."""
        path = self.path / BENCH_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if not self.resume:
                raise StreamFileError(
                    f"{path.parent}: holds the streams of an earlier run; continue it with"
                    " --resume or choose another --out (finished data are not overwritten)"
                ) from None
            try:
                recorded = json.loads(path.read_text())
                return {"bench": dict(recorded["bench"]), "device": dict(recorded["device"])}
            except (ValueError, KeyError, TypeError) as err:
                raise StreamFileError(f"{path}: not a stream folder record ({err})") from None
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        return record


__all__ = ["BENCH_FILE", "StreamFolder"]
