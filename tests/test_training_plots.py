"""The run's plots hold what a reader needs: units, legends, threshold and reset, the chip
epochs and chance marked, one representative sample; checked on the matplotlib objects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from tiny_run import TINY_SETS

from bruno_hil.devices import FeCapParams, LIFParams
from bruno_hil.training import load_config, loop, plots

DT_S = 0.5e-3


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_curves_mark_the_chip_epochs_and_chance() -> None:
    metrics = pd.DataFrame(
        {
            "epoch": [1, 2, 3, 4],
            "train_loss": [3.0, 2.5, 2.2, 2.1],
            "train_acc": [0.1, 0.2, 0.3, 0.35],
            "test_loss": [3.1, 2.6, 2.4, 2.3],
            "test_acc": [0.1, 0.2, 0.25, 0.3],
            "on_chip": [False, False, True, True],
            "surrogate_test_acc": [None, None, 0.3, 0.32],
        }
    )
    fig = plots.curves_figure(metrics, 1 / 27)
    ax_loss, ax_acc = fig.axes
    assert ax_acc.get_ylabel() == "accuracy" and ax_loss.get_xlabel() == "epoch"
    assert _legend(ax_acc) == [
        "train",
        "test",
        "test, surrogate (same weights)",
        "chance (0.037)",
        "on the chip",
    ]
    (span,) = ax_acc.patches
    assert span.get_x() == pytest.approx(2.5) and span.get_width() == pytest.approx(2.0)
    chance = ax_acc.get_lines()[3]
    assert list(chance.get_ydata()) == pytest.approx([1 / 27] * 2)
    surrogate = ax_acc.get_lines()[2]
    assert list(surrogate.get_xdata()) == [3, 4]


def test_a_surrogate_run_shades_nothing() -> None:
    metrics = pd.DataFrame(
        {"epoch": [1], "train_loss": [1.0], "train_acc": [0.5], "on_chip": [False]}
    )
    ax_acc = plots.curves_figure(metrics, 0.5).axes[1]
    assert len(ax_acc.patches) == 0 and "on the chip" not in _legend(ax_acc)


def test_the_representative_sample_is_correct_and_spiking() -> None:
    labels = torch.tensor([0, 1, 2, 0])
    scores = torch.tensor(
        [
            [0.0, 0.0, 0.0],  # silent: a tie is not an answer
            [3.0, 1.0, 0.0],  # wrong
            [0.0, 1.0, 2.0],  # correct and spiking
            [5.0, 0.0, 0.0],  # correct too, but later
        ]
    )
    spikes = torch.zeros(4, 4, 3)
    spikes[0, 1, 0] = spikes[1, 2, 2] = spikes[2, 2, 1] = spikes[0, 3, 0] = 1.0
    assert plots.representative_sample(scores, labels, spikes) == 2
    # no correct answer: the sample with the most output spikes
    assert plots.representative_sample(scores, torch.tensor([2, 2, 0, 1]), spikes) == 2
    assert [plots.answer(row) for row in scores] == [None, 0, 2, 0]


def _records(n_steps: int, v_low_V: float) -> dict[str, dict[str, torch.Tensor]]:
    v = torch.linspace(v_low_V, 2.0, n_steps)[:, None, None].repeat(1, 2, 4)
    spikes = torch.zeros(n_steps, 2, 4)
    spikes[3, 1, 2] = spikes[7, 1, 0] = 1.0
    return {"output": {"spikes": spikes, "v_V": v, "p_C_per_m2": v * 0.01}}


def test_raster_has_time_in_ms_a_colour_bar_and_the_verdict() -> None:
    inputs = torch.rand(10, 2, 5)
    fig = plots.raster_figure(inputs, _records(10, -1.0), 1, 2, 0, DT_S)
    panel, output, colorbar = fig.axes  # the colour bar's axes come last
    assert colorbar.get_ylabel() == plots.INPUT_LABEL
    assert panel.get_title() == "test sample 1: class 2 (wrong, answered 0)"
    assert output.get_xlabel() == "time [ms]" and output.get_xlim() == pytest.approx((0.0, 5.0))
    assert output.get_title() == "output spikes (2 in all)"
    offsets = output.collections[0].get_offsets()
    assert sorted(offsets[:, 0].tolist()) == pytest.approx([1.75, 3.75])  # mid-step, ms
    assert _legend(output) == ["true class 2"]
    silent = plots.raster_figure(inputs, _records(10, -1.0), 0, 2, None, DT_S).axes[0]
    assert silent.get_title() == "test sample 0: class 2 (no answer: tied scores)"


def test_traces_have_units_threshold_reset_and_the_clip_where_reached() -> None:
    params = {"output": FeCapParams()}
    fig = plots.traces_figure(_records(10, -5.0), params, 0, DT_S)
    membrane, polarization = fig.axes
    assert membrane.get_ylabel() == "membrane V [V]"
    assert polarization.get_ylabel() == "polarization P [C/m²]"
    assert _legend(membrane) == [
        "neuron 0",
        "neuron 1",
        "neuron 2",
        "threshold 2.5 V",
        "reset -1.5 V",
        "clip -5 V (model bound |V| ≤ v_clip_V)",
    ]
    assert _legend(polarization) == ["neuron 0", "neuron 1", "neuron 2"]
    assert membrane.get_xlabel() == "" and polarization.get_xlabel() == "time [ms]"
    assert membrane.get_lines()[0].get_xdata()[-1] == pytest.approx(5.0)
    above = plots.traces_figure(_records(10, -1.0), params, 0, DT_S).axes[0]
    assert not any(text.startswith("clip") for text in _legend(above))


def test_lif_traces_are_normalised() -> None:
    records = {"hidden": {"spikes": torch.zeros(5, 1, 2), "v": torch.zeros(5, 1, 2)}}
    (ax,) = plots.traces_figure(records, {"hidden": LIFParams()}, 0, DT_S).axes
    assert ax.get_ylabel() == "membrane v [normalised]"
    assert _legend(ax) == ["neuron 0", "neuron 1", "threshold 1", "reset 0"]


def test_a_run_plots_one_sample_throughout(tmp_path: Path, capsys) -> None:
    config = load_config(
        None,
        [*TINY_SETS, "training.epochs=1", "training.progress=false"],
    )
    trainer = loop.Trainer.create(config, tmp_path)
    trainer.fit()
    # without progress bars (training.progress=false) the epoch's line is still there
    assert "epoch 1/1 [surrogate] | train loss" in capsys.readouterr().err
    figures = trainer.plot()
    assert sorted(figures) == ["curves.png", "raster.png", "traces.png"]
    title = figures["raster.png"].axes[0].get_title()
    sample = title.split(":")[0]
    assert sample.startswith("test sample ")
    assert all(sample in ax.get_title() for ax in figures["traces.png"].axes)
    assert figures["raster.png"].axes[-2].get_xlim()[1] == pytest.approx(
        20 * config.data.dt_s * 1e3
    )
    assert (tmp_path / "raster.png").read_bytes()[:4] == b"\x89PNG"
