"""Fit the RRAM surrogate to measured I-V sweeps and programming pulse trains.

**Sweeps** (:class:`Sweep`): the measured voltage across the cell (``voltage_V`` at
``time_s``; a DC sweep of a hysteretic cell is a slow transient) drives the torch
filament-gap model of :mod:`bruno_hil.physics.rram`: the gap starts at ``g_init_m`` and
follows the voltage, piecewise linear between samples (:func:`~bruno_hil.physics.rram.
rram_step`'s exact ramp), confined to ``[g_min_m, g_max_m]``; the predicted current at
each sample is ``I(V, g)``. Where the bench's compliance limited the current, the cell
voltage (what an SMU with remote sense reports) is what the model needs, so the file's
``voltage_V`` must be the voltage across the cell.

**Pulse trains** (:class:`PulseTrain`): the cell voltage during a pulse is not measured,
so the model plays the *source* waveform (:func:`~bruno_hil.characterize.stimulus.
pulse_train_waveform`, with the bench's :class:`~bruno_hil.characterize.stimulus.PulseShape`)
behind an ideal current compliance (:func:`~bruno_hil.physics.rram.
rram_step_in_compliance`, on :func:`pulse_substeps`) and predicts each read's current
at the measured read voltage. On the ngspice bench (a tanh limiter and a 1 pF cell node)
the median read error over 88 switching trains (100 ns-10 us, 1.0-1.2 V, 30 uA-1 mA, two
cells) is 0.6 %; single reads differ by up to a factor ~2 where the bench's node
capacitance matters: the first SET from the HRS (the node discharges through the cell as
it enters compliance: a current overshoot) and the last RESET pulses (the runaway out of
compliance, whose timing the capacitance delays); 100 ns trains have a median error of
5 %. The integrator itself is converged (see :data:`RAMP_SUBSTEPS`).

The current spans decades (HRS to LRS), so the fit compares ``asinh(I/I_floor)``
(logarithmic above ``current_floor_A``, linear and sign-preserving below): a relative
read noise of 2 % is a residual of ~0.02 on that scale. :func:`fit_rram_experiments`
fits any number of sweeps and trains together, each from ``g_init_m``.

What an I-V sweep determines at one temperature (see :func:`fit_rram`): the read
parameters ``i_0_A``, ``g_0_m``, ``v_0_V`` and the switching ``vel_0_m_per_s`` and
``gamma``. The velocity enters only as ``vel_0*exp(-e_a/kT)`` and the field factor only
as ``gamma*a_0/t_ox``, so ``e_a_eV``, ``a_0_m`` and ``t_ox_m`` are degenerate with them
and held at the prior unless asked for (then the fit reports them as degenerate). Adding
pulse trains to a sweep shrinks the switching parameters' uncertainties several-fold
(the sweep switches in ~0.1 s, the pulses in 1e-7-1e-5 s); pulse trains alone, read at
one voltage, see only ``i_0*exp(-g/g_0)`` and leave the read parameters degenerate.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from bruno_hil.calibration.fit import (
    Concatenated,
    FitError,
    FitResult,
    device_parameters,
    fit,
    simulate,
    simulate_with_jacobian,
)
from bruno_hil.calibration.io import Measurement
from bruno_hil.characterize.stimulus import PulseShape, pulse_train_waveform
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics.rram import (
    DTYPE,
    RRAMTensors,
    rram_current_A,
    rram_step,
    rram_step_in_compliance,
)

RRAM_FIT_NAMES: tuple[str, ...] = ("i_0_A", "g_0_m", "v_0_V", "vel_0_m_per_s", "gamma")
"""The RRAMParams fields fitted by default."""
CURRENT_FLOOR_A = 1e-9
"""Default current scale [A] of the ``asinh`` comparison."""


class RRAMCurrentModel:
    """``asinh(I/current_floor_A)`` at the samples of a voltage waveform (across the cell),
    as a function of the free RRAMParams fields ``names`` (the others from ``params``). A
    :class:`~bruno_hil.calibration.fit.Model` with a ``batch`` method."""

    def __init__(
        self,
        time_s: np.ndarray,
        voltage_V: np.ndarray,
        params: RRAMParams,
        names: Sequence[str],
        current_floor_A: float = CURRENT_FLOOR_A,
    ) -> None:
        t = np.asarray(time_s, dtype=np.float64)
        v = np.asarray(voltage_V, dtype=np.float64)
        if t.shape != v.shape or t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0.0):
            raise FitError("time_s and voltage_V: equal-length 1-D arrays, time increasing")
        inputs = tuple(torch.tensor(a, dtype=DTYPE) for a in (v[:-1], v[1:], np.diff(t)))
        self._setup(inputs, np.arange(v.size), v, params, names, current_floor_A)

    def _setup(
        self,
        inputs: tuple[torch.Tensor, ...],
        sample_index: np.ndarray,
        sample_voltage_V: np.ndarray,
        params: RRAMParams,
        names: Sequence[str],
        current_floor_A: float,
    ) -> None:
        """The recurrence's ``inputs``, and the states (``sample_index``) and cell voltages
        [V] at which the current is sampled."""
        if not current_floor_A > 0.0:
            raise FitError(f"current_floor_A = {current_floor_A!r} must be > 0")
        self.names = list(names)
        unknown = [n for n in self.names if n not in RRAMParams.names()]
        if unknown:
            raise FitError(f"unknown RRAM parameters to fit: {', '.join(unknown)}")
        self.inputs = inputs
        self.index = torch.as_tensor(sample_index, dtype=torch.long)
        self.v = torch.tensor(sample_voltage_V, dtype=DTYPE)
        self.floor = current_floor_A
        self.fixed = {
            k: torch.tensor(x, dtype=DTYPE) for k, x in params.as_dict().items() if k not in names
        }

    def prepare(self, theta: torch.Tensor) -> RRAMTensors:
        """The cell with the free values ``theta`` ([p], or [B, p]) filled in."""
        return RRAMTensors({**self.fixed, **{n: theta[..., i] for i, n in enumerate(self.names)}})

    @staticmethod
    def _step(g: torch.Tensor, inputs: tuple[torch.Tensor, ...], d: RRAMTensors) -> torch.Tensor:
        v0, v1, h = inputs
        return rram_step(g, v0, h, d, v_end_V=v1)

    def _g0(self, theta: torch.Tensor) -> torch.Tensor:
        return self.prepare(theta).g_init_m * torch.ones(theta.shape[:-1], dtype=DTYPE)

    def _output(self, gap: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        d = self.prepare(theta)
        v = self.v.reshape((-1,) + (1,) * (theta.ndim - 1))
        return torch.asinh(rram_current_A(v, gap, d) / self.floor)

    def gap_m(self, values: np.ndarray) -> np.ndarray:
        """The gap [m] at the samples ([N], or [N, B] for values [B, p])."""
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        states = simulate(self._step, self._g0(theta), self.inputs, self.prepare(theta))
        return states[self.index].numpy()

    def current_A(self, values: np.ndarray) -> np.ndarray:
        """The predicted current [A] at the samples."""
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        gap = torch.from_numpy(self.gap_m(values))
        return rram_current_A(self.v, gap, self.prepare(theta)).numpy()

    def batch(self, values: np.ndarray) -> np.ndarray:
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        return self._output(torch.from_numpy(self.gap_m(values)), theta).numpy().T

    def __call__(self, values: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if not jacobian:
            return self._output(torch.from_numpy(self.gap_m(values)), theta).numpy(), None
        states, sens = simulate_with_jacobian(
            self._step, self.prepare, self._g0, self.inputs, theta
        )
        gap, sens = states[self.index], sens[self.index]
        y, dy_dg = torch.func.jvp(lambda g: self._output(g, theta), (gap,), (torch.ones_like(gap),))
        dy_dtheta = torch.func.jacfwd(lambda th: self._output(gap, th))(theta)
        return y.numpy(), (dy_dg[:, None] * sens + dy_dtheta).numpy()


RAMP_SUBSTEPS = 6
"""Sub-steps of a pulse edge (uniform). A level needs one step: the step is exact below
compliance and within 1e-3 nm of the exact ODE in it; the edges set the error: against
40 sub-steps, the read currents of 100 ns-10 us trains at 1.0-1.4 V are within 0.23 % (4
sub-steps: 0.35 %) on the default cell, 0.65 % on a faster one."""


def pulse_substeps(
    points: np.ndarray, ramp: int = RAMP_SUBSTEPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integration sub-steps of a piecewise-linear source through ``points`` [n, 2] (time
    [s], voltage [V]): start and end voltage [V] and length [s] of each sub-step, and the
    state index reached at each point. A level (constant voltage) is one step, a ramp
    ``ramp`` equal steps."""
    starts, ends, lengths, reached = [], [], [], [0]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        fractions = np.array([0.0, 1.0]) if v0 == v1 else np.linspace(0.0, 1.0, ramp + 1)
        times = t0 + (t1 - t0) * fractions
        volts = v0 + (v1 - v0) * fractions
        starts.append(volts[:-1])
        ends.append(volts[1:])
        lengths.append(np.diff(times))
        reached.append(reached[-1] + fractions.size - 1)
    return (
        np.concatenate(starts),
        np.concatenate(ends),
        np.concatenate(lengths),
        np.asarray(reached),
    )


@dataclass(frozen=True)
class PulseTrain:
    """A measured pulse train (SI units): one programming pulse of ``width_s`` [s] per
    ``amplitude_V`` [V] behind the current compliance ``compliance_A`` [A], each followed
    by a read at ``read_V`` [V] (timing ``shape``) giving ``read_current_A`` [A];
    ``read_voltage_V`` is the voltage across the cell during each read (a four-wire read;
    default ``read_V``)."""

    amplitude_V: np.ndarray
    width_s: float
    read_V: float
    compliance_A: float
    read_current_A: np.ndarray
    read_voltage_V: np.ndarray | None = None
    shape: PulseShape = field(default_factory=PulseShape)
    name: str = "pulses"

    def __post_init__(self) -> None:
        if not self.compliance_A > 0.0:
            raise FitError(f"{self.name}: compliance_A = {self.compliance_A!r} A must be > 0")
        n = np.asarray(self.amplitude_V).size
        for column in ("read_current_A", "read_voltage_V"):
            value = getattr(self, column)
            if value is not None and np.asarray(value).shape != (n,):
                raise FitError(f"{self.name}: {column} needs one value per pulse ({n})")

    @property
    def cell_read_voltage_V(self) -> np.ndarray:
        """The cell voltage [V] during each read."""
        if self.read_voltage_V is not None:
            return np.asarray(self.read_voltage_V, dtype=np.float64)
        return np.full(np.asarray(self.amplitude_V).size, float(self.read_V))


class RRAMPulseModel(RRAMCurrentModel):
    """``asinh(I_read/current_floor_A)`` of a :class:`PulseTrain`: the cell driven by the
    source waveform behind the compliance (:func:`~bruno_hil.physics.rram.
    rram_step_in_compliance` on :func:`pulse_substeps` with ``ramp_substeps`` per edge),
    read at each read's end."""

    def __init__(
        self,
        train: PulseTrain,
        params: RRAMParams,
        names: Sequence[str],
        current_floor_A: float = CURRENT_FLOOR_A,
        ramp_substeps: int = RAMP_SUBSTEPS,
    ) -> None:
        wave = pulse_train_waveform(train.amplitude_V, train.width_s, train.read_V, train.shape)
        v0, v1, h, reached = pulse_substeps(wave.points, ramp_substeps)
        compliance = np.full(h.size, float(train.compliance_A))
        inputs = tuple(torch.tensor(a, dtype=DTYPE) for a in (v0, v1, h, compliance))
        sample_v = train.cell_read_voltage_V
        self._setup(inputs, reached[wave.read_index], sample_v, params, names, current_floor_A)

    @staticmethod
    def _step(g: torch.Tensor, inputs: tuple[torch.Tensor, ...], d: RRAMTensors) -> torch.Tensor:
        v0, v1, h, compliance = inputs
        return rram_step_in_compliance(g, v0, v1, h, d, compliance)


@dataclass(frozen=True)
class Sweep:
    """A measured I-V sweep (SI units): ``current_A`` at ``time_s`` with ``voltage_V``
    across the cell (see the module)."""

    time_s: np.ndarray
    voltage_V: np.ndarray
    current_A: np.ndarray
    name: str = "sweep"


Experiment = Sweep | PulseTrain
"""One measurement from the cell's initial state (gap ``g_init_m``)."""


def measured_current_A(experiment: Experiment) -> np.ndarray:
    """The measured current [A] the fit compares: the sweep's, or the pulse train's reads."""
    if isinstance(experiment, Sweep):
        return np.asarray(experiment.current_A, dtype=np.float64)
    return np.asarray(experiment.read_current_A, dtype=np.float64)


def experiment_model(
    experiment: Experiment,
    params: RRAMParams,
    names: Sequence[str],
    current_floor_A: float = CURRENT_FLOOR_A,
) -> RRAMCurrentModel:
    """The model of one experiment (:class:`RRAMCurrentModel` or :class:`RRAMPulseModel`)."""
    if isinstance(experiment, Sweep):
        return RRAMCurrentModel(
            experiment.time_s, experiment.voltage_V, params, names, current_floor_A
        )
    return RRAMPulseModel(experiment, params, names, current_floor_A)


def experiment_from_frame(
    data: pd.DataFrame, name: str, settings: Mapping[str, Any] | None = None
) -> Experiment:
    """The experiment of a table with the file columns (:mod:`bruno_hil.calibration.io`):
    a :class:`Sweep` (``time_s``, ``voltage_V``, ``current_A``), or with ``amplitude_V``
    a :class:`PulseTrain` whose ``settings`` give ``width_s`` [s], ``read_V`` [V],
    ``compliance_A`` [A] and, optionally, the :class:`PulseShape` fields."""
    if "amplitude_V" not in data:
        return Sweep(
            data["time_s"].to_numpy(),
            data["voltage_V"].to_numpy(),
            data["current_A"].to_numpy(),
            name,
        )
    s = dict(settings or {})
    shape = {k: s[k] for k in ("edge_fraction", "read_s", "pause_s") if k in s}
    return PulseTrain(
        data["amplitude_V"].to_numpy(),
        s["width_s"],
        s["read_V"],
        s["compliance_A"],
        data["read_current_A"].to_numpy(),
        data["read_voltage_V"].to_numpy() if "read_voltage_V" in data else None,
        PulseShape(**shape),
        name,
    )


def experiment_from_file(m: Measurement) -> Experiment:
    """The experiment of a validated ``rram`` or ``rram_pulses`` file, named after it."""
    return experiment_from_frame(m.data, m.path.name, m.metadata)


def predict_experiment(params: RRAMParams, experiment: Experiment) -> np.ndarray:
    """The surrogate's current [A] for an experiment (sweep samples or pulse reads)."""
    return experiment_model(experiment, params, []).current_A(np.zeros(0))


@dataclass
class RRAMFit:
    """An RRAM calibration: fitted parameters (held ones at the prior), the fit, the
    experiments and the fitted surrogate's current [A] for each (the fit's
    ``prediction`` is on the asinh scale, all experiments end to end)."""

    params: RRAMParams
    result: FitResult
    experiments: list[Experiment]
    predicted_A: list[np.ndarray]
    current_floor_A: float

    @property
    def current_A(self) -> np.ndarray:
        """The measured current [A] of every experiment, end to end."""
        return np.concatenate([measured_current_A(e) for e in self.experiments])

    @property
    def predicted_current_A(self) -> np.ndarray:
        """The fitted surrogate's current [A], end to end."""
        return np.concatenate(self.predicted_A)

    @property
    def labels(self) -> np.ndarray:
        """The experiment name of every point, end to end."""
        return np.concatenate(
            [[e.name] * measured_current_A(e).size for e in self.experiments]
        ).astype(str)


def fit_rram_experiments(
    experiments: Sequence[Experiment],
    prior: RRAMParams | None = None,
    names: Sequence[str] = RRAM_FIT_NAMES,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    current_floor_A: float = CURRENT_FLOOR_A,
    **fit_options: object,
) -> RRAMFit:
    """Fit ``names`` (RRAMParams fields) to I-V sweeps and pulse trains together (each from
    the initial gap), starting from ``prior`` (default :class:`RRAMParams`; its
    temperature, gap window and initial gap are taken as known). ``fit_options`` go to
    :func:`bruno_hil.calibration.fit.fit`."""
    if not experiments:
        raise FitError("nothing to fit: no experiments")
    prior = prior if prior is not None else RRAMParams()
    models = [experiment_model(e, prior, names, current_floor_A) for e in experiments]
    y = np.arcsinh(np.concatenate([measured_current_A(e) for e in experiments]) / current_floor_A)
    result = fit(Concatenated(models), y, device_parameters(prior, names, bounds), **fit_options)  # type: ignore[arg-type]
    fitted = prior.replace(source="calibration fit", **result.values)
    predicted = np.split(
        current_floor_A * np.sinh(result.prediction), np.cumsum([m.v.numel() for m in models])[:-1]
    )
    return RRAMFit(fitted, result, list(experiments), predicted, current_floor_A)


def fit_rram(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    current_A: np.ndarray,
    prior: RRAMParams | None = None,
    names: Sequence[str] = RRAM_FIT_NAMES,
    **options: object,
) -> RRAMFit:
    """Fit ``names`` to one I-V sweep (SI units): :func:`fit_rram_experiments` of a
    :class:`Sweep`, with the same ``options``."""
    sweep = Sweep(np.asarray(time_s), np.asarray(voltage_V), np.asarray(current_A))
    return fit_rram_experiments([sweep], prior, names, **options)  # type: ignore[arg-type]


__all__ = [
    "CURRENT_FLOOR_A",
    "RAMP_SUBSTEPS",
    "RRAM_FIT_NAMES",
    "Experiment",
    "PulseTrain",
    "RRAMCurrentModel",
    "RRAMFit",
    "RRAMPulseModel",
    "Sweep",
    "experiment_from_file",
    "experiment_from_frame",
    "experiment_model",
    "fit_rram",
    "fit_rram_experiments",
    "measured_current_A",
    "predict_experiment",
    "pulse_substeps",
]
