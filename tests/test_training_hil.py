"""Chip-in-the-loop training: the output layer runs in ngspice, BRUNO gives the gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hil_steps import chip_losses

from bruno_hil.training import loop
from bruno_hil.training.config import load_config
from bruno_hil.training.report import summary_table

TINY_HIL = [
    "chip=ngspice",
    "data.name=randman",
    "data.randman_classes=3",
    "data.randman_units=16",
    "data.n_steps=20",
    "data.samples_per_class=8",
    "data.max_test=null",
    "network.n_hidden=8",
    "network.input_scale_A=60e-9",
    "training.epochs=3",
    "training.batch_size=6",
    "training.lr=0.02",
    "training.progress=false",
    "hil.surrogate_epochs=0",
    "hil.samples_per_epoch=null",
    "hil.layers=syn_out,output",
    "hil.variability_cv=0",
]


def test_in_the_loop_steps_lower_the_chip_loss_of_a_batch() -> None:
    """Adamax steps with the chip's forward and BRUNO's backward fit one batch: its loss,
    measured on the chip, goes down."""
    config = load_config(None, TINY_HIL)
    data = loop.build_dataset(config.data)
    torch.manual_seed(0)
    net = loop.Network(config.network, data.n_inputs, data.n_classes, config.data.dt_s, "t")
    inputs, labels = data.batch("train", np.arange(6))
    chip = config.open_chip()
    try:
        losses = chip_losses(net, inputs, labels, chip, steps=6)
        assert chip.stats.samples == 6 * 6 and chip.stats.failed_samples == 0
    finally:
        chip.close()
    assert min(losses[-2:]) < losses[0], losses


def test_a_run_reports_chip_figures(tmp_path: Path) -> None:
    config = load_config(None, [*TINY_HIL, "training.epochs=1"])
    chip = config.open_chip()
    try:
        summary = loop.Trainer.create(config, tmp_path / "run", chip).fit()
    finally:
        chip.close()
    for key in ("surrogate_test_acc", "chip_surrogate_agreement", "spike_count_mae"):
        assert key in summary
    assert 0.0 <= summary["chip_surrogate_agreement"] <= 1.0
    assert summary["chip"]["chip_wall_s_per_sample"] > 0
    assert summary["chip"]["chip_failed_samples"] == 0
    # the output crossbar ran on the chip too, read once per forward pass (3 training
    # batches, 1 test batch, 1 for the plots) and reprogrammed after every optimizer step
    # and before the evaluation: at the reads of batches 1, 2, 3 and of the test batch
    assert summary["chip"]["chip_crossbar_reads"] == 3 + 1 + 1
    assert summary["chip"]["chip_programmings"] == 4
    # 4-bit programming of float weights: a few per cent of current error, not more
    assert 0.0 < summary["fidelity_crossbar_rel_err"] < 0.2
    assert summary["fidelity_v_median_abs_V"] < 0.5


def test_the_chip_takes_over_after_the_surrogate_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """... and the user sees it: a note when the chip phase starts, the surrogate-trained
    weights tested on the chip first (deployed), a line per epoch, the chip's samples
    counted inside its epoch, a summary table of chip vs surrogate and deployed."""
    config = load_config(
        None,
        [
            *TINY_HIL,
            "hil.surrogate_epochs=1",
            "training.epochs=2",
            "hil.samples_per_epoch=6",
            "training.progress=true",
        ],
    )
    chip = config.open_chip()
    try:
        summary = loop.Trainer.create(config, tmp_path / "run", chip).fit()
    finally:
        chip.close()
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["on_chip"].tolist() == [False, True]
    # the deployed test (the test set, before the loop), then the in-the-loop epoch: 6
    # training samples plus the test set on the chip
    n_test = len(loop.build_dataset(config.data).y_test)
    assert metrics["chip_samples"].iloc[-1] == n_test + 6 + n_test
    deployed = metrics["deployed_test_acc"]
    assert deployed.notna().tolist() == [True, False]  # recorded in the surrogate epoch's row
    assert summary["deployed_test_acc"] == deployed.iloc[0]
    # the surrogate on the chip's test inputs with the same weights is the epoch's own test
    assert metrics["deployed_surrogate_test_acc"].iloc[0] == metrics["test_acc"].iloc[0]

    err = capsys.readouterr().err
    lines = [line.split("\r")[-1].strip() for line in err.splitlines()]
    starts = ("epoch 1/2 [", "epoch 2/2 [", "chip phase", "deployed on")
    said = [line for line in lines if line.startswith(starts)]
    assert [line[:18] for line in said] == [
        "epoch 1/2 [surroga",
        "chip phase: from e",
        "deployed on the ng",
        "epoch 2/2 [chip] |",
    ]
    assert "syn_out, output runs on the ngspice chip (6 training samples per epoch" in said[1]
    assert f"test acc {deployed.iloc[0]:.3f} (surrogate" in said[2]
    assert f"test acc {metrics['test_acc'].iloc[-1]:.3f} (surrogate" in said[3]
    assert "chip output: sample 6/6" in err  # inside the training batch of 6
    assert f"chip output: sample {n_test}/{n_test}" in err  # inside the test batch

    table = summary_table(summary).splitlines()
    assert table[1].split() == ["chip", "surrogate"]
    assert table[2].split() == [
        "test",
        "accuracy",
        f"{summary['test_acc']:.3f}",
        f"{summary['surrogate_test_acc']:.3f}",
    ]
    assert table[3].split() == [
        "deployed,",
        "before",
        "the",
        "loop",
        f"{summary['deployed_test_acc']:.3f}",
        f"{summary['deployed_surrogate_test_acc']:.3f}",
    ]
    samples = str(2 * n_test + 6 + 4)
    assert any(line.split()[-1] == samples for line in table if "samples run" in line)


def test_a_resumed_run_tests_the_deployed_weights_once(tmp_path: Path) -> None:
    """Stopped after the surrogate epochs, the resumed run tests the deployed weights when
    its chip phase starts; a run resumed after that test does not repeat it."""
    config = load_config(None, [*TINY_HIL, "hil.surrogate_epochs=1", "training.epochs=2"])
    run = tmp_path / "run"
    chip = config.open_chip()
    try:
        first = loop.Trainer.create(config, run, chip)
        first.fit(stop_after=1)
        assert "deployed_test_acc" not in first.history[-1]  # the chip phase has not begun
        resumed = loop.Trainer.resume(run, chip)
        assert resumed._deployed_test_due()
        resumed._deployed_test(chip)
        again = loop.Trainer.resume(run, chip)  # e.g. after a Ctrl-C in the chip epoch
        assert "deployed_test_acc" in again.history[-1]
        assert not again._deployed_test_due()
    finally:
        chip.close()


def test_a_crossbar_only_chip_reports_its_programmings(tmp_path: Path) -> None:
    """With only the output crossbar on the chip (the main job's default) no neuron circuit
    runs: the table reports the crossbar's programmings and reads, not chip samples."""
    config = load_config(
        None, [*TINY_HIL, "hil.layers=syn_out", "hil.surrogate_epochs=1", "training.epochs=2"]
    )
    chip = config.open_chip()
    try:
        summary = loop.Trainer.create(config, tmp_path / "run", chip).fit()
    finally:
        chip.close()
    assert summary["chip"]["chip_samples"] == 0
    # programmed at the first read of a stale layer: for the deployed test, after each
    # training step but the last (the next batch reads it), for the final test
    data = loop.build_dataset(config.data)
    steps, tests = -(-len(data.y_train) // 6), -(-len(data.y_test) // 6)
    assert summary["chip"]["chip_programmings"] == 1 + (steps - 1) + 1
    # reads: two test passes, the training batches, the plot's forward pass
    assert summary["chip"]["chip_crossbar_reads"] == 2 * tests + steps + 1
    table = summary_table(summary)
    assert "samples run" not in table
    (row,) = [line for line in table.splitlines() if "crossbar programmings, reads" in line]
    assert row.split()[-2:] == [
        f"{summary['chip']['chip_programmings']},",
        str(summary["chip"]["chip_crossbar_reads"]),
    ]
    assert "deployed_test_acc" in summary and "fidelity_crossbar_rel_err" in summary
