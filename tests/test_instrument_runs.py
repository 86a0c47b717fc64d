"""Issue 19.2-19.3 through the real CLI and the emulator on 127.0.0.1: a multi-part run is
checked whole before its first command; stream files belong to one run and one
instrument, finished data are never truncated, and output folders are checked first."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli

from bruno_hil.calibration.live import live_calibrate
from bruno_hil.characterize.open import open_backend
from bruno_hil.characterize.stimulus import iv_sweep, ltp_ltd
from bruno_hil.characterize.visa_backend import VisaBackend
from bruno_hil.devices.params import RRAMParams
from bruno_hil.emulator import EmulatedSmu, ScpiServer
from bruno_hil.instruments import InstrumentLimitError


def test_a_pulse_train_beyond_the_limits_stops_the_run_before_its_sweep(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    """The I-V sweep (within +-2 V) would run first; the 2.5 V SET pulses are refused and
    the device never sees a voltage (no output on at all)."""
    with ScpiServer(EmulatedSmu()) as server:
        code, _, err = run_cli(
            capsys,
            "characterize", "rram", "--chip", f"visa://{server.resource}",
            "--set-amplitude-V", "2.5", "--out", str(tmp_path / "out"),
        )  # fmt: skip
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        assert code == 2, err
        assert "= 2.5 V is outside the safety limits [-2, 2] V" in err
        assert smu.events == [] and smu.dut.applied_V == []


def test_the_live_loop_checks_every_stimulus_before_the_first() -> None:
    schedule = [iv_sweep(1.0, -1.0), ltp_ltd(1.0, -1.0, 5, width_s=5e-3)]  # 5 ms > 1 ms
    with ScpiServer(EmulatedSmu()) as server:
        backend = open_backend(f"visa://{server.resource}")
        try:
            with pytest.raises(InstrumentLimitError, match=r"width_s = 0\.005 s exceeds"):
                live_calibrate("rram", backend, RRAMParams(), RRAMParams(), schedule=schedule)
        finally:
            backend.close()
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        assert smu.events == [] and np.size(smu.dut.applied_V) == 0


RRAM_RUN = ["characterize", "rram", "--n-pulses", "4", "--json"]


def _rram_run(
    capsys: pytest.CaptureFixture[str], server: ScpiServer, out: Path, *extra: str
) -> tuple[int, str]:
    """``characterize rram`` on the emulator behind ``server``: (exit code, stderr)."""
    chip = f"visa://{server.resource}"
    code, _, err = run_cli(capsys, *RRAM_RUN, "--chip", chip, "--out", str(out), *extra)
    return code, err


def _streams(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "stream").iterdir())}


def test_a_rerun_without_resume_keeps_the_finished_streams(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with ScpiServer(EmulatedSmu()) as server:
        code, err = _rram_run(capsys, server, tmp_path)
        assert code == 0, err
        finished = _streams(tmp_path)
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        switched_on = len(smu.events)
        code, err = _rram_run(capsys, server, tmp_path)
        assert code == 2
        assert "holds the streams of an earlier run; continue it with --resume" in err
        assert len(smu.events) == switched_on  # refused before the output went on
    assert _streams(tmp_path) == finished
    (sweep,) = (tmp_path / "stream").glob("rram_dc-*.csv")
    assert len(pd.read_csv(sweep)) == 401  # the complete sweep, not a header


def test_resume_refuses_another_instrument_or_other_device_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with ScpiServer(EmulatedSmu()) as first, ScpiServer(EmulatedSmu()) as second:
        code, err = _rram_run(capsys, first, tmp_path)
        assert code == 0, err
        finished = _streams(tmp_path)
        code, err = _rram_run(capsys, second, tmp_path, "--resume")
        assert code == 2
        assert "measured with another bench (resource was" in err
        assert f"'{first.resource}', now '{second.resource}'" in err
        code, err = _rram_run(capsys, first, tmp_path, "--resume", "--param", "t_ox_m=11e-9")
        assert code == 2
        assert "measured with another device (t_ox_m was 1.2e-08, now 1.1e-08)" in err
        other: EmulatedSmu = second.instrument  # type: ignore[assignment]
        assert other.events == [] and other.dut.applied_V == []
    assert _streams(tmp_path) == finished


def test_runs_without_a_folder_stream_to_private_folders_of_their_own() -> None:
    """Two runs on two instruments at once, no folder given: two private folders (0700),
    each file holding its own instrument's rows only."""
    v = np.array([0.1, 0.2, 0.3])
    with ScpiServer(EmulatedSmu()) as a, ScpiServer(EmulatedSmu()) as b:
        backends = [VisaBackend(a.resource), VisaBackend(b.resource)]
        try:
            for backend in backends:  # the same request on both
                backend.rram_dc_sweep(v, 1e-4, RRAMParams())
        finally:
            for backend in backends:
                backend.close()
    (file_a,), (file_b,) = (backend.files for backend in backends)
    assert file_a.parent != file_b.parent
    for path in (file_a, file_b):
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        np.testing.assert_array_equal(pd.read_csv(path)["voltage_V"], v)
        recorded = json.loads((path.parent / "bench.json").read_text())
        assert "2400" in recorded["bench"]["idn"]
    assert {json.loads((p.parent / "bench.json").read_text())["bench"]["resource"]
            for p in (file_a, file_b)} == {a.resource, b.resource}  # fmt: skip


def test_resume_without_a_folder_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with ScpiServer(EmulatedSmu()) as server:
        code, _, err = run_cli(capsys, *RRAM_RUN, "--chip", f"visa://{server.resource}", "--resume")
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        assert code == 2 and "resume needs the folder the interrupted run streamed to" in err
        assert smu.events == []


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody may write: read-only for a normal user; sysfs (no new files, not
    even for root) when the tests run as root."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder if not os.access(folder, os.W_OK) else Path("/sys")


@pytest.mark.parametrize(
    "command",
    [
        ["characterize", "rram", "--chip", "EMULATOR"],
        ["calibrate", "rram", "--chip", "EMULATOR"],
        ["calibrate", "fecap", "--chip", "ngspice"],
        ["train", "--set", "training.epochs=1"],
    ],
    ids=["characterize", "calibrate-live-visa", "calibrate-live-ngspice", "train"],
)
def test_an_unwritable_out_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    out = _unwritable(tmp_path) / "run"
    with ScpiServer(EmulatedSmu()) as server:
        args = [f"visa://{server.resource}" if a == "EMULATOR" else a for a in command]
        code, _, err = run_cli(capsys, *args, "--out", str(out))
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        assert smu.dut.applied_V == []
    assert code == 2, err
    assert f"--out {out}: cannot write there (" in err and "Traceback" not in err


def test_an_out_below_a_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    code, _, err = run_cli(capsys, *RRAM_RUN, "--out", str(tmp_path / "a-file" / "run"))
    assert code == 2
    assert "cannot write there (Not a directory)" in err


def test_a_sweep_too_fine_to_hold_is_refused_before_it_is_made() -> None:
    """A 1e-9 V step over +-1 V would be 4e9 setpoints (32 GB) before anything else."""
    from bruno_hil.characterize.errors import MeasurementError
    from bruno_hil.characterize.stimulus import MAX_SWEEP_POINTS, iv_setpoints

    with pytest.raises(MeasurementError, match=r"makes 4e\+09 setpoints; an I-V sweep may have"):
        iv_setpoints(1.0, -1.0, 1e-9)
    assert len(iv_setpoints(1.0, -1.0, 4.0 / MAX_SWEEP_POINTS)) == MAX_SWEEP_POINTS + 1


def _limit_file_size() -> None:
    """In the child: files may not grow past 4 KiB (as on a full disk), and writing past
    that fails with EFBIG instead of killing the process with SIGXFSZ."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """A real child process whose results outgrow what it may write: exit 2 and one
    line naming the cause, no traceback."""
    import subprocess
    import sys

    command = "from bruno_hil.cli import main; main()"
    args = ["characterize", "rram", "--n-pulses", "4", "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-c", command, *args],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("bruno-hil: error: cannot write ")
    assert "File too large" in done.stderr and "Traceback" not in done.stderr


def test_resume_of_a_simulated_run_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *RRAM_RUN, "--resume")
    assert code == 2
    assert "--resume continues the streamed measurements of a visa:// run" in err
