"""Issue 19.2: every exit path of an instrument run leaves the output off. A real
``bruno-hil characterize rram`` process drives the emulator on 127.0.0.1; mid-sweep (the
SMU's output on, a reading delayed so the sweep is in flight) it gets a signal or an
instrument error, and the emulator must end with its output off."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bruno_hil.emulator import EmulatedSmu, ScpiServer
from bruno_hil.emulator.faults import Fault, FaultPlan

CLI = [sys.executable, "-c", "from bruno_hil.cli import main; main()"]
BAIL_OUT_S = 120.0
"""How long to wait for the child before giving up (a hang, not a speed limit)."""


@pytest.fixture
def slow_smu() -> Iterator[ScpiServer]:
    """An emulated SMU whose first reading comes 3 s late: the sweep is in flight then."""
    plan = FaultPlan([Fault("delay", on=":FETC?", seconds=3.0)])
    with ScpiServer(EmulatedSmu(), faults=plan) as server:
        yield server


def _default_signals() -> None:
    """In the child: the default SIGINT disposition (a test runner's worker may ignore
    SIGINT, and an ignored signal is inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(server: ScpiServer, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "characterize", "rram", "--chip", f"visa://{server.resource}", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )


def _wait_for_output_on(server: ScpiServer, proc: subprocess.Popen[str]) -> None:
    smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
    deadline = time.monotonic() + BAIL_OUT_S
    while not smu.s.output:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep never switched the output on"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("sig", "status"),
    [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)],
)
def test_a_signal_mid_sweep_switches_the_output_off(
    slow_smu: ScpiServer, tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    proc = _start(slow_smu, tmp_path / "out")
    _wait_for_output_on(slow_smu, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=BAIL_OUT_S)
    smu: EmulatedSmu = slow_smu.instrument  # type: ignore[assignment]
    assert proc.returncode == status, err
    assert smu.s.output is False
    assert [e["event"] for e in smu.events][-1] == "output off"
    assert "Traceback" not in err


def test_an_instrument_error_mid_run_switches_the_output_off(tmp_path: Path) -> None:
    plan = FaultPlan([Fault("error", on=":INIT", skip=1)])  # the second :INIT is refused
    with ScpiServer(EmulatedSmu(), faults=plan) as server:
        proc = _start(server, tmp_path / "out")
        _, err = proc.communicate(timeout=BAIL_OUT_S)
        smu: EmulatedSmu = server.instrument  # type: ignore[assignment]
        assert proc.returncode == 2, err
        assert "-213" in err
        assert "output on" in [e["event"] for e in smu.events]
        assert smu.s.output is False
