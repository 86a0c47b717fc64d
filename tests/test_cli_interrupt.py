"""Ctrl-C in ``bruno-hil train`` (SIGINT to a real child process): a clear message, the
checkpoint of the last finished epoch kept, exit status 130; ``--resume`` names the epoch it
continues at."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_run import run_cli
from tiny_run import TINY_SETS

from bruno_hil.cli import INTERRUPTED

ENDLESS = [*TINY_SETS, "training.epochs=100000"]  # never finishes on its own
STARTUP_LIMIT_S = 300.0
"""How long the child may take to write its first checkpoint (a safety net, not a test)."""


def _train(run: Path) -> subprocess.Popen[str]:
    sets = [arg for item in ENDLESS for arg in ("--set", item)]
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bruno_hil.cli import main; main()",
            "train",
            "--chip",
            "surrogate",
            "--out",
            str(run),
            *sets,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {path} after {STARTUP_LIMIT_S} s"
        time.sleep(0.2)


def test_ctrl_c_keeps_the_checkpoint_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    proc = _train(run)
    _wait_for(run / "metrics.csv", proc)  # written after the checkpoint
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=STARTUP_LIMIT_S)
    assert proc.returncode == INTERRUPTED, err
    assert "Traceback" not in err
    saved = torch.load(run / "checkpoint.pt", weights_only=False)["epoch"]
    assert saved >= 1
    assert len(pd.read_csv(run / "metrics.csv")) == saved
    assert f"{run / 'checkpoint.pt'} keeps epoch {saved} of 100000" in err
    assert f"bruno-hil train --resume {run}" in err

    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--stop-after", "1")
    assert code == 0, err
    assert f"resuming {run} at epoch {saved + 1} of 100000 ({saved} done" in err
    assert torch.load(run / "checkpoint.pt", weights_only=False)["epoch"] == saved + 1
