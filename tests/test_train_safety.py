"""``bruno-hil train`` against hostile or broken inputs (issue 19): crafted checkpoints,
settings that would run silently wrong, chips that fail, resumes with another chip."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from cli_run import TINY_TRAIN_SETS, set_args
from click.testing import CliRunner

import bruno_hil.cli.train  # noqa: F401  (registers the command)
from bruno_hil.cli import app
from bruno_hil.errors import BrunoHilError
from bruno_hil.training.loop import _rng_state, _set_rng_state, load_checkpoint

TINY = set_args(*TINY_TRAIN_SETS)


def _invoke(args: list[str]):
    return CliRunner().invoke(typer.main.get_command(app), ["train", *args])


class _Payload:
    """Unpickling this calls ``os.system`` (what a crafted checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_is_refused_without_running_its_code(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = _invoke(["--chip", "surrogate", "--out", str(run), *TINY, "--stop-after", "1"])
    assert first.exit_code == 0, first.output
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    marker = tmp_path / "code-ran"
    state["history"] = [_Payload(marker)]
    torch.save(state, run / "checkpoint.pt")
    result = _invoke(["--resume", str(run)])
    assert isinstance(result.exception, BrunoHilError), result.output
    assert "refused without running them" in str(result.exception)
    assert str(run / "checkpoint.pt") in str(result.exception)
    assert not marker.exists()


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(BrunoHilError, match="cannot read the checkpoint"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(BrunoHilError, match="not a checkpoint"):
        load_checkpoint(path)


def test_rng_states_survive_a_weights_only_round_trip(tmp_path: Path) -> None:
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's state
    random.gauss(0.0, 1.0)  # and in python's
    torch.save(_rng_state(), tmp_path / "rng.pt")
    expected = (random.random(), random.gauss(0, 1), np.random.standard_normal(3), torch.rand(3))
    _set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    got = (random.random(), random.gauss(0, 1), np.random.standard_normal(3), torch.rand(3))
    assert got[:2] == expected[:2]
    assert np.array_equal(got[2], expected[2]) and torch.equal(got[3], expected[3])


def test_a_pass_in_which_every_chip_simulation_fails_is_an_error(tmp_path: Path) -> None:
    """Every neuron simulation times out: the run stops with exit 2 instead of writing a
    0.0 loss, and chip_errors.txt holds ngspice's whole message, not its first line."""
    run = tmp_path / "run"
    sets = ["hil.surrogate_epochs=0", "hil.samples_per_epoch=2", "hil.timeout_s=1e-6"]
    sets.append("hil.layers=syn_out,output")
    args = [*TINY, *set_args(*sets)]
    result = _invoke(["--chip", "ngspice", "--out", str(run), *args])
    assert isinstance(result.exception, BrunoHilError), result.output
    message = str(result.exception)
    assert "every chip simulation of epoch 1's training pass failed" in message
    assert str(run / "chip_errors.txt") in message
    errors = (run / "chip_errors.txt").read_text().splitlines()
    assert errors and all("SimulationTimeoutError" in line for line in errors)
    # ngspice's log is kept, several of its lines, not the first only (whether its last
    # lines say "interrupted" depends on whether the halt came before the run's own end)
    said = errors[0].split("ngspice said: ", 1)[1]
    assert said.count(" | ") >= 2, errors[0]
    assert not (run / "checkpoint.pt").exists() and not (run / "metrics.csv").exists()


def test_resume_refuses_another_chip_unless_told(tmp_path: Path) -> None:
    run = tmp_path / "run"
    sets = ["hil.surrogate_epochs=2", "hil.workers=1"]  # the chip is opened, never run
    args = [*TINY, *set_args(*sets)]
    first = _invoke(["--chip", "ngspice", "--out", str(run), *args, "--stop-after", "1"])
    assert first.exit_code == 0, first.output
    refused = _invoke(["--resume", str(run), "--chip", "surrogate"])
    assert isinstance(refused.exception, BrunoHilError)
    assert "trains on --chip ngspice; --chip surrogate would change it" in str(refused.exception)
    assert "--change-chip" in str(refused.exception)
    told = _invoke(["--resume", str(run), "--chip", "surrogate", "--change-chip", "--json"])
    assert told.exit_code == 0, told.output
    assert '"epochs_done": 2' in told.output
