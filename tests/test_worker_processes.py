"""Issue 19.5: the chip's simulations fan out to a real Dask scheduler on 127.0.0.1 with
``train --scheduler``, and a trainer killed with SIGKILL leaves no worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest
from cli_run import TINY_TRAIN_SETS, last_json, run_cli, set_args

TINY = set_args(
    *TINY_TRAIN_SETS,
    "training.epochs=1",
    "training.progress=false",
    "hil.surrogate_epochs=0",
    "hil.samples_per_epoch=2",
    "hil.layers=syn_out,output",
)


@pytest.fixture
def dask_cluster() -> Iterator[object]:
    """A Dask scheduler and one worker process (two threads: jobs must still run one at
    a time in it) on 127.0.0.1."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


def test_train_runs_its_chip_on_a_dask_scheduler(
    capsys: pytest.CaptureFixture[str], tmp_path, dask_cluster
) -> None:
    address = dask_cluster.scheduler_address  # type: ignore[attr-defined]
    assert address.startswith("tcp://127.0.0.1:")
    code, out, err = run_cli(
        capsys, "train", "--chip", "ngspice", "--scheduler", address, *TINY,
        "--out", str(tmp_path / "run"), "--json",
    )  # fmt: skip
    assert code == 0, err
    chip = last_json(out)["chip"]
    assert chip["chip_samples"] > 0 and chip["chip_failed_samples"] == 0
    prefixes = dask_cluster.scheduler.task_prefixes  # type: ignore[attr-defined]
    assert "one_at_a_time" in prefixes  # the simulations ran on the cluster's worker


def test_a_malformed_scheduler_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "train", "--scheduler", "localhost 8786", *TINY)
    assert code == 2
    assert "hil.scheduler = 'localhost 8786': expected a Dask scheduler address" in err


CHILD = """
import os, time
from bruno_hil.chip.fanout import LocalProcesses
pool = LocalProcesses(2)
pool.map(os.path.basename, ["a/b"] * 8)  # the pool is up
print("ready", flush=True)
time.sleep(600)
"""


def test_a_killed_trainer_leaves_no_worker_processes() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) >= 2  # the forkserver and its two workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(workers, timeout=30)  # a deadline, not a speed check
    finally:
        if proc.poll() is None:
            proc.kill()
    for process in alive:  # cleanup after a failure, then report it
        process.kill()
    assert alive == []
