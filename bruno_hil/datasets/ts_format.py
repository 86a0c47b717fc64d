"""A reader of the ``.ts`` text format of the UEA/UCR time-series classification archive.

A ``.ts`` file has ``#`` comment lines, ``@key value`` header lines (``@problemName``,
``@timeStamps``, ``@univariate``, ``@dimensions``, ``@equalLength``, ``@classLabel true
<labels...>``, ...), then ``@data`` and one sample per line: the dimensions separated by
``:``, each a comma-separated series of values (``?`` for a missing one), and the class
label as the last ``:`` field. Only files without time stamps and with class labels are
read (the classification sets); the series of one sample may differ in length between
samples but not between dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bruno_hil.errors import BrunoHilError


class TsFormatError(BrunoHilError):
    """A ``.ts`` file is malformed or uses a feature this reader does not read."""


@dataclass(frozen=True)
class TsData:
    """The samples of one ``.ts`` file."""

    problem: str
    class_labels: tuple[str, ...]
    """The labels declared by ``@classLabel``, in their declared order."""
    series: tuple[np.ndarray, ...]
    """One float64 array [length, n_dims] per sample (NaN where a value is missing)."""
    labels: np.ndarray
    """int64 [n_samples]: the index of each sample's label in ``class_labels``."""

    @property
    def n_dims(self) -> int:
        return self.series[0].shape[1]


def _parse_sample(text: str, n_dims: int, where: str) -> tuple[np.ndarray, str]:
    *dims, label = text.split(":")
    if len(dims) != n_dims:
        raise TsFormatError(f"{where}: {len(dims)} dimensions, @dimensions says {n_dims}")
    try:
        values = [
            [float("nan") if v.strip() == "?" else float(v) for v in dim.split(",")] for dim in dims
        ]
    except ValueError as err:
        raise TsFormatError(f"{where}: not a number: {err}") from None
    lengths = {len(v) for v in values}
    if len(lengths) != 1:
        raise TsFormatError(f"{where}: dimensions of unequal lengths {sorted(lengths)}")
    return np.array(values, dtype=np.float64).T, label.strip()


def read_ts(path: Path) -> TsData:
    """Read the ``.ts`` classification file ``path``; errors name the file and line."""
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    names: list[str] = []
    in_data = False
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise TsFormatError(f"{where}: expected a @key header line before @data")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
                _check_header(header, where)
            else:
                header[key] = value.strip()
            continue
        sample, name = _parse_sample(line, int(header.get("dimensions", "1")), where)
        series.append(sample)
        names.append(name)
    if not in_data or not series:
        raise TsFormatError(f"{path}: no @data section with samples")
    class_labels = tuple(header["classlabel"].split()[1:])
    unknown = sorted(set(names) - set(class_labels))
    if unknown:
        raise TsFormatError(f"{path}: labels {unknown} not declared by @classLabel")
    index = {name: i for i, name in enumerate(class_labels)}
    return TsData(
        header.get("problemname", Path(path).stem),
        class_labels,
        tuple(series),
        np.array([index[n] for n in names], dtype=np.int64),
    )


def _check_header(header: dict[str, str], where: str) -> None:
    """The header declares class labels and no time stamps."""
    if header.get("timestamps", "false").lower() != "false":
        raise TsFormatError(f"{where}: @timeStamps true is not supported")
    label = header.get("classlabel", "false").split()
    if not label or label[0].lower() != "true" or len(label) < 2:
        raise TsFormatError(f"{where}: expected '@classLabel true <labels...>' before @data")
