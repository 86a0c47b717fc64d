"""Chip vs surrogate: how far the chip's recordings lie from the model's prediction of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Fidelity:
    """Chip vs surrogate on the same samples and weights, collected over reads: the
    absolute errors of neuron V [V] and P [C/m^2] at the step boundaries and of the spike
    counts per (sample, neuron) over the whole sample; the crossbars' absolute current
    error and current magnitude. Failed samples are left out; a quantity the chip does not
    observe (NaN in its recording) reports NaN."""

    v_abs_V: list[np.ndarray] = field(default_factory=list)
    p_abs_C_per_m2: list[np.ndarray] = field(default_factory=list)
    count_abs: list[np.ndarray] = field(default_factory=list)
    current_abs_err: float = 0.0
    current_abs: float = 0.0

    def add_neurons(
        self, chip: Sequence[np.ndarray], surrogate: Sequence[np.ndarray], keep: np.ndarray
    ) -> None:
        """Add a layer's [T, B, N] traces, each given as (``v_V``, ``p_C_per_m2``,
        ``spikes``), of the samples ``keep`` [B]."""
        v_c, p_c, s_c = (np.asarray(a)[:, keep] for a in chip)
        v_s, p_s, s_s = (np.asarray(a)[:, keep] for a in surrogate)
        self.v_abs_V.append(np.abs(v_c - v_s).ravel())
        self.p_abs_C_per_m2.append(np.abs(p_c - p_s).ravel())
        self.count_abs.append(np.abs(s_c.sum(0) - s_s.sum(0)).ravel())

    def add_currents(self, chip: np.ndarray, surrogate: np.ndarray, keep: np.ndarray) -> None:
        """Add a crossbar's [T, B, outputs] currents of the samples ``keep`` [B]."""
        self.current_abs_err += float(np.abs(chip[:, keep] - surrogate[:, keep]).sum())
        self.current_abs += float(np.abs(surrogate[:, keep]).sum())

    def as_dict(self) -> dict[str, float]:
        """V [V] and P [C/m^2] error at the step boundaries (RMS and median: one spike on
        the other side of a boundary moves V by ~4 V, so the RMS is dominated by such
        boundary cases and the median shows the typical trace error), mean absolute
        spike-count error per neuron and sample, and the crossbars' relative current error
        (sum |chip - surrogate| / sum |surrogate|); NaN where nothing was measured."""
        nan = float("nan")
        out: dict[str, float] = {}
        for key, parts in (("v", self.v_abs_V), ("p", self.p_abs_C_per_m2)):
            unit = "V" if key == "v" else "C_per_m2"
            err = np.concatenate(parts) if parts else np.empty(0)
            out[f"fidelity_{key}_rmse_{unit}"] = (
                float(np.sqrt(np.mean(err**2))) if err.size else nan
            )
            out[f"fidelity_{key}_median_abs_{unit}"] = float(np.median(err)) if err.size else nan
        counts = np.concatenate(self.count_abs) if self.count_abs else np.empty(0)
        out["fidelity_neuron_count_mae"] = float(counts.mean()) if counts.size else nan
        out["fidelity_crossbar_rel_err"] = (
            self.current_abs_err / self.current_abs if self.current_abs else nan
        )
        return out


__all__ = ["Fidelity"]
