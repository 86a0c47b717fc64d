"""Loading calibration files: one test per validation rule, each checking that the message
names the file, the row (and CSV line) and the column, and that nothing is modified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bruno_hil.calibration.fecap import charge_from_measurement
from bruno_hil.calibration.io import MeasurementFileError, load_measurement, rram_file_kind
from bruno_hil.devices.params import FeCapParams

HEADER = "# synthetic test data\n# area_m2: 25e-12\n"
"""Two comment lines: data row r (1-based) sits on line r + 3."""


def _frame(n: int = 20) -> pd.DataFrame:
    t = np.arange(n) * 1e-6
    v = 3.0 * np.sin(2 * np.pi * t / t[-1])
    return pd.DataFrame({"time_s": t, "voltage_V": v, "charge_C": 2e-12 * v})


def _write(tmp_path: Path, frame: pd.DataFrame, header: str = HEADER, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + frame.to_csv(index=False))
    return path


def _error(path: Path, kind: str = "fecap", **overrides: float) -> str:
    with pytest.raises(MeasurementFileError) as info:
        load_measurement(path, kind, overrides)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    return message


def test_a_valid_file_loads_with_metadata_and_is_not_modified(tmp_path: Path) -> None:
    frame = _frame()
    path = _write(tmp_path, frame)
    before = path.read_bytes()
    m = load_measurement(path, "fecap")
    assert path.read_bytes() == before
    assert m.metadata["area_m2"] == 25e-12 and m.device_values() == {"area_m2": 25e-12}
    np.testing.assert_array_equal(m.data["charge_C"].to_numpy(), frame["charge_C"].to_numpy())
    m.data.loc[0, "charge_C"] = 1.0  # the caller's copy is theirs
    assert load_measurement(path, "fecap").data.loc[0, "charge_C"] == 0.0


def test_parquet_with_key_value_metadata(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    table = table.replace_schema_metadata({**table.schema.metadata, b"area_m2": b"3e-12"})
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    m = load_measurement(path, "fecap")
    assert m.metadata["area_m2"] == 3e-12 and len(m.data) == 20
    bad = _frame()
    bad.loc[4, "voltage_V"] = np.nan
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "b.parquet")
    message = _error(tmp_path / "b.parquet")
    assert "row 5, column 'voltage_V'" in message and "NaN" in message


def test_misspelled_column_suggests_the_close_name(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame().rename(columns={"voltage_V": "voltge_V"}))
    message = _error(path)
    assert "missing column 'voltage_V'" in message and "did you mean 'voltge_V'" in message


def test_missing_charge_or_polarization_column(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame().rename(columns={"charge_C": "charge_uC"}))
    message = _error(path)
    assert "'charge_C' or 'polarization_C_per_m2'" in message
    assert "did you mean 'charge_uC'" in message


def test_rram_needs_current(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame())
    assert "missing column 'current_A'" in _error(path, "rram")


def test_non_numeric_value_names_row_line_and_column(tmp_path: Path) -> None:
    frame = _frame().astype(object)
    frame.loc[6, "charge_C"] = "1.2e-12 C"
    message = _error(_write(tmp_path, frame))
    assert "row 7 (line 10), column 'charge_C'" in message
    assert "'1.2e-12 C' is not a number" in message


def test_nan_value(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[11, "voltage_V"] = np.nan
    message = _error(_write(tmp_path, frame))
    assert "row 12 (line 15), column 'voltage_V'" in message and "NaN" in message


def test_non_monotonic_time(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[9, "time_s"] = frame.loc[8, "time_s"]
    message = _error(_write(tmp_path, frame))
    assert "row 10 (line 13), column 'time_s'" in message and "increase strictly" in message


def test_negative_time_is_out_of_range(tmp_path: Path) -> None:
    frame = _frame()
    frame["time_s"] -= 1e-6
    message = _error(_write(tmp_path, frame))
    assert "row 1 (line 4), column 'time_s'" in message and "negative" in message


def test_polarization_in_uc_per_cm2_is_recognised(tmp_path: Path) -> None:
    frame = _frame().drop(columns="charge_C")
    frame["polarization_C_per_m2"] = 22.0 * np.tanh(frame["voltage_V"])  # uC/cm^2 values
    message = _error(_write(tmp_path, frame))
    k = int(np.argmax(np.abs(frame["polarization_C_per_m2"].to_numpy())))
    assert f"row {k + 1} (line {k + 4}), column 'polarization_C_per_m2'" in message
    assert "uC/cm^2 (1 C/m^2 = 100 uC/cm^2)" in message


def test_voltage_in_millivolts_is_recognised(tmp_path: Path) -> None:
    frame = _frame()
    frame["voltage_V"] *= 1e3
    message = _error(_write(tmp_path, frame))
    assert "column 'voltage_V'" in message and "millivolts" in message


def test_current_out_of_physical_range(tmp_path: Path) -> None:
    frame = _frame().rename(columns={"charge_C": "current_A"})
    frame.loc[3, "current_A"] = 5e9
    message = _error(_write(tmp_path, frame), "rram")
    assert "row 4 (line 7), column 'current_A'" in message
    assert "outside the physical range" in message and "mA or uA" not in message


def test_charge_too_large_for_the_area(tmp_path: Path) -> None:
    frame = _frame()
    frame["charge_C"] *= 1e6  # written in uC
    message = _error(_write(tmp_path, frame))
    assert "column 'charge_C'" in message and "not in coulombs" in message


def test_metadata_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame(), header="# area_m2: 25\n")
    message = _error(path)
    assert "line 1" in message and "area_m2" in message and "physical range" in message


def test_metadata_not_a_number(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame(), header="# t_hzo_m: ten nm\n")
    message = _error(path)
    assert "line 1, metadata 't_hzo_m'" in message and "not a number" in message


def test_option_overrides_metadata_and_is_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, _frame())
    assert load_measurement(path, "fecap", {"area_m2": 5e-12}).metadata["area_m2"] == 5e-12
    assert "option" in _error(path, area_m2=-1.0)


def test_too_few_rows(tmp_path: Path) -> None:
    assert "at least" in _error(_write(tmp_path, _frame(5)))


def test_polarization_column_becomes_charge_with_the_area(tmp_path: Path) -> None:
    frame = _frame().drop(columns="charge_C")
    frame["polarization_C_per_m2"] = 0.2 * np.tanh(frame["voltage_V"])
    m = load_measurement(_write(tmp_path, frame), "fecap")
    prior = FeCapParams().replace(**m.device_values())
    np.testing.assert_allclose(
        charge_from_measurement(m, prior), frame["polarization_C_per_m2"] * 25e-12, rtol=1e-15
    )


PULSE_HEADER = "# width_s: 1e-6\n# read_V: 0.1\n# compliance_A: 1e-4\n"
"""Three metadata lines: data row r (1-based) sits on line r + 4."""


def _pulses(n: int = 12) -> pd.DataFrame:
    amps = np.r_[0.0, np.full(n - 1, 1.1)]
    return pd.DataFrame({"pulse": np.arange(1, n + 1), "amplitude_V": amps,
                         "read_current_A": np.geomspace(1e-7, 1e-5, n)})  # fmt: skip


def test_a_pulse_train_file_loads_with_its_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, _pulses(), PULSE_HEADER + "# edge_fraction: 0.1\n")
    assert rram_file_kind(path) == "rram_pulses"
    m = load_measurement(path, "rram_pulses")
    assert m.metadata == {"width_s": 1e-6, "read_V": 0.1, "compliance_A": 1e-4,
                          "edge_fraction": 0.1}  # fmt: skip
    assert "time_s" not in m.data and len(m.data) == 12


def test_a_pulse_train_needs_its_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, _pulses(), "# width_s: 1e-6\n")
    message = _error(path, "rram_pulses")
    assert "missing metadata 'read_V', 'compliance_A'" in message


def test_a_pulse_setting_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _pulses(), PULSE_HEADER.replace("1e-4", "-1e-4"))
    message = _error(path, "rram_pulses")
    assert "line 3, metadata 'compliance_A'" in message and "[1e-12, 1] A" in message
    path = _write(tmp_path, _pulses(), PULSE_HEADER.replace("0.1", "0"), name="zero.csv")
    assert "other than 0" in _error(path, "rram_pulses")


def test_read_current_in_microamperes_is_recognised(tmp_path: Path) -> None:
    frame = _pulses()
    frame["read_current_A"] *= 1e6
    frame.loc[11, "read_current_A"] = 12.0
    message = _error(_write(tmp_path, frame, PULSE_HEADER), "rram_pulses")
    assert "row 12 (line 16), column 'read_current_A'" in message and "mA or uA" in message
