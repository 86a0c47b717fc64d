"""What a run tells its user in words: one line per epoch, a note when the chip phase
starts, and the final summary as a small table (``--json`` prints the raw figures)."""

from __future__ import annotations

import math
from typing import Any

from bruno_hil.chip import Chip
from bruno_hil.chip.layers import NEURON_LAYERS
from bruno_hil.training.config import RunConfig


def _acc(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    """One finished epoch (a ``metrics.csv`` row): where its forward pass ran, train loss and
    accuracy, test accuracy (and the surrogate's on the chip's test) and its time [s]."""
    where = "chip" if row.get("on_chip") else "surrogate"
    parts = [
        f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs} [{where}]",
        f"train loss {row['train_loss']:.3f} acc {_acc(row['train_acc'])}",
    ]
    if "test_acc" in row:
        test = f"test acc {_acc(row['test_acc'])}"
        if "surrogate_test_acc" in row:
            test += f" (surrogate {_acc(row['surrogate_test_acc'])})"
        parts.append(test)
    parts.append(f"train {row['epoch_time_s']:.1f} s")
    return " | ".join(parts)


def deployed_line(row: dict[str, Any], chip: str) -> str:
    """The deployed test's result (the ``deployed_*`` figures of a metrics row)."""
    return (
        f"deployed on the {chip} chip (the surrogate-trained weights, before any step in the"
        f" loop): test acc {_acc(row['deployed_test_acc'])}"
        f" (surrogate {_acc(row['deployed_surrogate_test_acc'])},"
        f" agreement {_acc(row['deployed_chip_surrogate_agreement'])})"
    )


def chip_phase_message(config: RunConfig, chip: Chip, first_epoch: int) -> str:
    """The note printed when the chip takes over the forward pass at ``first_epoch``
    (1-based)."""
    samples = config.hil.samples_per_epoch
    per_epoch = "all training samples" if samples is None else f"{samples} training samples"
    if any(name in NEURON_LAYERS for name in chip.layers):
        cost = "each sample is a circuit simulation or measurement, so these epochs are much slower"
    else:
        every = config.hil.program_every
        cost = (
            f"the crossbars are reprogrammed every {every} optimizer"
            f" step{'s' if every > 1 else ''} and before each test"
        )
    return (
        f"chip phase: from epoch {first_epoch} of {config.training.epochs} the forward pass"
        f" of {', '.join(chip.layers)} runs on the {chip.name} chip ({per_epoch} per epoch,"
        f" then the whole test set on the chip); {cost}"
    )


def _row(label: str, *cells: str) -> str:
    return f"  {label:<34}" + "".join(f"{cell:>11}" for cell in cells)


BASELINE_LABELS: dict[str, str] = {
    "nearest_neighbour_acc": "1-nearest neighbour",
    "logistic_regression_acc": "logistic regression",
    "nearest_class_mean_acc": "nearest class mean",
}
"""The table's name of each simple classifier (:mod:`bruno_hil.datasets.baselines`)."""


def summary_table(summary: dict[str, Any]) -> str:
    """The final figures of :meth:`~bruno_hil.training.Trainer.summary` as a table: test
    accuracy on the chip next to the surrogate's on the same weights and inputs, simple
    classifiers on the same split, the chip's agreement and fidelity, and its time and
    failures."""
    state = "complete" if summary["complete"] else "stopped, resumable"
    lines = [
        f"run {summary['run_dir']}: {summary['epochs_done']}/{summary['epochs']} epochs"
        f" ({state}); {summary['neuron']} neurons, {summary['n_train']} train /"
        f" {summary['n_test']} test samples, chance {_acc(summary['chance'])}",
    ]
    on_chip = "surrogate_test_acc" in summary
    if on_chip:
        lines.append(_row("", "chip", "surrogate"))
        lines.append(
            _row("test accuracy", _acc(summary["test_acc"]), _acc(summary["surrogate_test_acc"]))
        )
        if "deployed_test_acc" in summary:
            lines.append(
                _row(
                    "  deployed, before the loop",
                    _acc(summary["deployed_test_acc"]),
                    _acc(summary["deployed_surrogate_test_acc"]),
                )
            )
    else:
        lines.append(_row("", "surrogate"))
        lines.append(_row("test accuracy", _acc(summary["test_acc"])))
    lines += [
        _row("best test accuracy (any epoch)", _acc(summary["best_test_acc"])),
        _row("last train accuracy", _acc(summary["train_acc"])),
        _row("training time [s]", f"{summary['train_time_s']:.1f}"),
    ]
    if summary.get("baselines"):
        lines.append(_row("same split, simple classifiers"))
        lines += [
            _row(f"  {BASELINE_LABELS[key]}", _acc(acc))
            for key, acc in summary["baselines"].items()
        ]
    if on_chip:
        lines += [
            _row("prediction agreement chip/surr.", _acc(summary["chip_surrogate_agreement"])),
            _row("output spike-count error", f"{summary['spike_count_mae']:.2f}"),
        ]
        for key, label, unit in (
            ("fidelity_v_rmse_V", "membrane V rmse", "V"),
            ("fidelity_p_rmse_C_per_m2", "polarization P rmse", "C/m^2"),
            ("fidelity_crossbar_rel_err", "crossbar current rel. error", ""),
        ):
            if key in summary and not math.isnan(summary[key]):
                lines.append(_row(f"{label}{f' [{unit}]' if unit else ''}", f"{summary[key]:.3g}"))
    chip = summary.get("chip")
    if chip:
        if chip["chip_samples"]:
            lines += [
                _row("chip samples run (neuron circuits)", str(chip["chip_samples"])),
                _row("chip time [s] (per sample)", f"{chip['chip_wall_s']:.1f}")
                + f" ({chip['chip_wall_s_per_sample']:.2f})",
                _row("chip failed samples (retried runs)", str(chip["chip_failed_samples"]))
                + f" ({chip['chip_retried_runs']})",
            ]
        if chip["chip_programmings"]:
            lines += [
                _row("crossbar programmings, reads", str(chip["chip_programmings"]))
                + f", {chip['chip_crossbar_reads']}",
                _row("crossbar time [s]", f"{chip['chip_crossbar_wall_s']:.1f}"),
            ]
        if on_chip:
            lines.append(
                _row("failed test samples (last test)", str(summary["chip_failed_test_samples"]))
            )
    return "\n".join(lines)


__all__ = ["BASELINE_LABELS", "chip_phase_message", "deployed_line", "epoch_line", "summary_table"]
