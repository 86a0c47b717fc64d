"""Plots of a run (matplotlib, Agg backend, PNG): learning curves, a spike raster of one
test sample, and membrane/polarization traces of a few neurons."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import torch


def plot_curves(metrics: pd.DataFrame, path: Path) -> None:
    """Loss and accuracy per epoch, train and test."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for split in ("train", "test"):
        if f"{split}_loss" in metrics:
            rows = metrics.dropna(subset=[f"{split}_loss"])
            ax_loss.plot(rows["epoch"], rows[f"{split}_loss"], marker="o", label=split)
            ax_acc.plot(rows["epoch"], rows[f"{split}_acc"], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_raster(
    inputs: torch.Tensor, records: dict[str, dict[str, torch.Tensor]], label: int, path: Path
) -> None:
    """Input drive and hidden/output spikes of batch element 0 (time in ms)."""
    panels = [("input drive", inputs[:, 0])] + [
        (f"{name} spikes", rec["spikes"][:, 0]) for name, rec in records.items()
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True)
    for ax, (title, data) in zip(axes, panels, strict=True):
        if title == "input drive":
            ax.imshow(data.T.numpy(), aspect="auto", origin="lower", cmap="viridis")
        else:
            t, n = torch.nonzero(data, as_tuple=True)
            ax.scatter(t.numpy(), n.numpy(), s=3, c="k")
            ax.set_ylim(-0.5, data.shape[1] - 0.5)
        ax.set(ylabel="neuron", title=title)
    axes[0].set_title(f"input drive (class {label})")
    axes[-1].set_xlabel("time step (dt)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_traces(
    records: dict[str, dict[str, torch.Tensor]], dt_s: float, path: Path, n_neurons: int = 3
) -> None:
    """Recorded states (membrane voltage, polarization) of the first ``n_neurons`` neurons of
    each layer, batch element 0, against time in ms."""
    states = [
        (name, key, value)
        for name, rec in records.items()
        for key, value in rec.items()
        if key != "spikes"
    ]
    fig, axes = plt.subplots(
        len(states), 1, figsize=(7, 2.2 * max(1, len(states))), sharex=True, squeeze=False
    )
    for ax, (name, key, value) in zip(axes[:, 0], states, strict=True):
        t_ms = torch.arange(value.shape[0]) * dt_s * 1e3
        for k in range(min(n_neurons, value.shape[2])):
            ax.plot(t_ms.numpy(), value[:, 0, k].numpy(), lw=1, label=f"neuron {k}")
        ax.set(ylabel=key, title=f"{name} layer")
    axes[0, 0].legend(fontsize=7)
    axes[-1, 0].set_xlabel("time [ms]")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
