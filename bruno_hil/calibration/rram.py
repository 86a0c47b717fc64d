"""Fit the RRAM surrogate to a measured I-V sweep.

The measured voltage across the cell (``voltage_V`` at ``time_s``; a DC sweep of a
hysteretic cell is a slow transient) drives the torch filament-gap model of
:mod:`bruno_hil.physics.rram`: the gap starts at ``g_init_m`` and follows the voltage,
piecewise linear between samples (:func:`~bruno_hil.physics.rram.rram_step`'s exact
ramp), confined to ``[g_min_m, g_max_m]``; the predicted current at each sample is
``I(V, g)``. Where the bench's compliance limited the current, the cell voltage (what an
SMU with remote sense reports) is what the model needs, so the file's ``voltage_V`` must
be the voltage across the cell.

The current spans decades (HRS to LRS), so the fit compares ``asinh(I/I_floor)``
(logarithmic above ``current_floor_A``, linear and sign-preserving below): a relative
read noise of 2 % is a residual of ~0.02 on that scale.

What an I-V sweep determines at one temperature (see :func:`fit_rram`): the read
parameters ``i_0_A``, ``g_0_m``, ``v_0_V`` and the switching ``vel_0_m_per_s`` and
``gamma``. The velocity enters only as ``vel_0*exp(-e_a/kT)`` and the field factor only
as ``gamma*a_0/t_ox``, so ``e_a_eV``, ``a_0_m`` and ``t_ox_m`` are degenerate with them
and held at the prior unless asked for (then the fit reports them as degenerate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bruno_hil.calibration.fit import (
    FitError,
    FitResult,
    device_parameters,
    fit,
    simulate,
    simulate_with_jacobian,
)
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics.rram import DTYPE, RRAMTensors, rram_current_A, rram_step

RRAM_FIT_NAMES: tuple[str, ...] = ("i_0_A", "g_0_m", "v_0_V", "vel_0_m_per_s", "gamma")
"""The RRAMParams fields fitted by default."""
CURRENT_FLOOR_A = 1e-9
"""Default current scale [A] of the ``asinh`` comparison."""


class RRAMCurrentModel:
    """``asinh(I/current_floor_A)`` at the samples of a voltage waveform, as a function of
    the free RRAMParams fields ``names`` (the others from ``params``). A
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
        if not current_floor_A > 0.0:
            raise FitError(f"current_floor_A = {current_floor_A!r} must be > 0")
        self.names = list(names)
        unknown = [n for n in self.names if n not in RRAMParams.names()]
        if unknown:
            raise FitError(f"unknown RRAM parameters to fit: {', '.join(unknown)}")
        self.inputs = tuple(torch.tensor(a, dtype=DTYPE) for a in (v[:-1], v[1:], np.diff(t)))
        self.v = torch.tensor(v, dtype=DTYPE)
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
        return simulate(self._step, self._g0(theta), self.inputs, self.prepare(theta)).numpy()

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
        gap, sens = simulate_with_jacobian(self._step, self.prepare, self._g0, self.inputs, theta)
        y, dy_dg = torch.func.jvp(lambda g: self._output(g, theta), (gap,), (torch.ones_like(gap),))
        dy_dtheta = torch.func.jacfwd(lambda th: self._output(gap, th))(theta)
        return y.numpy(), (dy_dg[:, None] * sens + dy_dtheta).numpy()


@dataclass
class RRAMFit:
    """An RRAM calibration: fitted parameters (held ones at the prior), the fit and the
    data (current in A; the fit's ``prediction`` is on the asinh scale)."""

    params: RRAMParams
    result: FitResult
    time_s: np.ndarray
    voltage_V: np.ndarray
    current_A: np.ndarray
    predicted_current_A: np.ndarray
    current_floor_A: float


def fit_rram(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    current_A: np.ndarray,
    prior: RRAMParams | None = None,
    names: Sequence[str] = RRAM_FIT_NAMES,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    current_floor_A: float = CURRENT_FLOOR_A,
    **fit_options: object,
) -> RRAMFit:
    """Fit ``names`` (RRAMParams fields) to an I-V sweep (SI units), starting from
    ``prior`` (default :class:`RRAMParams`; its temperature, gap window and initial gap
    are taken as known). ``fit_options`` go to :func:`bruno_hil.calibration.fit.fit`."""
    prior = prior if prior is not None else RRAMParams()
    model = RRAMCurrentModel(time_s, voltage_V, prior, names, current_floor_A)
    y = np.arcsinh(np.asarray(current_A, dtype=np.float64) / current_floor_A)
    result = fit(model, y, device_parameters(prior, names, bounds), **fit_options)  # type: ignore[arg-type]
    fitted = prior.replace(source="calibration fit", **result.values)
    predicted = current_floor_A * np.sinh(result.prediction)
    return RRAMFit(
        fitted,
        result,
        np.asarray(time_s),
        np.asarray(voltage_V),
        np.asarray(current_A),
        predicted,
        current_floor_A,
    )


def predict_current(params: RRAMParams, time_s: np.ndarray, voltage_V: np.ndarray) -> np.ndarray:
    """The surrogate's current [A] for a voltage waveform, from the gap ``g_init_m``."""
    return RRAMCurrentModel(time_s, voltage_V, params, []).current_A(np.zeros(0))


__all__ = [
    "CURRENT_FLOOR_A",
    "RRAM_FIT_NAMES",
    "RRAMCurrentModel",
    "RRAMFit",
    "fit_rram",
    "predict_current",
]
