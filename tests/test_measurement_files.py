"""Issue 19.4-19.6: measurement files that used to fit silently to wrong figures (a column
in the wrong unit, metadata given twice) or failed with a parser's message are refused
through the real ``calibrate`` CLI with the file, the line of the file and the cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli

from bruno_hil.calibration.io import MAX_FILE_BYTES


def _rram_iv(current_scale: float = 1.0) -> pd.DataFrame:
    v = np.concatenate([np.linspace(0, 1, 10), np.linspace(1, -1, 20), np.linspace(-1, 0, 10)])
    t = np.arange(v.size) * 1e-2
    return pd.DataFrame({"time_s": t, "voltage_V": v, "current_A": 5e-5 * v * current_scale})


def _fecap_pv(time_scale: float = 1.0, charge_scale: float = 1.0) -> pd.DataFrame:
    t = np.arange(40) * 25e-6  # one 1 kHz period
    v = 3.0 * np.sin(2 * np.pi * t / 1e-3)
    return pd.DataFrame(
        {"time_s": t * time_scale, "voltage_V": v, "charge_C": 6e-12 * np.tanh(v) * charge_scale}
    )


def _write(path: Path, frame: pd.DataFrame, header: str = "") -> Path:
    path.write_text(header + frame.to_csv(index=False, float_format="%.10g"))
    return path


def _calibrate(capsys: pytest.CaptureFixture[str], device: str, path: Path) -> str:
    code, _, err = run_cli(capsys, "calibrate", device, str(path))
    assert code == 2, err
    assert err.startswith(f"bruno-hil: error: {path}: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("device", "frame", "message"),
    [
        ("rram", _rram_iv(current_scale=1e3), "row 10 (line 11), column 'current_A': |0.05| A"),
        ("rram", _rram_iv(current_scale=1e3), "it looks like mA or uA"),
        ("fecap", _fecap_pv(time_scale=1e3), "column 'time_s': |0.975| s"),  # 975 ms
        ("fecap", _fecap_pv(time_scale=1e3 * 1.1), "it looks like ms or us"),
        ("fecap", _fecap_pv(charge_scale=1e6), "column 'charge_C'"),  # uC, no area given
        ("fecap", _fecap_pv(charge_scale=1e6), "not in coulombs"),
    ],
)
def test_a_column_in_the_wrong_unit_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    device: str,
    frame: pd.DataFrame,
    message: str,
) -> None:
    err = _calibrate(capsys, device, _write(tmp_path / "m.csv", frame))
    assert message in err


def test_the_plausible_files_still_load(tmp_path: Path) -> None:
    """The same curves in SI units pass the checks (the fits are tested elsewhere)."""
    from bruno_hil.calibration.io import load_measurement

    assert len(load_measurement(_write(tmp_path / "iv.csv", _rram_iv()), "rram").data) == 40
    assert len(load_measurement(_write(tmp_path / "pv.csv", _fecap_pv()), "fecap").data) == 40


def test_metadata_given_twice_names_both_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    header = "# area_m2: 25e-12\n# t_hzo_m: 10e-9\n# area_m2: 100e-12\n"
    err = _calibrate(capsys, "fecap", _write(tmp_path / "m.csv", _fecap_pv(), header))
    assert "line 3: metadata 'area_m2' given twice (first on line 1)" in err


def test_a_byte_order_mark_does_not_hide_the_metadata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A spreadsheet's UTF-8 BOM before ``# area_m2``: the line is still metadata (here
    an out-of-range area, reported on line 1), not the start of the table."""
    path = tmp_path / "m.csv"
    path.write_bytes(b"\xef\xbb\xbf# area_m2: -1\n" + _fecap_pv().to_csv(index=False).encode())
    err = _calibrate(capsys, "fecap", path)
    assert "line 1, metadata" in err and "area_m2" in err


def test_semicolon_separators_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("# area_m2: 25e-12\n" + _rram_iv().to_csv(index=False, sep=";"))
    err = _calibrate(capsys, "rram", path)
    assert "line 2: the columns are separated by ';'" in err


def test_comma_decimals_name_the_line_of_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path / "m.csv", _rram_iv(), "# note: exported\n# t_ox_m: 12e-9\n")
    lines = path.read_text().splitlines()
    lines[7] = lines[7].replace(".", ",", 1)  # file line 8, the table's line 6
    path.write_text("\n".join(lines) + "\n")
    err = _calibrate(capsys, "rram", path)
    assert "line 8: 4 fields, the header has 3; it looks like comma decimals" in err


def test_an_oversized_file_is_refused_before_it_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path / "huge.csv", _rram_iv())
    with open(path, "r+b") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    err = _calibrate(capsys, "rram", path)
    assert "MiB is more than the 64 MiB a measurement file may have" in err
