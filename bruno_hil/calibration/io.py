"""Loading measured curves for calibration: CSV or Parquet with SI units in the column
names, validated row by row.

Columns (the DESIGN's data-file contract): ``time_s``, ``voltage_V``, ``current_A``,
``charge_C``, ``polarization_C_per_m2`` (total plate charge per area, ``Q/A``). A FeCap
P-V file needs ``time_s``, ``voltage_V`` and one of ``charge_C`` / ``polarization_C_per_m2``;
an RRAM I-V file needs ``time_s``, ``voltage_V`` (across the cell) and ``current_A``; an
RRAM pulse-train file (kind ``rram_pulses``) one row per pulse: ``amplitude_V``,
``read_current_A`` and optionally ``read_voltage_V`` (across the cell during the read),
with the train's settings as metadata: ``width_s``, ``read_V``, ``compliance_A``
(required) and ``edge_fraction``, ``read_s``, ``pause_s`` (the pulse shape; defaults
of :class:`~bruno_hil.characterize.stimulus.PulseShape`). Other columns are kept but not
checked.

Metadata (area, thickness, temperature, ...) comes from ``# key: value`` lines at the top
of a CSV file, from the key/value metadata of a Parquet file, or from the caller
(``overrides``, the CLI's options), which win. A key that names a field of the device's
parameter class (``area_m2``, ``t_hzo_m``, ``temperature_K``, ...) is a number checked
against that field's physical range; any other key is kept as text.

Beyond the SI ranges of :data:`COLUMNS`, each kind checks what its device makes
plausible (``Kind.plausible``: an RRAM current above 10 mA, a FeCap waveform longer than
0.1 s are columns in mA and ms), and a charge column against the area (the file's, or the
prior's when the file has none). A metadata key given twice, ``;`` separators and comma
decimals are refused with the line of the file; a UTF-8 BOM is ignored; files above
:data:`MAX_FILE_BYTES` or :data:`MAX_ROWS` are refused before they are read.

Every error is a :class:`MeasurementFileError` that names the file, and where it applies
the row (1-based data row; for CSV also the line of the file) and the column. The
returned data are a new, validated float64 DataFrame; the file and the caller's objects
are never modified.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bruno_hil.devices.params import DeviceParams, FeCapParams, ParameterError, RRAMParams
from bruno_hil.errors import BrunoHilError

C_PER_M2_TO_UC_PER_CM2 = 100.0
"""1 C/m^2 = 100 uC/cm^2."""
MIN_ROWS = 10
"""Fewest data rows a calibration file may have."""
MAX_ROWS = 2_000_000
"""Most data rows a calibration file may have (a fit of more is hours, not minutes)."""
MAX_FILE_BYTES = 64 * 2**20
"""Largest measurement file read [bytes]: a CSV is held as text cells first, ~40x its
size in memory (a 203 MB file took 8.5 GB)."""
NAN_TOKENS = frozenset({"", "nan", "NaN", "NAN", "na", "NA", "N/A", "null", "NULL", "None"})
"""Cell texts read as a missing value (reported as NaN, not as non-numeric)."""


class MeasurementFileError(BrunoHilError, ValueError):
    """A measurement file is unreadable or its data fail validation."""


@dataclass(frozen=True)
class ColumnSpec:
    """A data column: its physical range (by absolute value, SI units) and, when the
    values are too large, a hint at the unit they were probably written in."""

    unit: str
    max_abs: float
    """Largest physically sensible |value| in the SI unit."""
    wrong_unit_hint: str = ""
    """Shown when ``max_abs < |value| <= max_abs * wrong_unit_factor``."""
    wrong_unit_factor: float = 0.0
    nonnegative: bool = False


COLUMNS: dict[str, ColumnSpec] = {
    "time_s": ColumnSpec("s", 1e6, nonnegative=True),
    "voltage_V": ColumnSpec(
        "V", 100.0, "it looks like millivolts (1 V = 1000 mV): divide by 1000", 1e3
    ),
    "current_A": ColumnSpec(
        "A", 1.0, "it looks like mA or uA (1 A = 1e3 mA = 1e6 uA): convert to amperes", 1e6
    ),
    "charge_C": ColumnSpec(
        "C", 1e-3, "it looks like uC, nC or pC (1 C = 1e12 pC): convert to coulombs", 1e15
    ),
    "polarization_C_per_m2": ColumnSpec(
        "C/m^2",
        2.0,
        "it looks like uC/cm^2 (1 C/m^2 = 100 uC/cm^2): divide by 100",
        2.0 * C_PER_M2_TO_UC_PER_CM2,
    ),
}
COLUMNS |= {
    "amplitude_V": COLUMNS["voltage_V"],
    "read_voltage_V": COLUMNS["voltage_V"],
    "read_current_A": COLUMNS["current_A"],
}
"""The SI data columns that are validated."""
PULSE_SETTINGS: dict[str, tuple[str, float, float]] = {
    "width_s": ("s", 1e-12, 10.0),
    "read_V": ("V", -10.0, 10.0),
    "compliance_A": ("A", 1e-12, 1.0),
    "edge_fraction": ("", 1e-6, 0.5),
    "read_s": ("s", 1e-12, 10.0),
    "pause_s": ("s", 1e-12, 10.0),
}
"""Settings of a pulse-train file (metadata): unit and open range (low, high)."""
MAX_CHARGE_DENSITY_C_PER_M2 = 2.0
"""Largest sensible |charge_C|/area [C/m^2] of a FeCap measurement (switched charge
``2*P_s`` with P_s <= 1 C/m^2 plus dielectric charge)."""


RRAM_CURRENT = ColumnSpec(
    "A",
    10e-3,
    "an RRAM cell carries at most ~10 mA; it looks like mA or uA (1 A = 1e3 mA = 1e6 uA):"
    " convert to amperes",
    1e6,
)
"""An RRAM cell's current: a column in mA reads as amperes 1000x too large (a nanoscale
filament under compliance carries uA to a few mA)."""
FECAP_TIME = ColumnSpec(
    "s",
    0.1,
    "a FeCap P-V waveform lasts us to ms; it looks like ms or us (1 s = 1e3 ms = 1e6 us):"
    " convert to seconds",
    1e7,
    nonnegative=True,
)
"""A FeCap waveform's time: longer than 0.1 s is a column in ms (a 1 kHz period written
in ms reads as 1 s; the switching kinetics fitted here are ns to ms, loops 10 Hz and up)."""


@dataclass(frozen=True)
class Kind:
    """What a device's calibration file must hold."""

    params_class: type[DeviceParams]
    required: tuple[str, ...]
    one_of: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    """Metadata keys of :data:`PULSE_SETTINGS` the file must have."""
    plausible: Mapping[str, ColumnSpec] = field(default_factory=dict)
    """Tighter ranges of :data:`COLUMNS` for this device (what its physics allows)."""

    def column(self, name: str) -> ColumnSpec:
        """The range column ``name`` is checked against for this kind."""
        return self.plausible.get(name, COLUMNS[name])


KINDS: dict[str, Kind] = {
    "fecap": Kind(
        FeCapParams,
        ("time_s", "voltage_V"),
        ("charge_C", "polarization_C_per_m2"),
        plausible={"time_s": FECAP_TIME},
    ),
    "rram": Kind(
        RRAMParams, ("time_s", "voltage_V", "current_A"), plausible={"current_A": RRAM_CURRENT}
    ),
    "rram_pulses": Kind(
        RRAMParams,
        ("amplitude_V", "read_current_A"),
        settings=("width_s", "read_V", "compliance_A"),
        plausible={"read_current_A": RRAM_CURRENT},
    ),
}
"""The file kinds: ``fecap`` (P-V / charge waveform), ``rram`` (I-V sweep) and
``rram_pulses`` (a programming pulse train, one row per pulse)."""


@dataclass(frozen=True)
class Measurement:
    """A validated measurement: the data (float64 columns, SI units), the metadata and
    where they came from."""

    path: Path
    kind: str
    data: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    def device_values(self) -> dict[str, float]:
        """The metadata entries that are fields of the device's parameter class."""
        names = set(KINDS[self.kind].params_class.names())
        return {k: float(v) for k, v in self.metadata.items() if k in names}


def _fail(path: Path, where: str, message: str) -> MeasurementFileError:
    return MeasurementFileError(f"{path}: {where}{': ' if where else ''}{message}")


def _where(row: int, line_offset: int | None, column: str | None = None) -> str:
    """``row R (line L), column 'c'`` for a 0-based data row index."""
    text = f"row {row + 1}"
    if line_offset is not None:
        text += f" (line {row + line_offset})"
    return text + (f", column {column!r}" if column else "")


def _parse_header(path: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """``# key: value`` lines at the top: {key: (value text, line number)} and how many
    leading comment or blank lines there are; a key given twice is refused."""
    meta: dict[str, tuple[str, int]] = {}
    n_head = 0
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        n_head += 1
        key, sep, value = stripped.lstrip("#").partition(":")
        key = key.strip()
        if sep and key and " " not in key:
            if key in meta:
                raise _fail(
                    path,
                    f"line {n_head}",
                    f"metadata {key!r} given twice (first on line {meta[key][1]})",
                )
            meta[key] = (value.strip(), n_head)
    return meta, n_head


def _check_fields(path: Path, lines: list[str], n_head: int) -> None:
    """Every data line has the header's number of comma-separated fields; the error
    names the line of the file and the likely cause (``;`` separators, comma decimals)."""
    table = lines[n_head:]
    header = table[0] if table else ""
    if ";" in header and "," not in header:
        raise _fail(
            path,
            f"line {n_head + 1}",
            "the columns are separated by ';': write comma-separated values with '.'"
            " decimals (2.5e-12, not 2,5e-12)",
        )
    width = len(next(csv.reader([header])))
    for k, row in enumerate(csv.reader(table)):
        if len(row) == width or not any(cell.strip() for cell in row):
            continue
        hint = ""
        if len(row) > width and re.search(r"\d,\d", table[k]):
            hint = "; it looks like comma decimals (0,5): write '.' decimals (0.5)"
        raise _fail(
            path, f"line {n_head + k + 1}", f"{len(row)} fields, the header has {width}{hint}"
        )


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(
            path,
            "",
            f"{size / 2**20:.0f} MiB is more than the {MAX_FILE_BYTES / 2**20:.0f} MiB a"
            " measurement file may have (decimate it, or split it into files fitted together)",
        )


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[str, tuple[str, int]], int]:
    """Raw text cells, header metadata and the line number of data row 0 minus 0."""
    try:
        _check_size(path)
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not data
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(path, "", f"cannot read the file: {err}") from None
    lines = text.splitlines()
    meta, n_head = _parse_header(path, lines)
    _check_fields(path, lines, n_head)
    try:
        raw = pd.read_csv(
            io.StringIO("\n".join(lines[n_head:])),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise _fail(path, "", f"not a readable CSV table: {err}") from None
    # data row 0 sits on line n_head + 2 (1-based: comments, then the header line)
    return raw, meta, n_head + 2


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, tuple[str, int]]]:
    try:
        import pyarrow.parquet as pq

        _check_size(path)
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows > MAX_ROWS:
            raise _fail(path, "", f"{rows} rows; a measurement file may have {MAX_ROWS}")
        table = pq.read_table(path)
    except ImportError:
        raise _fail(path, "", "reading Parquet needs pyarrow (pip install pyarrow)") from None
    except MeasurementFileError:
        raise
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise _fail(path, "", f"not a readable Parquet file: {err}") from None
    meta = {
        k.decode(): (v.decode(), 0)
        for k, v in (table.schema.metadata or {}).items()
        if not k.startswith(b"pandas")
    }
    return table.to_pandas(), meta


def _check_columns(path: Path, raw: pd.DataFrame, kind: Kind) -> list[str]:
    """The columns to validate; a missing one is reported with the closest present name."""
    present = [str(c).strip() for c in raw.columns]
    raw.columns = present
    missing = [c for c in kind.required if c not in present]
    if kind.one_of and not any(c in present for c in kind.one_of):
        missing.append(" or ".join(repr(c) for c in kind.one_of))
    if missing:
        name = missing[0]
        candidates = [name] if name in COLUMNS else list(kind.one_of)
        close = [m for c in candidates for m in difflib.get_close_matches(c, present, 1, 0.6)]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        label = name if " or " in name else repr(name)
        raise _fail(
            path,
            "",
            f"missing column {label}{hint} (columns found: {', '.join(present) or 'none'};"
            " names carry their SI unit, e.g. time_s, voltage_V, current_A, charge_C,"
            " polarization_C_per_m2)",
        )
    return [c for c in present if c in COLUMNS]


def _numeric(path: Path, raw: pd.Series, column: str, line_offset: int | None) -> np.ndarray:
    """The column as float64; a NaN or non-numeric cell names its row."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            k = int(bad[0])
            what = "NaN (missing value)" if np.isnan(values[k]) else f"{values[k]!r}"
            raise _fail(path, _where(k, line_offset, column), f"value is {what}")
        return values
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    for k in np.flatnonzero(~np.isfinite(values)):
        cell = text.iloc[int(k)]
        if cell in NAN_TOKENS:
            problem = f"value is NaN (missing value, {cell!r})"
        elif cell.lower().lstrip("+-") in ("inf", "infinity"):
            problem = f"value {cell!r} is not finite"
        else:
            problem = f"{cell!r} is not a number (write plain SI numbers, e.g. 2.5e-12)"
        raise _fail(path, _where(int(k), line_offset, column), problem)
    return values


def _check_range(
    path: Path, spec: ColumnSpec, column: str, values: np.ndarray, line_offset: int | None
) -> None:
    """Physical range ``spec`` of one column (by absolute value)."""
    if spec.nonnegative and np.any(values < 0.0):
        k = int(np.argmax(values < 0.0))
        raise _fail(path, _where(k, line_offset, column), f"{values[k]:g} {spec.unit} is negative")
    magnitude = np.abs(values)
    k = int(np.argmax(magnitude))
    if magnitude[k] <= spec.max_abs:
        return
    message = (
        f"|{values[k]:g}| {spec.unit} is outside the physical range"
        f" (|value| <= {spec.max_abs:g} {spec.unit})"
    )
    if spec.wrong_unit_hint and magnitude[k] <= spec.max_abs * spec.wrong_unit_factor:
        message += f"; {spec.wrong_unit_hint}"
    raise _fail(path, _where(k, line_offset, column), message)


def _check_time(path: Path, time_s: np.ndarray, line_offset: int | None) -> None:
    steps = np.diff(time_s)
    if np.any(steps <= 0.0):
        k = int(np.argmax(steps <= 0.0)) + 1
        raise _fail(
            path,
            _where(k, line_offset, "time_s"),
            f"time must increase strictly: {time_s[k]:g} s follows {time_s[k - 1]:g} s",
        )


def _metadata(
    path: Path,
    meta: Mapping[str, tuple[str, int]],
    overrides: Mapping[str, float | str],
    kind: Kind,
) -> dict[str, Any]:
    """Metadata with device fields range-checked through the parameter class."""
    fields = set(kind.params_class.names())
    out: dict[str, Any] = {}
    entries = [(k, v, f"line {n}" if n else "metadata") for k, (v, n) in meta.items()]
    entries += [(k, v, "option") for k, v in overrides.items()]
    for key, value, where in entries:
        if kind.settings and key in PULSE_SETTINGS:
            out[key] = _setting(path, key, value, where)
            continue
        if key not in fields:
            out[key] = value
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _fail(
                path, f"{where}, metadata {key!r}", f"{value!r} is not a number in SI units"
            ) from None
        try:
            kind.params_class().replace(source=f"{where}, metadata", **{key: number})
        except ParameterError as err:
            raise _fail(path, "", str(err)) from None
        out[key] = number
    return out


def _setting(path: Path, key: str, value: object, where: str) -> float:
    """A pulse-train setting from the metadata, as a number inside its range."""
    unit, low, high = PULSE_SETTINGS[key]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high or (key == "read_V" and number == 0.0):
        raise _fail(
            path,
            f"{where}, metadata {key!r}",
            f"{value!r} is not a number in [{low:g}, {high:g}] {unit}"
            + (" other than 0" if key == "read_V" else ""),
        )
    return number


def rram_file_kind(path: str | Path) -> str:
    """``rram_pulses`` for a file with an ``amplitude_V`` column, else ``rram``."""
    path = Path(path)
    if not path.is_file():
        raise MeasurementFileError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        columns = list(_read_parquet(path)[0].columns)
    else:
        columns = list(_read_csv(path)[0].columns)
    return "rram_pulses" if "amplitude_V" in [str(c).strip() for c in columns] else "rram"


def load_measurement(
    path: str | Path, kind: str, overrides: Mapping[str, float | str] | None = None
) -> Measurement:
    """Load and validate a ``kind`` (``fecap``, ``rram``, ``rram_pulses``) measurement from a CSV or
    Parquet file (by suffix: ``.parquet``/``.pq`` is Parquet, anything else CSV);
    ``overrides`` add or replace metadata (e.g. ``{"area_m2": 25e-12}``)."""
    path = Path(path)
    if kind not in KINDS:
        raise MeasurementFileError(
            f"unknown measurement kind {kind!r}; choose one of {', '.join(KINDS)}"
        )
    spec = KINDS[kind]
    if not path.is_file():
        raise MeasurementFileError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        raw, meta = _read_parquet(path)
        line_offset: int | None = None
    else:
        raw, meta, line_offset = _read_csv(path)
    columns = _check_columns(path, raw, spec)
    if len(raw) < MIN_ROWS:
        raise _fail(path, "", f"{len(raw)} data rows; a calibration needs at least {MIN_ROWS}")
    if len(raw) > MAX_ROWS:
        raise _fail(path, "", f"{len(raw)} data rows; a measurement file may have {MAX_ROWS}")
    metadata = _metadata(path, meta, dict(overrides or {}), spec)
    missing = [key for key in spec.settings if key not in metadata]
    if missing:
        raise _fail(
            path,
            "",
            f"missing metadata {', '.join(repr(k) for k in missing)} (a pulse train's"
            " settings, SI units: '# width_s: 1e-6' lines at the top of a CSV)",
        )
    data = raw.copy()
    for column in columns:
        data[column] = _numeric(path, raw[column], column, line_offset)
    for column in columns:
        _check_range(path, spec.column(column), column, data[column].to_numpy(), line_offset)
    if "charge_C" in columns and "area_m2" in metadata:
        check_charge_density(path, data["charge_C"].to_numpy(), metadata["area_m2"], line_offset)
    if "time_s" in columns:
        _check_time(path, data["time_s"].to_numpy(), line_offset)
    return Measurement(path=path, kind=kind, data=data.reset_index(drop=True), metadata=metadata)


def check_charge_density(
    path: Path, charge_C: np.ndarray, area_m2: float, line_offset: int | None
) -> None:
    """|Q|/A above :data:`MAX_CHARGE_DENSITY_C_PER_M2` means a wrong unit or area
    (``line_offset``: the file line of data row 0, None where unknown)."""
    k = int(np.argmax(np.abs(charge_C)))
    density = abs(charge_C[k]) / area_m2
    if density <= MAX_CHARGE_DENSITY_C_PER_M2:
        return
    raise _fail(
        path,
        _where(k, line_offset, "charge_C"),
        f"|{charge_C[k]:g}| C over area_m2 = {area_m2:g} m^2 is {density:g} C/m^2, more than"
        f" {MAX_CHARGE_DENSITY_C_PER_M2:g} C/m^2: the column is probably not in coulombs"
        " (1 C = 1e6 uC = 1e12 pC) or the area is wrong",
    )


__all__ = [
    "COLUMNS",
    "KINDS",
    "MIN_ROWS",
    "PULSE_SETTINGS",
    "Measurement",
    "MeasurementFileError",
    "check_charge_density",
    "load_measurement",
    "rram_file_kind",
]
