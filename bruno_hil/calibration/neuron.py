"""Neuron-level calibration: fit the surrogate FeLIF neuron, as training runs it, to the
chip's neuron circuit.

The chip's FeLIF circuit (:mod:`bruno_hil.chip.neuron_circuit`) adds what the device
equations do not have: a parasitic membrane capacitance, a comparator threshold with
hysteresis, a finite reset, a smoothed discharge; and training integrates the surrogate
with only ``n_inner`` fine steps per network step. Both shift spike times and the states
that BRUNO pins at the step boundaries. This module drives the chip with random
piecewise-constant currents, records spikes and V at the step boundaries (the chip's
undersampled observation), and fits the neuron-level parameters of the surrogate
(:data:`NEURON_FIT_NAMES`: ``c_par_F``, ``v_thr_V``, ``v_reset_V``) so that its fine
trajectory with the training's ``n_inner`` reproduces them. Spikes make the mismatch
piecewise constant in the parameters, so the fit is derivative-free (Nelder-Mead from
the prior) on the mean absolute V error at the step boundaries plus the mean absolute
spike-count error per trace (in units of one spike = 1 V). The chip-vs-surrogate fidelity
is reported before and after on held-out drives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from scipy.optimize import minimize

from bruno_hil.chip.fidelity import Fidelity
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.chip.recording import LayerRecording
from bruno_hil.devices.params import FeCapParams, ParameterError
from bruno_hil.physics.fecap import FeCapTensors, FeLIFState, fine_trajectory

NEURON_FIT_NAMES: tuple[str, ...] = ("c_par_F", "v_thr_V", "v_reset_V")
"""Neuron-level FeCapParams fields fitted to the circuit (the device's own parameters are
the device calibration's job)."""
_SCALES = {"c_par_F": 15e-15, "v_thr_V": 0.1, "v_reset_V": 0.1}
"""Step scale of each fitted field in the optimizer's coordinates."""


def random_drives_A(n_steps: int, n_traces: int, seed: int) -> np.ndarray:
    """[T, K] input currents [A]: piecewise constant per step, N(2.5 nA, 1.5 nA) clipped to
    0-6 nA (a trained layer's range: up to a few spikes per step)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(2.5e-9, 1.5e-9, (n_steps, n_traces)), 0.0, 6e-9)


def measure(chip: NgspiceChip, currents_A: np.ndarray, dt_s: float) -> LayerRecording:
    """The chip's output neuron 0 driven by each trace of ``currents_A`` [T, K] (one
    sample per trace): spikes per step and V, P at the step ends."""
    return chip.run_neurons("output", currents_A[:, :, None], dt_s, FeCapParams())


def surrogate_trace(
    params: FeCapParams, currents_A: np.ndarray, dt_s: float, n_inner: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surrogate's (V [V], P [C/m^2], spikes) [T, K] for the drives [T, K]."""
    d = FeCapTensors.from_params(params)
    currents = torch.from_numpy(currents_A)
    trace = fine_trajectory(
        FeLIFState.rest(d, tuple(currents.shape[1:])), currents, dt_s, n_inner, d
    )
    return trace.v_V.numpy(), trace.p_C_per_m2.numpy(), trace.spikes.numpy()


def fidelity(
    rec: LayerRecording, params: FeCapParams, currents_A: np.ndarray, dt_s: float, n_inner: int
) -> dict[str, float]:
    """Chip vs surrogate (see :class:`~bruno_hil.chip.fidelity.Fidelity`) on the
    recorded drives."""
    tally = Fidelity()
    v, p, s = surrogate_trace(params, currents_A, dt_s, n_inner)
    tally.add_neurons(
        (rec.v_V[:, :, 0], rec.p_C_per_m2[:, :, 0], rec.spikes[:, :, 0]), (v, p, s), ~rec.failed
    )
    return {k: v for k, v in tally.as_dict().items() if "crossbar" not in k}


@dataclass(frozen=True)
class NeuronFit:
    """The fitted surrogate neuron and the fidelity before (prior) and after, on the fit
    drives and on held-out drives."""

    params: FeCapParams
    prior: FeCapParams
    names: tuple[str, ...]
    n_inner: int
    n_steps: int
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    evaluations: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": "felif-neuron",
            "n_inner": self.n_inner,
            "n_steps": self.n_steps,
            "parameters": {
                name: {"value": getattr(self.params, name), "prior": getattr(self.prior, name)}
                for name in self.names
            },
            "fidelity_before": self.before,
            "fidelity_after": self.after,
            "evaluations": self.evaluations,
        }


def _loss(rec: LayerRecording, params: FeCapParams, currents: np.ndarray, dt_s: float, n: int):
    v, _, s = surrogate_trace(params, currents, dt_s, n)
    keep = ~rec.failed
    v_err = np.abs(v[:, keep] - rec.v_V[:, keep, 0]).mean()
    count_err = np.abs(s[:, keep].sum(0) - rec.spikes[:, keep, 0].sum(0)).mean()
    return float(v_err + count_err)


def fit_neuron(
    chip: NgspiceChip,
    prior: FeCapParams | None = None,
    *,
    n_inner: int,
    n_steps: int = 50,
    n_traces: int = 8,
    dt_s: float = 1e-3,
    names: tuple[str, ...] = NEURON_FIT_NAMES,
    seed: int = 0,
    max_evaluations: int = 120,
) -> NeuronFit:
    """Measure ``n_traces`` random drives of ``n_steps`` steps on ``chip`` (and as many
    held-out ones), fit ``names`` of the surrogate with ``n_inner`` inner steps (the
    training's ``network.n_inner``: the fit absorbs the inner steps' error, so it holds
    for that value only), and report the fidelity before and after."""
    prior = prior or FeCapParams()
    unknown = [n for n in names if n not in _SCALES]
    if unknown:
        raise ParameterError(
            f"neuron calibration: cannot fit {unknown}; choose from {list(_SCALES)}"
        )
    drives = {
        "fit": random_drives_A(n_steps, n_traces, seed),
        "heldout": random_drives_A(n_steps, n_traces, seed + 1),
    }
    recs = {key: measure(chip, currents, dt_s) for key, currents in drives.items()}
    if recs["fit"].failed.all():
        raise ParameterError("neuron calibration: every chip simulation failed")
    x0 = np.array([getattr(prior, n) for n in names])
    scales = np.array([_SCALES[n] for n in names])

    def params_at(z: np.ndarray) -> FeCapParams | None:
        try:
            return prior.replace(
                source="neuron fit", **dict(zip(names, x0 + z * scales, strict=True))
            )
        except ParameterError:
            return None  # outside the physical range: Nelder-Mead gets a large loss

    def objective(z: np.ndarray) -> float:
        params = params_at(z)
        if params is None:
            return 1e6
        return _loss(recs["fit"], params, drives["fit"], dt_s, n_inner)

    n = len(names)
    result = minimize(  # simplex: the prior and one scale step along each field
        objective,
        np.zeros(n),
        method="Nelder-Mead",
        options={
            "maxfev": max_evaluations,
            "xatol": 1e-2,
            "fatol": 1e-4,
            "initial_simplex": np.vstack([np.zeros(n), np.eye(n)]),
        },
    )
    fitted = params_at(result.x) or prior

    def report(params: FeCapParams) -> dict[str, dict[str, float]]:
        return {k: fidelity(recs[k], params, drives[k], dt_s, n_inner) for k in drives}

    return NeuronFit(
        params=fitted,
        prior=prior,
        names=tuple(names),
        n_inner=n_inner,
        n_steps=n_steps,
        before=report(prior),
        after=report(fitted),
        evaluations=int(result.nfev),
    )


def write_neuron_params(path: Path, fit: NeuronFit, source: str) -> Path:
    """The fitted FeCapParams (``train --device-params`` loads them) with the fit's notes."""
    content = {
        "FeCapParams": fit.params.as_dict(),
        "calibration": {"source": source, **fit.as_dict()},
    }
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def plot_neuron_fit(
    chip: NgspiceChip, fit: NeuronFit, path: Path, dt_s: float = 1e-3, seed: int = 1
) -> Path:
    """V at the step boundaries of two held-out drives: chip, surrogate before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    currents = random_drives_A(fit.n_steps, 2, seed + 100)
    rec = measure(chip, currents, dt_s)
    t_ms = np.arange(1, fit.n_steps + 1) * dt_s * 1e3
    fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for k, ax in enumerate(axes):
        ax.plot(t_ms, rec.v_V[:, k, 0], "k.-", label="chip (ngspice circuit)")
        for params, style, label in (
            (fit.prior, "C1--", "surrogate, prior"),
            (fit.params, "C0-", "surrogate, fitted"),
        ):
            v, _, _ = surrogate_trace(params, currents, dt_s, fit.n_inner)
            ax.plot(t_ms, v[:, k], style, label=label)
        ax.set_ylabel("V at step end [V]")
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("time [ms]")
    fig.suptitle(f"FeLIF neuron: chip vs surrogate (n_inner = {fit.n_inner}), held-out drives")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = [
    "NEURON_FIT_NAMES",
    "NeuronFit",
    "fidelity",
    "fit_neuron",
    "measure",
    "plot_neuron_fit",
    "random_drives_A",
    "surrogate_trace",
    "write_neuron_params",
]
