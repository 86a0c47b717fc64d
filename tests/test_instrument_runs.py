"""Issue 19.2-19.3 through the real CLI and the emulator on 127.0.0.1: a multi-part run is
checked whole before its first command; stream files belong to one run and one
instrument, finished data are never truncated, and output folders are checked first."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import run_cli

from bruno_hil.calibration.live import live_calibrate
from bruno_hil.characterize.open import open_backend
from bruno_hil.characterize.stimulus import iv_sweep, ltp_ltd
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
