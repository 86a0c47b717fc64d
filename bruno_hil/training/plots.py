"""Plots of a run (matplotlib figures, PNG): learning curves with the chip phase and chance
marked, a spike raster of one representative test sample, and the membrane/polarization
traces of a few of its neurons with threshold and reset. Time is in ms throughout.

Each ``*_figure`` function returns a :class:`~matplotlib.figure.Figure` (no pyplot state),
:func:`save` writes one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bruno_hil.devices import FeCapParams, LIFParams

STATE_LABELS: dict[str, str] = {
    "v_V": "membrane V [V]",
    "p_C_per_m2": "polarization P [C/m²]",
    "v": "membrane v [normalised]",
    "i_syn": "synaptic current [normalised]",
}
"""Axis label of each recorded neuron state."""

INPUT_LABEL = "input drive x [unitless]"
"""Colour-bar label of the input panel (a crossbar row current is input_scale_A · W · x)."""


def save(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG (100 dpi)."""
    fig.savefig(path, dpi=100)


def _chip_span(ax: Axes, metrics: pd.DataFrame) -> None:
    """Shade the epochs whose forward pass ran on the chip."""
    if "on_chip" not in metrics:
        return
    chip = metrics.loc[metrics["on_chip"].astype(bool), "epoch"]
    if len(chip):
        ax.axvspan(
            chip.min() - 0.5, chip.max() + 0.5, color="tab:orange", alpha=0.15, label="on the chip"
        )


def curves_figure(metrics: pd.DataFrame, chance: float) -> Figure:
    """Loss and accuracy per epoch (train, test, and the surrogate on the chip's test; the
    surrogate-trained weights deployed on the chip, a star), the chip epochs shaded, chance
    accuracy (1 / classes) dashed."""
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split in ("train", "test"):
        if f"{split}_loss" in metrics:
            rows = metrics.dropna(subset=[f"{split}_loss"])
            ax_loss.plot(rows["epoch"], rows[f"{split}_loss"], marker="o", label=split)
            ax_acc.plot(rows["epoch"], rows[f"{split}_acc"], marker="o", label=split)
    if "surrogate_test_acc" in metrics:
        rows = metrics.dropna(subset=["surrogate_test_acc"])
        ax_acc.plot(
            rows["epoch"],
            rows["surrogate_test_acc"],
            marker="x",
            ls="--",
            label="test, surrogate (same weights)",
        )
    if "deployed_test_acc" in metrics:
        rows = metrics.dropna(subset=["deployed_test_acc"])
        ax_acc.plot(
            rows["epoch"],
            rows["deployed_test_acc"],
            marker="*",
            ms=11,
            ls="none",
            color="black",
            label="test on the chip, deployed (before the loop)",
        )
    ax_acc.axhline(chance, color="grey", ls=":", label=f"chance ({chance:.3f})")
    for ax in (ax_loss, ax_acc):
        _chip_span(ax, metrics)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8)
    return fig


def answer(scores: torch.Tensor) -> int | None:
    """The class of the highest of ``scores`` [classes]; None when the highest ties."""
    top = torch.nonzero(scores == scores.max())
    return int(top[0, 0]) if len(top) == 1 else None


def representative_sample(
    scores: torch.Tensor, labels: torch.Tensor, out_spikes: torch.Tensor
) -> int:
    """Index of the first sample that is classified correctly (its class's score strictly
    the highest) and made the output spike; else the one with the most output spikes.
    ``scores`` [B, classes], ``labels`` [B], ``out_spikes`` [T, B, classes]."""
    counts = out_spikes.sum(dim=(0, 2))
    own = scores.gather(1, labels[:, None])[:, 0]
    others = scores.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    good = torch.nonzero((own > others) & (counts > 0))
    return int(good[0, 0]) if len(good) else int(counts.argmax())


def raster_figure(
    inputs: torch.Tensor,
    records: dict[str, dict[str, torch.Tensor]],
    sample: int,
    label: int,
    predicted: int | None,
    dt_s: float,
) -> Figure:
    """Input drive (colour, with its bar) and the spikes of each neuron layer of test sample
    ``sample`` (batch index), time in ms; ``label``/``predicted``: its class and the
    network's answer (None: no answer, the highest scores tie); ``dt_s``: the step [s]."""
    n_steps = inputs.shape[0]
    t_end_ms = n_steps * dt_s * 1e3
    panels = ["input", *records]
    fig = Figure(figsize=(7.5, 2.2 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    image = axes[0].imshow(
        inputs[:, sample].T.numpy(),
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(0.0, t_end_ms, -0.5, inputs.shape[2] - 0.5),
        interpolation="nearest",
    )
    fig.colorbar(image, ax=axes[0], label=INPUT_LABEL)
    verdict = (
        "no answer: tied scores"
        if predicted is None
        else "correct"
        if predicted == label
        else f"wrong, answered {predicted}"
    )
    axes[0].set(ylabel="input channel", title=f"test sample {sample}: class {label} ({verdict})")
    for ax, name in zip(axes[1:], records, strict=True):
        spikes = records[name]["spikes"][:, sample]
        t, n = torch.nonzero(spikes, as_tuple=True)
        ax.scatter((t.numpy() + 0.5) * dt_s * 1e3, n.numpy(), s=16, c="k", marker="|")
        if name == "output":
            ax.axhline(label, color="tab:green", lw=4, alpha=0.25, label=f"true class {label}")
            ax.legend(fontsize=7, loc="upper right")
        ax.set(
            ylabel="neuron",
            ylim=(-0.5, spikes.shape[1] - 0.5),
            title=f"{name} spikes ({int(spikes.sum())} in all)",
        )
    axes[-1].set(xlabel="time [ms]", xlim=(0.0, t_end_ms))
    return fig


def _levels(params: FeCapParams | LIFParams, key: str) -> list[tuple[float, str, str]]:
    """(value, label, line style) of the threshold, reset and clip of state ``key``."""
    if isinstance(params, FeCapParams) and key == "v_V":
        return [
            (params.v_thr_V, f"threshold {params.v_thr_V:g} V", "--"),
            (params.v_reset_V, f"reset {params.v_reset_V:g} V", ":"),
            (-params.v_clip_V, f"clip -{params.v_clip_V:g} V (model bound |V| ≤ v_clip_V)", "-."),
        ]
    if isinstance(params, LIFParams) and key == "v":
        return [
            (params.v_thr, f"threshold {params.v_thr:g}", "--"),
            (params.v_reset, f"reset {params.v_reset:g}", ":"),
        ]
    return []


def traces_figure(
    records: dict[str, dict[str, torch.Tensor]],
    params: dict[str, FeCapParams | LIFParams],
    sample: int,
    dt_s: float,
    n_neurons: int = 3,
) -> Figure:
    """Recorded states of the first ``n_neurons`` neurons of each layer for test sample
    ``sample``, time in ms (``dt_s``: the step [s]), with each layer's threshold and reset
    (``params``: the layer's neuron parameters) on its membrane panel and the clip bound
    where a trace reaches it."""
    states = [(name, key) for name, rec in records.items() for key in rec if key != "spikes"]
    fig = Figure(figsize=(7.5, 2.4 * max(1, len(states))), layout="constrained")
    axes = fig.subplots(len(states), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, key) in zip(axes, states, strict=True):
        value = records[name][key][:, sample].numpy()
        t_ms = (np.arange(value.shape[0]) + 1) * dt_s * 1e3  # recorded at each step's end
        for k in range(min(n_neurons, value.shape[1])):
            ax.plot(t_ms, value[:, k], lw=1, label=f"neuron {k}")
        low = float(value[:, :n_neurons].min())
        for level, text, style in _levels(params[name], key):
            if text.startswith("clip") and low > level + 1e-9:
                continue
            ax.axhline(level, color="grey", ls=style, lw=1, label=text)
        ax.set(ylabel=STATE_LABELS.get(key, key), title=f"{name} layer, test sample {sample}")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    axes[-1].set_xlabel("time [ms]")
    return fig
