"""Live calibration: generate stimuli, measure them on a chip, fit, validate, repeat.

Any :class:`~bruno_hil.characterize.backend.MeasurementBackend` is the chip
(``open_backend("ngspice")`` today, instruments later). One round:

1. each round adds the next stimulus of the schedule to the **training data**. FeCap: the
   stimuli so far run back to back as one waveform, measured in one call (the
   polarization carries through it, as the fit's model assumes). RRAM: each stimulus is
   measured once, from the cell's initial gap, and the fit takes them together (DC I-V
   sweeps and programming pulse trains: see :func:`~bruno_hil.calibration.rram.
   fit_rram_experiments`);
2. the surrogate is fitted to it, starting from the previous round's parameters;
3. the fitted surrogate predicts the **held-out stimuli** (measured once, never fitted);
   their RMSE is the validation error (several held-out stimuli weigh equally).

The loop stops when the held-out error has not improved by ``min_improvement``
(relative) over the best so far, or after the schedule's last stimulus (with
``min_improvement=None``, only then); the best round's parameters are returned.

FeCap stimuli: triangular P-V loops and PUND. RRAM: DC I-V sweeps of different ranges
and LTP/LTD pulse trains of different amplitudes and widths (a sweep sets the switching
voltage at one ramp rate; pulses 1e5-1e6 times shorter pin down how steeply the
switching speed grows with voltage).

:func:`measure_fecap` and :func:`measure_rram` also add a simulated instrument's noise
and (FeCap) a parallel parasitic capacitance, which is how ``calibration/make_examples.py``
and the tests make synthetic "measured" data from the compact models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bruno_hil.calibration.fecap import (
    FECAP_FIT_NAMES,
    FECAP_MERZ_NAMES,
    FeCapFit,
    fit_fecap,
    predict_charge,
)
from bruno_hil.calibration.report import curve_metrics
from bruno_hil.calibration.rram import (
    Experiment,
    RRAMFit,
    experiment_from_frame,
    fit_rram_experiments,
    measured_current_A,
    predict_experiment,
)
from bruno_hil.characterize.backend import MeasurementBackend, MeasurementError
from bruno_hil.characterize.fecap import (
    pund_waveform,
    switching_kinetics_waveform,
    triangle_waveform,
)
from bruno_hil.characterize.rram import PulseShape, iv_setpoints, ltp_ltd_amplitudes
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


def switching_kinetics(amplitudes_V: Sequence[float], widths_s: Sequence[float]) -> Stimulus:
    """Switching-kinetics pulses (see :func:`~bruno_hil.characterize.fecap.
    switching_kinetics_waveform`): they pin down the Merz law, which loops cannot."""
    t, v, _ = switching_kinetics_waveform(amplitudes_V, widths_s)
    amps = "/".join(f"{a:g}" for a in amplitudes_V)
    widths = "/".join(f"{w:g}" for w in widths_s)
    return Stimulus(f"kinetics {amps} V x {widths} s", v, t)


def iv_sweep(v_max_V: float, v_min_V: float, step_V: float = 0.01) -> Stimulus:
    """DC I-V loop setpoints (see :func:`~bruno_hil.characterize.rram.iv_setpoints`)."""
    v = iv_setpoints(v_max_V, v_min_V, step_V)["voltage_V"].to_numpy()
    return Stimulus(f"I-V {v_min_V:g}..{v_max_V:g} V", v)


@dataclass(frozen=True)
class PulseStimulus:
    """An RRAM programming pulse train: one pulse of ``width_s`` [s] per ``amplitude_V``
    [V], each followed by a read at ``read_V`` [V]."""

    name: str
    amplitude_V: np.ndarray
    width_s: float
    read_V: float = 0.1


def ltp_ltd(set_V: float, reset_V: float, n_pulses: int, width_s: float) -> PulseStimulus:
    """A reference read, ``n_pulses`` SET pulses of ``set_V`` [V] and as many RESET pulses
    of ``reset_V`` [V], each ``width_s`` [s] long (see :func:`~bruno_hil.characterize.
    rram.ltp_ltd_amplitudes`)."""
    return PulseStimulus(
        f"LTP/LTD {set_V:g}/{reset_V:g} V {width_s:g} s",
        ltp_ltd_amplitudes(set_V, reset_V, n_pulses),
        width_s,
    )


RRAMStimulus = Stimulus | PulseStimulus
"""A stimulus of the RRAM live loop: DC sweep setpoints or a pulse train."""


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


def _noisy(current_A: np.ndarray, noise_rel: float, noise_floor_A: float, seed: int) -> np.ndarray:
    """``current_A`` with multiplicative noise ``noise_rel`` and an additive floor
    ``noise_floor_A`` [A] (seeded)."""
    rng = np.random.default_rng(seed)
    i = current_A * (1.0 + noise_rel * rng.standard_normal(current_A.size))
    return i + noise_floor_A * rng.standard_normal(current_A.size)


def measure_rram(
    backend: MeasurementBackend,
    stimulus: RRAMStimulus,
    params: RRAMParams,
    *,
    compliance_A: float = 100e-6,
    noise_rel: float = 0.0,
    noise_floor_A: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure an RRAM stimulus with read noise ``noise_rel`` (multiplicative) and an
    additive floor ``noise_floor_A`` [A] (seeded). An I-V sweep gives ``time_s``,
    ``voltage_V`` (across the cell), ``current_A`` and ``setpoint_V`` (needs a backend that
    reports ``time_s`` and ``device_voltage_V``, as the ngspice and visa benches do); a
    pulse train gives ``pulse``, ``amplitude_V``, ``read_current_A`` and
    ``read_voltage_V`` (across the cell during the read)."""
    if isinstance(stimulus, PulseStimulus):
        data = backend.rram_pulses(
            stimulus.amplitude_V, stimulus.width_s, stimulus.read_V, params, compliance_A
        )
        read_v = data.get("device_voltage_V", pd.Series(stimulus.read_V, index=data.index))
        current = data["read_current_A"].to_numpy()
        return pd.DataFrame(
            {
                "pulse": data["pulse"],
                "amplitude_V": data["amplitude_V"],
                "read_current_A": _noisy(current, noise_rel, noise_floor_A, seed),
                "read_voltage_V": read_v.to_numpy(),
            }
        )
    data = backend.rram_dc_sweep(stimulus.voltage_V, compliance_A, params)
    missing = {"time_s", "device_voltage_V"} - set(data.columns)
    if missing:
        raise MeasurementError(
            f"the backend's I-V sweep lacks {', '.join(sorted(missing))}; the RRAM fit needs"
            " the sample times and the voltage across the cell"
        )
    return pd.DataFrame(
        {
            "time_s": data["time_s"],
            "voltage_V": data["device_voltage_V"],
            "current_A": _noisy(data["current_A"].to_numpy(), noise_rel, noise_floor_A, seed),
            "setpoint_V": data["voltage_V"],
        }
    )


def rram_experiment(
    stimulus: RRAMStimulus,
    data: pd.DataFrame,
    compliance_A: float = 100e-6,
    shape: PulseShape | None = None,
) -> Experiment:
    """The fit's view of a measurement from :func:`measure_rram`: a
    :class:`~bruno_hil.calibration.rram.Sweep`, or a :class:`~bruno_hil.calibration.rram.
    PulseTrain` played with the bench's pulse ``shape`` behind ``compliance_A`` [A]."""
    if not isinstance(stimulus, PulseStimulus):
        return experiment_from_frame(data, stimulus.name)
    settings = {"width_s": stimulus.width_s, "read_V": stimulus.read_V}
    settings |= {"compliance_A": compliance_A, **dataclasses.asdict(shape or PulseShape())}
    return experiment_from_frame(data, stimulus.name, settings)


@dataclass
class LiveRound:
    """One round of the live loop: the training data's name, the fit's RMSE on it, the
    held-out RMSE (and per held-out stimulus), the parameters and the held ones."""

    round: int
    training: str
    train_rmse: float
    heldout_rmse: float
    heldout_rmse_by_stimulus: dict[str, float]
    params: dict[str, float]
    sigma: dict[str, float]
    """1-sigma of the fitted parameters (NaN for held ones)."""
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


def default_schedule(device: str, kinetics: bool = True) -> tuple[list[Any], list[Any]]:
    """The stimuli added round by round and the held-out ones, per device. FeCap: with
    ``kinetics`` (a backend that plays any waveform) switching-kinetics pulses, which pin
    down the Merz law; without, loops and PUND only. RRAM pulse trains stay where the
    surrogate's ideal compliance describes a bench well (see ``calibration/README.md``):
    moderate amplitudes, widths of 100 ns and more."""
    if device == "fecap" and kinetics:
        return (
            [
                pv_loop(3.5, 1e3, 2, 400),
                switching_kinetics([0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0], [1e-3]),
                pund(3.5, 1e3, 200),
            ],
            [pv_loop(3.0, 2e3, 2, 400), switching_kinetics([1.1, 1.75, 3.5], [1e-4])],
        )
    if device == "fecap":
        return (
            [pv_loop(3.5, 1e3, 2, 400), pund(3.5, 1e3, 200), pv_loop(2.5, 1e3, 2, 400)],
            [pv_loop(3.0, 2e3, 2, 400)],
        )
    if device == "rram":
        return (
            [
                iv_sweep(0.9, -0.9, 0.02),
                ltp_ltd(1.1, -1.05, 10, 1e-6),
                iv_sweep(1.2, -1.2, 0.02),
                ltp_ltd(1.25, -1.15, 10, 1e-7),
            ],
            [iv_sweep(1.0, -1.1, 0.02), ltp_ltd(1.0, -1.0, 10, 1e-5)],
        )
    raise MeasurementError(f"unknown device {device!r}; choose fecap or rram")


def _pooled_rmse(by_stimulus: dict[str, float]) -> float:
    """RMS of per-stimulus RMSEs (each held-out stimulus weighs equally)."""
    return float(np.sqrt(np.mean(np.square(list(by_stimulus.values())))))


class _FeCapRounds:
    """FeCap rounds: the stimuli so far as one waveform, measured anew each round."""

    def __init__(
        self,
        backend: MeasurementBackend,
        chip_params: FeCapParams,
        heldout: list[Stimulus],
        options: dict[str, Any],
    ) -> None:
        self.backend, self.chip_params, self.options = backend, chip_params, options
        measure = options["measure"]
        self.heldout = {h.name: measure_fecap(backend, h, chip_params, **measure) for h in heldout}

    def __call__(
        self, stimuli: list[Stimulus], prior: DeviceParams
    ) -> tuple[FeCapFit, str, dict[str, float]]:
        train, _ = concatenate(stimuli)
        measure = {**self.options["measure"], "seed": self.options["measure"].get("seed", 0) + 1}
        data = measure_fecap(self.backend, train, self.chip_params, **measure)
        f = fit_fecap(
            data["time_s"].to_numpy(),
            data["voltage_V"].to_numpy(),
            data["charge_C"].to_numpy(),
            prior,  # type: ignore[arg-type]
            **self.options["fit"],
        )
        rmse = {}
        for name, held in self.heldout.items():
            pred = predict_charge(f.params, held["time_s"].to_numpy(), held["voltage_V"].to_numpy())
            rmse[name] = curve_metrics(held["charge_C"].to_numpy(), pred)[0]["rmse"]
        return f, train.name, rmse


RESET_V = -1.2
"""Default conditioning RESET [V] of the RRAM live loop (see :func:`reset_setpoints`)."""


def reset_setpoints(reset_V: float = RESET_V, step_V: float = 0.02) -> np.ndarray:
    """A conditioning RESET sweep 0 -> ``reset_V`` -> 0 V [V] in steps of ``step_V``: at
    the bench's sweep rate (1 V/s) it resets a cell fully (gap at ``g_max_m``) even behind
    a 100 uA compliance, where a RESET pulse of microseconds does not."""
    if not reset_V < 0.0:
        raise MeasurementError(f"reset_V = {reset_V!r} V must be < 0 (a RESET)")
    n = max(round(-reset_V / step_V), 2)
    return np.concatenate(
        [np.linspace(0.0, reset_V, n + 1)[1:], np.linspace(reset_V, 0.0, n + 1)[1:]]
    )


def _reset_state(params: RRAMParams) -> RRAMParams:
    """``params`` with the initial gap of a fully reset cell (``g_max_m``)."""
    if params.g_init_m == params.g_max_m:
        return params
    return params.replace(source="conditioned by a RESET sweep", g_init_m=params.g_max_m)


class _RRAMRounds:
    """RRAM rounds: each stimulus measured once (cached) after a conditioning RESET, all
    fitted together."""

    def __init__(
        self,
        backend: MeasurementBackend,
        chip_params: RRAMParams,
        heldout: list[RRAMStimulus],
        options: dict[str, Any],
    ) -> None:
        self.backend, self.chip_params, self.options = backend, chip_params, options
        self.compliance_A = options["measure"].get("compliance_A", 100e-6)
        self.reset_V = options["reset_V"]
        if self.reset_V is not None:  # a conditioned cell starts fully reset
            self.chip_params = _reset_state(chip_params)
        self.shape = getattr(backend, "pulse_shape", None)
        self.measured: dict[str, Experiment] = {}
        self.heldout = [self._measure(h, seed_offset=0) for h in heldout]

    def _measure(self, stimulus: RRAMStimulus, seed_offset: int) -> Experiment:
        measure = dict(self.options["measure"])
        measure["seed"] = measure.get("seed", 0) + seed_offset
        if self.reset_V is not None:
            self.backend.rram_dc_sweep(
                reset_setpoints(self.reset_V), self.compliance_A, self.chip_params
            )
        data = measure_rram(self.backend, stimulus, self.chip_params, **measure)
        return rram_experiment(stimulus, data, self.compliance_A, self.shape)

    def __call__(
        self, stimuli: list[RRAMStimulus], prior: DeviceParams
    ) -> tuple[RRAMFit, str, dict[str, float]]:
        for k, stimulus in enumerate(stimuli, start=1):
            if stimulus.name not in self.measured:
                self.measured[stimulus.name] = self._measure(stimulus, seed_offset=k)
        experiments = [self.measured[s.name] for s in stimuli]
        if self.reset_V is not None:
            prior = _reset_state(prior)  # type: ignore[arg-type]
        f = fit_rram_experiments(experiments, prior, **self.options["fit"])  # type: ignore[arg-type]
        floor = f.current_floor_A
        rmse = {}
        for held in self.heldout:
            pred = predict_experiment(f.params, held)
            y = np.arcsinh(measured_current_A(held) / floor)
            rmse[held.name] = curve_metrics(y, np.arcsinh(pred / floor))[0]["rmse"]
        return f, " + ".join(s.name for s in stimuli), rmse


def live_calibrate(
    device: str,
    backend: MeasurementBackend,
    chip_params: DeviceParams,
    prior: DeviceParams,
    *,
    schedule: Sequence[Any] | None = None,
    heldout: Any | Sequence[Any] | None = None,
    min_improvement: float | None = 0.05,
    reset_V: float | None = RESET_V,
    measure_options: dict[str, Any] | None = None,
    fit_options: dict[str, Any] | None = None,
    progress: Callable[[LiveRound], None] | None = None,
) -> LiveResult:
    """Run the live loop (see the module) for ``device`` (``fecap`` or ``rram``) on
    ``backend``. ``chip_params`` are the parameters the backend simulates (ignored by a
    real instrument); ``prior`` is the surrogate's starting point. ``schedule`` and
    ``heldout`` (one stimulus or several) default to :func:`default_schedule` (with the
    FeCap's switching kinetics where the backend ``plays_nonuniform_waveforms``: then
    the FeCap fit frees alpha and tau_0 too, unless ``fit_options`` name the fields). The
    held-out RMSE is in C (FeCap) or on the ``asinh(I/current_floor_A)`` scale (RRAM).
    RRAM ``measure_options`` may set ``compliance_A`` [A] (default 100 uA); pulse trains
    are fitted with the backend's ``pulse_shape`` if it has one (the ngspice and visa
    benches do), else :class:`~bruno_hil.characterize.rram.PulseShape`'s defaults. A real
    cell keeps its state between measurements, so each RRAM stimulus is preceded by a
    conditioning RESET sweep to ``reset_V`` [V] (:func:`reset_setpoints`), and the fit
    (and a simulated chip) start every experiment from the fully reset gap ``g_max_m``;
    with ``reset_V=None`` there is no conditioning and both start from ``g_init_m``."""
    kinetics = getattr(backend, "plays_nonuniform_waveforms", False) and schedule is None
    default_stimuli, default_heldout = default_schedule(device, kinetics)
    stimuli = list(schedule) if schedule is not None else default_stimuli
    if heldout is None:
        held = default_heldout
    else:
        held = list(heldout) if isinstance(heldout, (list, tuple)) else [heldout]
    options = {
        "measure": dict(measure_options or {}),
        "fit": dict(fit_options or {}),
        "reset_V": reset_V,
    }
    if device == "fecap" and "names" not in options["fit"]:
        merz = FECAP_MERZ_NAMES if kinetics else ()
        options["fit"]["names"] = [*FECAP_FIT_NAMES, *merz]
    rounds_of = _FeCapRounds if device == "fecap" else _RRAMRounds
    step = rounds_of(backend, chip_params, held, options)  # type: ignore[arg-type]
    rounds: list[LiveRound] = []
    best: FeCapFit | RRAMFit | None = None
    best_rmse, best_round = np.inf, 0
    current = prior
    for k in range(1, len(stimuli) + 1):
        f, name, by_stimulus = step(stimuli[:k], current)
        rmse = _pooled_rmse(by_stimulus)
        rounds.append(
            LiveRound(
                k,
                name,
                f.result.residual_rms,
                rmse,
                by_stimulus,
                f.params.as_dict(),
                dict(f.result.sigma),
                f.result.held,
            )
        )
        if progress is not None:
            progress(rounds[-1])
        improved = min_improvement is None or rmse < best_rmse * (1.0 - min_improvement)
        if rmse < best_rmse:
            best, best_rmse, best_round = f, rmse, k
        current = f.params
        if not improved and k > 1:
            break
    assert best is not None
    names = " + ".join(h.name for h in held)
    return LiveResult(best=best, best_round=best_round, heldout=names, rounds=rounds)


__all__ = [
    "LiveResult",
    "LiveRound",
    "PulseStimulus",
    "RRAMStimulus",
    "Stimulus",
    "concatenate",
    "default_schedule",
    "iv_sweep",
    "live_calibrate",
    "ltp_ltd",
    "measure_fecap",
    "measure_rram",
    "pund",
    "pv_loop",
    "reset_setpoints",
    "rram_experiment",
    "switching_kinetics",
]
