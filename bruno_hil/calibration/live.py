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

The stimuli come from :mod:`bruno_hil.characterize.stimulus`; each is measured with
:mod:`bruno_hil.calibration.measure`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bruno_hil.calibration.fecap import (
    FECAP_FIT_NAMES,
    FECAP_MERZ_NAMES,
    FeCapFit,
    fit_fecap,
    predict_charge,
)
from bruno_hil.calibration.measure import measure_fecap, measure_rram, rram_experiment
from bruno_hil.calibration.report import curve_metrics
from bruno_hil.calibration.rram import (
    Experiment,
    RRAMFit,
    fit_rram_experiments,
    measured_current_A,
    predict_experiment,
)
from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.stimulus import (
    RESET_V,
    PulseStimulus,
    RRAMStimulus,
    Stimulus,
    concatenate,
    iv_sweep,
    ltp_ltd,
    pund,
    pv_loop,
    reset_setpoints,
    switching_kinetics,
)
from bruno_hil.devices.params import DeviceParams, FeCapParams, RRAMParams

RRAM_COMPLIANCE_A = 100e-6
"""The RRAM measurements' current compliance [A] unless ``measure_options`` set one."""


@dataclass(frozen=True)
class LiveOptions:
    """How the live loop measures and fits: keyword arguments of
    :func:`~bruno_hil.calibration.measure.measure_fecap` / ``measure_rram`` (``measure``;
    their ``seed`` is the held-out data's, training data add the round number) and of the
    fit (``fit``), and the conditioning RESET [V] of an RRAM cell (None: none)."""

    measure: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    reset_V: float | None = RESET_V

    def measured_with_seed_offset(self, offset: int) -> dict[str, Any]:
        """The measurement options with the seed moved by ``offset``."""
        return {**self.measure, "seed": self.measure.get("seed", 0) + offset}


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
    sigma_local: dict[str, float]
    """Local 1-sigma of the fitted parameters (NaN for held ones; see
    :attr:`~bruno_hil.calibration.fit.FitResult.sigma`)."""
    sigma_jackknife: dict[str, float]
    """Their jackknife 1-sigma (:attr:`~bruno_hil.calibration.fit.FitResult.sigma_jackknife`)."""
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
        options: LiveOptions,
    ) -> None:
        self.backend, self.chip_params, self.options = backend, chip_params, options
        measure = options.measure
        self.heldout = {h.name: measure_fecap(backend, h, chip_params, **measure) for h in heldout}

    def __call__(
        self, stimuli: list[Stimulus], prior: DeviceParams
    ) -> tuple[FeCapFit, str, dict[str, float]]:
        train, _ = concatenate(stimuli)
        measure = self.options.measured_with_seed_offset(1)
        data = measure_fecap(self.backend, train, self.chip_params, **measure)
        f = fit_fecap(
            data["time_s"].to_numpy(),
            data["voltage_V"].to_numpy(),
            data["charge_C"].to_numpy(),
            prior,  # type: ignore[arg-type]
            **self.options.fit,
        )
        rmse = {}
        for name, held in self.heldout.items():
            pred = predict_charge(f.params, held["time_s"].to_numpy(), held["voltage_V"].to_numpy())
            rmse[name] = curve_metrics(held["charge_C"].to_numpy(), pred)[0]["rmse"]
        return f, train.name, rmse


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
        options: LiveOptions,
    ) -> None:
        self.backend, self.chip_params, self.options = backend, chip_params, options
        self.compliance_A = options.measure.get("compliance_A", RRAM_COMPLIANCE_A)
        self.reset_V = options.reset_V
        if self.reset_V is not None:  # a conditioned cell starts fully reset
            self.chip_params = _reset_state(chip_params)
        self.shape = backend.pulse_shape
        self.measured: dict[str, Experiment] = {}
        self.heldout = [self._measure(h, seed_offset=0) for h in heldout]

    def _measure(self, stimulus: RRAMStimulus, seed_offset: int) -> Experiment:
        measure = self.options.measured_with_seed_offset(seed_offset)
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
        f = fit_rram_experiments(experiments, prior, **self.options.fit)  # type: ignore[arg-type]
        floor = f.current_floor_A
        rmse = {}
        for held in self.heldout:
            pred = predict_experiment(f.params, held)
            y = np.arcsinh(measured_current_A(held) / floor)
            rmse[held.name] = curve_metrics(y, np.arcsinh(pred / floor))[0]["rmse"]
        return f, " + ".join(s.name for s in stimuli), rmse


def _check_whole_run(
    device: str, backend: MeasurementBackend, stimuli: list[Any], options: LiveOptions
) -> None:
    """Every voltage [V], the compliance [A] and the longest pulse [s] of the whole loop
    (stimuli, held-out ones, conditioning sweeps) against the bench's limits, before the
    first measurement."""
    volts: list[np.ndarray] = []
    widths: list[float] = []
    for stimulus in stimuli:
        if isinstance(stimulus, PulseStimulus):
            volts += [stimulus.amplitude_V, np.array([stimulus.read_V])]
            widths.append(stimulus.width_s)
        else:
            volts.append(stimulus.voltage_V)
    compliance_A = None
    if device == "rram":
        compliance_A = options.measure.get("compliance_A", RRAM_COMPLIANCE_A)
        if options.reset_V is not None:
            volts.append(reset_setpoints(options.reset_V))
    backend.check_limits(
        device, np.concatenate(volts), compliance_A, max(widths) if widths else None
    )


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
    FeCap's switching kinetics where the backend :attr:`~bruno_hil.characterize.backend.
    MeasurementBackend.plays_nonuniform_waveforms`: then
    the FeCap fit frees alpha and tau_0 too, unless ``fit_options`` name the fields). The
    held-out RMSE is in C (FeCap) or on the ``asinh(I/current_floor_A)`` scale (RRAM).
    RRAM ``measure_options`` may set ``compliance_A`` [A] (default 100 uA); pulse trains
    are fitted with the backend's ``pulse_shape``. A real
    cell keeps its state between measurements, so each RRAM stimulus is preceded by a
    conditioning RESET sweep to ``reset_V`` [V] (:func:`reset_setpoints`), and the fit
    (and a simulated chip) start every experiment from the fully reset gap ``g_max_m``;
    with ``reset_V=None`` there is no conditioning and both start from ``g_init_m``."""
    kinetics = backend.plays_nonuniform_waveforms and schedule is None
    default_stimuli, default_heldout = default_schedule(device, kinetics)
    stimuli = list(schedule) if schedule is not None else default_stimuli
    if heldout is None:
        held = default_heldout
    else:
        held = list(heldout) if isinstance(heldout, (list, tuple)) else [heldout]
    fit_kwargs = dict(fit_options or {})
    if device == "fecap" and "names" not in fit_kwargs:
        merz = FECAP_MERZ_NAMES if kinetics else ()
        fit_kwargs["names"] = [*FECAP_FIT_NAMES, *merz]
    options = LiveOptions(dict(measure_options or {}), fit_kwargs, reset_V)
    _check_whole_run(device, backend, [*stimuli, *held], options)
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
                dict(f.result.sigma_jackknife),
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


__all__ = ["LiveOptions", "LiveResult", "LiveRound", "default_schedule", "live_calibrate"]
