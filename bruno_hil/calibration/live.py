"""Live calibration: generate stimuli, measure them on a chip, fit, validate, repeat.

Any :class:`~bruno_hil.characterize.backend.MeasurementBackend` is the chip
(``open_backend("ngspice")`` today, instruments later). One round:

1. the **training stimulus** is the concatenation of the stimuli chosen so far (one
   waveform, measured in one call: the device state carries through it, as the fit's
   model assumes); each round adds the next stimulus of the schedule;
2. the surrogate is fitted to it, starting from the previous round's parameters;
3. the fitted surrogate predicts a **held-out stimulus** (measured once, never fitted);
   its RMSE is the validation error.

The loop stops when the held-out error has not improved by ``min_improvement``
(relative) over the best so far, or after the schedule's last stimulus; the best round's
parameters are returned. FeCap stimuli: triangular P-V loops and PUND; RRAM: DC I-V
sweeps of different ranges (pulse trains are measured by the backends but their fit is
not implemented yet).

:func:`measure_fecap` and :func:`measure_rram` also add a simulated instrument's noise
and (FeCap) a parallel parasitic capacitance, which is how ``calibration/make_examples.py``
and the tests make synthetic "measured" data from the compact models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bruno_hil.calibration.fecap import FeCapFit, fit_fecap, predict_charge
from bruno_hil.calibration.report import curve_metrics
from bruno_hil.calibration.rram import RRAMFit, fit_rram, predict_current
from bruno_hil.characterize.backend import MeasurementBackend, MeasurementError
from bruno_hil.characterize.fecap import pund_waveform, triangle_waveform
from bruno_hil.characterize.rram import iv_setpoints
from bruno_hil.devices.params import DeviceParams, FeCapParams, RRAMParams


@dataclass(frozen=True)
class Stimulus:
    """A named drive: FeCap waveform (``time_s`` [s], ``voltage_V`` [V]) or RRAM sweep
    setpoints (``voltage_V`` only; the backend's ramp sets the times)."""

    name: str
    voltage_V: np.ndarray
    time_s: np.ndarray | None = None


def pv_loop(
    amplitude_V: float, frequency_Hz: float, n_cycles: int = 2, points_per_cycle: int = 400
) -> Stimulus:
    """Triangular P-V loop (see :func:`~bruno_hil.characterize.fecap.triangle_waveform`)."""
    t, v = triangle_waveform(amplitude_V, frequency_Hz, n_cycles, points_per_cycle)
    return Stimulus(f"loop {amplitude_V:g} V {frequency_Hz:g} Hz", v, t)


def pund(amplitude_V: float, frequency_Hz: float, points_per_cycle: int = 400) -> Stimulus:
    """PUND sequence (see :func:`~bruno_hil.characterize.fecap.pund_waveform`)."""
    t, v, _ = pund_waveform(amplitude_V, frequency_Hz, points_per_cycle)
    return Stimulus(f"PUND {amplitude_V:g} V {frequency_Hz:g} Hz", v, t)


def iv_sweep(v_max_V: float, v_min_V: float, step_V: float = 0.01) -> Stimulus:
    """DC I-V loop setpoints (see :func:`~bruno_hil.characterize.rram.iv_setpoints`)."""
    v = iv_setpoints(v_max_V, v_min_V, step_V)["voltage_V"].to_numpy()
    return Stimulus(f"I-V {v_min_V:g}..{v_max_V:g} V", v)


def concatenate(stimuli: Sequence[Stimulus]) -> tuple[Stimulus, np.ndarray]:
    """One stimulus running the given ones back to back, and the per-sample label of the
    stimulus each sample belongs to."""
    if not stimuli:
        raise MeasurementError("no stimulus to concatenate")
    volts, times, labels = [], [], []
    t_end = 0.0
    for k, s in enumerate(stimuli):
        skip = 1 if k else 0  # waveforms start at 0 V; the junction sample is shared
        volts.append(s.voltage_V[skip:])
        labels += [s.name] * (s.voltage_V.size - skip)
        if s.time_s is not None:
            times.append(s.time_s[skip:] + t_end)
            t_end = float(times[-1][-1])
    t = np.concatenate(times) if times else None
    name = " + ".join(s.name for s in stimuli)
    return Stimulus(name, np.concatenate(volts), t), np.asarray(labels)


def measure_fecap(
    backend: MeasurementBackend,
    stimulus: Stimulus,
    params: FeCapParams,
    *,
    noise_rel: float = 0.0,
    c_par_F: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure a FeCap stimulus: ``time_s``, ``voltage_V``, ``charge_C``. ``c_par_F`` [F]
    adds a parallel parasitic capacitance (``c_par_F*V`` to the charge, exactly what an
    ideal capacitor across the device adds); ``noise_rel`` adds Gaussian noise of that
    fraction of the charge's range (seeded)."""
    if stimulus.time_s is None:
        raise MeasurementError(f"{stimulus.name}: a FeCap stimulus needs sample times")
    data = backend.fecap_waveform(stimulus.time_s, stimulus.voltage_V, params)
    q = data["charge_C"].to_numpy() + c_par_F * data["voltage_V"].to_numpy()
    rng = np.random.default_rng(seed)
    q = q + noise_rel * float(np.ptp(q)) * rng.standard_normal(q.size)
    return pd.DataFrame({"time_s": data["time_s"], "voltage_V": data["voltage_V"], "charge_C": q})


def measure_rram(
    backend: MeasurementBackend,
    stimulus: Stimulus,
    params: RRAMParams,
    *,
    compliance_A: float = 100e-6,
    noise_rel: float = 0.0,
    noise_floor_A: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure an RRAM I-V sweep: ``time_s``, ``voltage_V`` (across the cell),
    ``current_A``, ``setpoint_V``; with multiplicative read noise ``noise_rel`` and an
    additive floor ``noise_floor_A`` [A] (seeded). Needs a backend that reports
    ``time_s`` and ``device_voltage_V`` (the ngspice bench does)."""
    data = backend.rram_dc_sweep(stimulus.voltage_V, compliance_A, params)
    missing = {"time_s", "device_voltage_V"} - set(data.columns)
    if missing:
        raise MeasurementError(
            f"the backend's I-V sweep lacks {', '.join(sorted(missing))}; the RRAM fit needs"
            " the sample times and the voltage across the cell"
        )
    i = data["current_A"].to_numpy()
    rng = np.random.default_rng(seed)
    i = i * (1.0 + noise_rel * rng.standard_normal(i.size))
    i = i + noise_floor_A * rng.standard_normal(i.size)
    return pd.DataFrame(
        {
            "time_s": data["time_s"],
            "voltage_V": data["device_voltage_V"],
            "current_A": i,
            "setpoint_V": data["voltage_V"],
        }
    )


@dataclass
class LiveRound:
    """One round of the live loop."""

    round: int
    training: str
    train_rmse: float
    heldout_rmse: float
    params: dict[str, float]
    held: dict[str, str]


@dataclass
class LiveResult:
    """The outcome of :func:`live_calibrate`: the best round's fit and every round."""

    best: FeCapFit | RRAMFit
    best_round: int
    heldout: str
    rounds: list[LiveRound] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best_round": self.best_round,
            "heldout": self.heldout,
            "rounds": [vars(r) for r in self.rounds],
        }


def default_schedule(device: str) -> tuple[list[Stimulus], Stimulus]:
    """The stimuli added round by round and the held-out one, per device."""
    if device == "fecap":
        return (
            [pv_loop(3.5, 1e3, 2, 400), pund(3.5, 1e3, 200), pv_loop(2.5, 1e3, 2, 400)],
            pv_loop(3.0, 2e3, 2, 400),
        )
    if device == "rram":
        return ([iv_sweep(0.9, -0.9, 0.02), iv_sweep(1.2, -1.2, 0.02)], iv_sweep(1.0, -1.1, 0.02))
    raise MeasurementError(f"unknown device {device!r}; choose fecap or rram")


def _fecap_round(
    backend: MeasurementBackend,
    stimuli: list[Stimulus],
    heldout: pd.DataFrame,
    truth: DeviceParams,
    prior: DeviceParams,
    options: dict[str, Any],
) -> tuple[FeCapFit, str, float]:
    train, _ = concatenate(stimuli)
    data = measure_fecap(backend, train, truth, **options.get("measure", {}))  # type: ignore[arg-type]
    f = fit_fecap(
        data["time_s"].to_numpy(),
        data["voltage_V"].to_numpy(),
        data["charge_C"].to_numpy(),
        prior,  # type: ignore[arg-type]
        **options.get("fit", {}),
    )
    pred = predict_charge(f.params, heldout["time_s"].to_numpy(), heldout["voltage_V"].to_numpy())
    rmse = curve_metrics(heldout["charge_C"].to_numpy(), pred)[0]["rmse"]
    return f, train.name, rmse


def _rram_round(
    backend: MeasurementBackend,
    stimuli: list[Stimulus],
    heldout: pd.DataFrame,
    truth: DeviceParams,
    prior: DeviceParams,
    options: dict[str, Any],
) -> tuple[RRAMFit, str, float]:
    train, _ = concatenate(stimuli)
    data = measure_rram(backend, train, truth, **options.get("measure", {}))  # type: ignore[arg-type]
    f = fit_rram(
        data["time_s"].to_numpy(),
        data["voltage_V"].to_numpy(),
        data["current_A"].to_numpy(),
        prior,  # type: ignore[arg-type]
        **options.get("fit", {}),
    )
    floor = f.current_floor_A
    pred = predict_current(f.params, heldout["time_s"].to_numpy(), heldout["voltage_V"].to_numpy())
    rmse = curve_metrics(
        np.arcsinh(heldout["current_A"].to_numpy() / floor), np.arcsinh(pred / floor)
    )[0]["rmse"]
    return f, train.name, rmse


def live_calibrate(
    device: str,
    backend: MeasurementBackend,
    chip_params: DeviceParams,
    prior: DeviceParams,
    *,
    schedule: Sequence[Stimulus] | None = None,
    heldout: Stimulus | None = None,
    min_improvement: float = 0.05,
    measure_options: dict[str, Any] | None = None,
    fit_options: dict[str, Any] | None = None,
    progress: Callable[[LiveRound], None] | None = None,
) -> LiveResult:
    """Run the live loop (see the module) for ``device`` (``fecap`` or ``rram``) on
    ``backend``. ``chip_params`` are the parameters the backend simulates (ignored by a
    real instrument); ``prior`` is the surrogate's starting point. ``schedule`` and
    ``heldout`` default to :func:`default_schedule`. The held-out RMSE is in C (FeCap)
    or on the ``asinh(I/current_floor_A)`` scale (RRAM)."""
    default_stimuli, default_heldout = default_schedule(device)
    stimuli = list(schedule) if schedule is not None else default_stimuli
    held = heldout if heldout is not None else default_heldout
    options = {"measure": dict(measure_options or {}), "fit": dict(fit_options or {})}
    if device == "fecap":
        held_data = measure_fecap(backend, held, chip_params, **options["measure"])  # type: ignore[arg-type]
        step = _fecap_round
    else:
        held_data = measure_rram(backend, held, chip_params, **options["measure"])  # type: ignore[arg-type]
        step = _rram_round  # type: ignore[assignment]
    options["measure"] = {**options["measure"], "seed": options["measure"].get("seed", 0) + 1}
    rounds: list[LiveRound] = []
    best: FeCapFit | RRAMFit | None = None
    best_rmse, best_round = np.inf, 0
    current = prior
    for k in range(1, len(stimuli) + 1):
        f, name, rmse = step(backend, stimuli[:k], held_data, chip_params, current, options)
        rounds.append(
            LiveRound(k, name, f.result.residual_rms, rmse, f.params.as_dict(), f.result.held)
        )
        if progress is not None:
            progress(rounds[-1])
        improved = rmse < best_rmse * (1.0 - min_improvement)
        if rmse < best_rmse:
            best, best_rmse, best_round = f, rmse, k
        current = f.params
        if not improved and k > 1:
            break
    assert best is not None
    return LiveResult(best=best, best_round=best_round, heldout=held.name, rounds=rounds)


__all__ = [
    "LiveResult",
    "LiveRound",
    "Stimulus",
    "concatenate",
    "default_schedule",
    "iv_sweep",
    "live_calibrate",
    "measure_fecap",
    "measure_rram",
    "pund",
    "pv_loop",
]
