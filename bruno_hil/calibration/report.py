"""Reporting a calibration: metrics per curve, parameters with uncertainties and
correlations, the overlay plot of data and fit, and the fitted-parameters file.

The parameters file is YAML with the parameter class's name as the key of the full
parameter set, which :meth:`~bruno_hil.devices.params.DeviceParams.from_file` loads (so
``characterize --device-params`` and ``train`` accept it), plus a ``calibration`` section
that says which fields were fitted (with their 1-sigma uncertainties, local and jackknife:
:data:`SIGMA_NOTE`) and which were held at the prior and why.

Some fitted quantities belong to the measurement set-up, not to the device: the P-V
bench's capacitance in parallel with the FeCap (the fixture, probes and cables) is fitted
as ``c_par_F`` alongside the ferroelectric, but the neuron's ``c_par_F`` is its membrane
node's parasitic. Such :data:`BENCH_FIELDS` are written to a ``bench:`` section and the
device set keeps the prior's value, so that ``train --device-params`` never turns a
fixture into a neuron (``calibrate neuron`` fits the neuron's own).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import yaml
from matplotlib.figure import Figure

from bruno_hil.calibration.fecap import OFFSET, FeCapFit
from bruno_hil.calibration.fit import FitResult
from bruno_hil.calibration.rram import PulseTrain, RRAMFit, Sweep, measured_current_A
from bruno_hil.characterize.plots import C_PER_M2_TO_UC_PER_CM2, save_png
from bruno_hil.devices.params import DeviceParams


def curve_metrics(
    y: np.ndarray, prediction: np.ndarray, curves: Sequence[str] | np.ndarray | None = None
) -> list[dict[str, Any]]:
    """RMSE (in the data's unit) and R^2 of each curve (rows sharing a label in
    ``curves``; one curve ``all`` without labels)."""
    y, prediction = np.asarray(y, dtype=np.float64), np.asarray(prediction, dtype=np.float64)
    labels = np.asarray(curves if curves is not None else ["all"] * y.size).astype(str)
    out = []
    for label in dict.fromkeys(labels.tolist()):
        k = labels == label
        r = prediction[k] - y[k]
        sst = float(np.sum((y[k] - y[k].mean()) ** 2))
        out.append(
            {
                "curve": label,
                "points": int(k.sum()),
                "rmse": float(np.sqrt(np.mean(r**2))),
                "r2": 1.0 - float(np.sum(r**2)) / sst if sst > 0 else math.nan,
            }
        )
    return out


def parameter_table(
    result: FitResult, prior: DeviceParams, units: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per parameter: value, 1-sigma (``sigma``, the larger of ``sigma_local`` and
    ``sigma_jackknife``: :data:`SIGMA_NOTE`) and its relative size, prior, unit, and status
    (``fitted``, ``held``, or ``fitted, not identifiable`` when elimination was off; with
    the reason)."""
    out: dict[str, dict[str, Any]] = {}
    for name in result.names:
        unit = (units or {}).get(name) or (
            prior.spec(name)["unit"] if name in prior.names() else ""
        )
        held = name in result.held
        value = result.values[name]
        sigma = result.sigma_honest[name]
        entry: dict[str, Any] = {
            "value": value,
            "sigma": None if held else sigma,
            "rel_sigma": None if held or value == 0.0 else abs(sigma / value),
            "sigma_local": None if held else result.sigma[name],
            "sigma_jackknife": None if held else result.sigma_jackknife[name],
            "prior": getattr(prior, name) if name in prior.names() else None,
            "unit": unit,
            "status": "held" if held else "fitted",
        }
        if held:
            entry["reason"] = f"not identifiable: {result.held[name]}"
        elif name in result.not_identifiable:  # only when the fit did not eliminate
            entry["status"] = "fitted, not identifiable"
            entry["reason"] = result.not_identifiable[name]
        out[name] = entry
    return out


SIGMA_NOTE = (
    "sigma = the larger of sigma_local and sigma_jackknife (1-sigma, the parameter's unit)."
    " sigma_local: linearised, s^2 (J^T J)^-1, right for white noise of one size from the"
    " fitted model itself; sigma_jackknife: linearised delete-a-block jackknife (blocks of"
    " jackknife_block_points), which also holds for residuals of different sizes, correlated"
    " neighbours and a few points that pull the fit. Neither covers a model error that the"
    " parameters absorb (see calibration/README.md)."
)
"""What the two uncertainties of a report and a params file are."""


def correlations(result: FitResult) -> dict[str, Any]:
    """The correlation matrix of the fitted parameters, with their names."""
    return {"names": list(result.fitted), "matrix": np.round(result.correlation, 4).tolist()}


def fit_summary(result: FitResult) -> dict[str, Any]:
    """The optimizer's side of the story: starts, evaluations, rounds, convergence."""
    return {
        "fitted": list(result.fitted),
        "held": dict(result.held),
        "starts": result.n_starts,
        "model_evaluations": result.nfev,
        "elimination_rounds": len(result.history),
        "jackknife_block_points": result.jackknife_block,
        "uncertainty_note": SIGMA_NOTE,
        "converged": result.success,
        "message": result.message,
    }


def fecap_report(fit: FeCapFit, prior: DeviceParams, curves: Sequence[str] | None = None) -> dict:
    """The report of a FeCap fit (JSON-ready)."""
    area = fit.params.area_m2
    return {
        "device": "fecap",
        "points": int(fit.charge_C.size),
        "substeps": fit.substeps,
        "metrics": {
            "charge_C": curve_metrics(fit.charge_C, fit.result.prediction, curves),
            "polarization_C_per_m2": curve_metrics(
                fit.charge_C / area, fit.result.prediction / area, curves
            ),
        },
        "parameters": parameter_table(fit.result, prior, {OFFSET: "C"}),
        "correlations": correlations(fit.result),
        "fit": fit_summary(fit.result),
    }


def rram_report(fit: RRAMFit, prior: DeviceParams, curves: Sequence[str] | None = None) -> dict:
    """The report of an RRAM fit (JSON-ready): metrics per curve (``curves``, else per
    experiment) on the current [A] and on the ``asinh(I/current_floor_A)`` scale the fit
    compares, and what each experiment was."""
    y = np.arcsinh(fit.current_A / fit.current_floor_A)
    curves = curves if curves is not None else fit.labels.tolist()
    return {
        "device": "rram",
        "points": int(fit.current_A.size),
        "experiments": [
            {
                "name": e.name,
                "kind": "pulse train" if isinstance(e, PulseTrain) else "I-V sweep",
                "points": int(measured_current_A(e).size),
            }
            for e in fit.experiments
        ],
        "current_floor_A": fit.current_floor_A,
        "metrics": {
            "current_A": curve_metrics(fit.current_A, fit.predicted_current_A, curves),
            "asinh_current": curve_metrics(y, fit.result.prediction, curves),
        },
        "parameters": parameter_table(fit.result, prior),
        "correlations": correlations(fit.result),
        "fit": fit_summary(fit.result),
    }


BENCH_FIELDS: dict[str, tuple[str, ...]] = {"FeCapParams": ("c_par_F",), "RRAMParams": ()}
"""Per parameter class, the fitted fields that describe the bench (see the module)."""


def write_params(
    path: Path, params: DeviceParams, result: FitResult, source: str, prior: DeviceParams
) -> Path:
    """Write the fitted parameter set (see the module) as YAML: the device's fields, with
    its :data:`BENCH_FIELDS` at the ``prior``'s values and their fitted values under
    ``bench:``."""
    bench = {
        name: getattr(params, name)
        for name in BENCH_FIELDS.get(type(params).__name__, ())
        if name in result.fitted
    }
    device = params.replace(**{name: getattr(prior, name) for name in bench})
    content = {
        type(params).__name__: device.as_dict(),
        **({"bench": bench} if bench else {}),
        "calibration": {
            "source": source,
            "fitted": {
                name: {
                    "value": result.values[name],
                    "sigma": result.sigma_honest[name],
                    "sigma_local": result.sigma[name],
                    "sigma_jackknife": result.sigma_jackknife[name],
                }
                for name in result.fitted
                if name in params.names()
            },
            "jackknife_block_points": result.jackknife_block,
            "uncertainty_note": SIGMA_NOTE,
            "held_at_prior": dict(result.held),
            **(
                {
                    "bench_note": f"{', '.join(bench)}: fitted as the bench's (the fixture"
                    " in parallel with the device), not the device's; the device keeps the"
                    " prior's value"
                }
                if bench
                else {}
            ),
        },
    }
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


DATA_COLOR = "0.45"
"""Colour of the measured points of a single data set (grey)."""
FIT_COLOR = "k"
"""Colour of the fitted curves (black; several data sets have their own colours)."""


def _residual_axis(ax: Any, x: np.ndarray, r: np.ndarray, xlabel: str, ylabel: str) -> None:
    ax.plot(x, r, ".", ms=2, color="tab:red")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def fecap_overlay_figure(fit: FeCapFit) -> Figure:
    """Measured (grey points) and fitted (black line) Q/A [uC/cm^2] vs V, and the residual
    [uC/cm^2] vs time [us]."""
    scale = C_PER_M2_TO_UC_PER_CM2 / fit.params.area_m2
    fig, (ax, ax_r) = plt.subplots(2, 1, figsize=(6.0, 6.5), height_ratios=(3, 1.3))
    ax.plot(fit.voltage_V, fit.charge_C * scale, ".", ms=2, color=DATA_COLOR, label="data")
    ax.plot(fit.voltage_V, fit.result.prediction * scale, "-", lw=1.2, color=FIT_COLOR, label="fit")
    ax.set_xlabel("V [V]")
    ax.set_ylabel("Q/A [uC/cm$^2$]")
    ax.set_title("FeCap calibration: data vs fitted surrogate")
    ax.legend(fontsize=8)
    residual = (fit.result.prediction - fit.charge_C) * scale
    _residual_axis(ax_r, fit.time_s * 1e6, residual, "time [us]", "fit - data [uC/cm$^2$]")
    return fig


def plot_fecap_overlay(fit: FeCapFit, path: Path) -> Path:
    """:func:`fecap_overlay_figure` as a PNG."""
    return save_png(fecap_overlay_figure(fit), path)


def rram_overlay_figure(fit: RRAMFit) -> Figure:
    """Measured |I| [A] (log; points, one colour per experiment) and the fit (black lines)
    vs V of the I-V sweeps, the read conductance [S] vs pulse number of the pulse trains,
    and the residual of every point on the fit's asinh scale."""
    sweeps = [
        (e, p)
        for e, p in zip(fit.experiments, fit.predicted_A, strict=True)
        if isinstance(e, Sweep)
    ]
    trains = [
        (e, p)
        for e, p in zip(fit.experiments, fit.predicted_A, strict=True)
        if isinstance(e, PulseTrain)
    ]
    panels = [kind for kind, items in (("sweeps", sweeps), ("pulses", trains)) if items]
    fig, axes = plt.subplots(
        len(panels) + 1,
        1,
        figsize=(6.0, 3.2 * len(panels) + 2.0),
        height_ratios=[3] * len(panels) + [1.3],
    )
    for ax, kind in zip(axes, panels, strict=False):
        for k, (e, pred) in enumerate(sweeps if kind == "sweeps" else trains):
            fit_label = "fit" if k == 0 else None
            if isinstance(e, Sweep):
                ax.semilogy(
                    e.voltage_V,
                    np.abs(e.current_A),
                    ".",
                    ms=3,
                    color=f"C{k}",
                    label=f"data: {e.name}",
                )
                ax.semilogy(
                    e.voltage_V, np.abs(pred), "-", lw=1.0, color=FIT_COLOR, label=fit_label
                )
            else:
                n = np.arange(1, pred.size + 1)
                v_read = e.cell_read_voltage_V
                ax.semilogy(
                    n, e.read_current_A / v_read, "o", ms=3, color=f"C{k}", label=f"data: {e.name}"
                )
                ax.semilogy(n, pred / v_read, "-", lw=1.0, color=FIT_COLOR, label=fit_label)
        if kind == "sweeps":
            ax.set_xlabel("V [V]")
            ax.set_ylabel("|I| [A]")
            ax.set_ylim(bottom=0.1 * fit.current_floor_A)  # the asinh fit does not resolve below
        else:
            ax.set_xlabel("pulse number")
            ax.set_ylabel("read conductance [S]")
        ax.legend(fontsize=7)
    axes[0].set_title("RRAM calibration: data vs fitted surrogate")
    y = np.arcsinh(fit.current_A / fit.current_floor_A)
    points = np.arange(y.size)
    _residual_axis(
        axes[-1],
        points,
        fit.result.prediction - y,
        "point (experiments end to end)",
        f"fit - data\n[asinh(I / {fit.current_floor_A:.0e} A)]",
    )
    return fig


def plot_rram_overlay(fit: RRAMFit, path: Path) -> Path:
    """:func:`rram_overlay_figure` as a PNG."""
    return save_png(rram_overlay_figure(fit), path)


__all__ = [
    "BENCH_FIELDS",
    "SIGMA_NOTE",
    "correlations",
    "curve_metrics",
    "fecap_overlay_figure",
    "fecap_report",
    "fit_summary",
    "parameter_table",
    "plot_fecap_overlay",
    "plot_rram_overlay",
    "rram_overlay_figure",
    "rram_report",
    "write_params",
]
