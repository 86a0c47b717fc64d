"""Fit the FeCap surrogate to a measured charge (P-V) waveform.

The measured stimulus (``time_s``, ``voltage_V`` across the capacitor) drives the torch
FeCap physics of :mod:`bruno_hil.physics.fecap` (field, Merz rate, leakage); the model
predicts the charge a ferroelectric tester integrates from t = 0, as the
:class:`~bruno_hil.characterize.backend.MeasurementBackend` contract defines it::

    Q(t) = (C_fe + C_par)*V(t) + k*A*(P(t) + P_s) + integral_0^t I_leak dt + Q_offset

with ``P(0) = -P_s`` (the virgin / negatively poled state), ``C_fe`` and ``k`` those of
the HZO-interlayer stack (:mod:`bruno_hil.devices.fecap_stack`: ``Q = C_fe*V + k*A*P``)
and ``I_leak`` the membrane leak of :func:`~bruno_hil.physics.fecap.leak_current_A`.
``Q_offset`` [C] (``charge_offset_C``) is a nuisance term for data whose zero is
arbitrary (e.g. a centred ``polarization_C_per_m2``); it is always fitted.

P follows the voltage through each sample interval in ``substeps`` exponential midpoint
steps at the sub-step's mid-point voltage: ``relax(P_f, h) = P_t + (P - P_t)*exp(-r(E)*h)``
with ``E = E(V, P_f)`` and ``P_t = sign(E)*P_s``; the step is ``relax(relax(P, h/2), h)``.
It is unconditionally stable for any Merz rate and second order: on a 2000-point,
3.5 V, 1 kHz loop the charge differs from the ngspice compact model by 1.3e-4 of its
range with one sub-step (3e-5 with 2; exponential Euler: 1.2e-3 and 6e-4). Each sample
interval gets its own sub-steps (:func:`_substep_fractions`): V moves at most
:data:`MAX_SUBSTEP_V` per sub-step, and a level after a voltage change is followed from
a fraction of a ps on, where P switches fastest (or ``substeps`` in every interval).
Switching-kinetics pulses are best sampled geometrically from the edge's time scale
(:func:`~bruno_hil.characterize.stimulus.switching_kinetics_waveform`); uniformly sampled
ones (an instrument's) are integrated as well.

The device's leak is the I_0 part of :func:`~bruno_hil.physics.fecap.leak_current_A`
(``I_dsc = 0``; ``2*I_0*A*sinh(V/V_t)``, or ``I_0*A*|exp(V/V_t) - 1|`` for the prior's
``leak_form = "reference"``, which the fit keeps): ``i_dsc_A`` is the FeLIF circuit's discharge
current, not part of the capacitor, so it is neither used nor changed here (like the
compact model, whose device fields exclude it).

What a P-V loop determines (measured on ngspice loops with 0.5 % noise): P_s, t_int,
C_par to < 2 %, and one point of the Merz law, the coercive field at the loop's sweep
rate. The triple (E_a, alpha, tau_0) that sets it is nearly degenerate: fits of a 1 kHz
loop freed of all three found distinct minima, as good as the truth within the noise
(chi-square within ~7), with E_a 13 % and tau_0 a factor 3-5 apart; loops at 100 Hz, 1
and 10 kHz together did not lift it. So by default E_a is fitted with alpha and tau_0
held at the prior (:data:`FECAP_MERZ_NAMES`); free them with ``names`` and the
identifiability check of :func:`bruno_hil.calibration.fit.fit` reports (and holds) what
the data cannot pin down. The leakage I_0 of a good capacitor is invisible at kHz (its
charge is ~1e-3 of the switched charge) and is then reported as not identifiable.

Switching-kinetics pulses lift the degeneracy: after poling at -4 V, one 1 ms pulse at
each of 0.75, 1, 1.25, 1.5, 2, 2.5, 3 and 4 V with 2 ns edges (switched fractions 0.01
to 1; 2261 samples, the charge followed from ~50 ps to 1 ms) give tau(E) over ~9
decades. On ngspice data (0.5 % noise; truth E_a 1.4e9 V/m, alpha 1.5, tau_0 3e-13 s,
prior the defaults; one noise seed) all seven fields are identifiable: E_a -0.9 %, alpha
+0.3 %, tau_0 +4 %, P_s, t_int < 0.1 %, C_par 1 %, and I_0 1.4 % (the leak's charge over
1 ms at 4 V is ~5 % of the switched charge), RMSE 0.99 x the noise, ~12 s with
``substeps=1`` (the surrogate is then within 2.5e-4 of the ngspice charge's range). With
a 1 kHz loop appended (~85 s): E_a +1.0 %, alpha -0.4 %, tau_0 -7 %. The linearised
sigmas of E_a, alpha, tau_0 (0.1-0.2 %) understate these errors: the valley along the
Merz triple is long.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from bruno_hil.calibration.fit import (
    FitError,
    FitParameter,
    FitResult,
    device_parameters,
    fit,
    simulate,
    simulate_with_jacobian,
)
from bruno_hil.calibration.io import Measurement, check_charge_density
from bruno_hil.devices.params import FeCapParams
from bruno_hil.physics.fecap import (
    DTYPE,
    FeCapTensors,
    field_V_per_m,
    leak_current_A,
    switching_rate_per_s,
)

FECAP_FIT_NAMES: tuple[str, ...] = (
    "p_s_C_per_m2",
    "e_a_V_per_m",
    "t_int_m",
    "i_0_A_per_m2",
    "c_par_F",
)
"""The FeCapParams fields fitted by default (see :func:`fit_fecap` for alpha, tau_0)."""
FECAP_MERZ_NAMES: tuple[str, ...] = ("alpha", "tau_0_s")
"""The Merz-law fields held by default: with E_a they form a nearly degenerate triple."""
OFFSET = "charge_offset_C"
"""The nuisance parameter: the charge's arbitrary zero [C]."""
MAX_SUBSTEP_V = 0.02
"""Largest voltage change [V] per integration sub-step (sets ``substeps``)."""
MAX_SUBSTEPS = 64
"""Most sub-steps of one sample interval of a voltage change."""
SETTLE_SUBSTEPS = 16
"""Sub-steps of the level right after a voltage change, growing by 2 from
``h/(2**16 - 1)``: P switches fastest as the level begins (see :func:`_substep_fractions`)."""


def charge_from_measurement(m: Measurement, params: FeCapParams) -> np.ndarray:
    """The measured charge [C]: ``charge_C``, or ``polarization_C_per_m2 * area_m2``. A
    charge column without an area in the file is checked against ``params.area_m2`` (a
    charge in uC or nC is too large for any FeCap of that area)."""
    if "charge_C" in m.data:
        charge_C = m.data["charge_C"].to_numpy()
        if "area_m2" not in m.metadata:
            check_charge_density(m.path, charge_C, params.area_m2, None)
        return charge_C
    return m.data["polarization_C_per_m2"].to_numpy() * params.area_m2


def _substep_fractions(voltage_V: np.ndarray, substeps: int | None) -> list[np.ndarray]:
    """The sub-step boundaries of each sample interval, as fractions of it: ``substeps``
    equal ones; or, by default, enough equal ones that V moves at most
    :data:`MAX_SUBSTEP_V` per sub-step (at most :data:`MAX_SUBSTEPS`), and in a level
    that follows a voltage change :data:`SETTLE_SUBSTEPS` geometric ones. So uniformly
    sampled data (an instrument's: 1 us samples, edges one sample long, P switching in
    ns) are integrated within 0.35 % of the charge's range (one sub-step per level and
    16 per edge: 54 %)."""
    if substeps is not None:
        if not 1 <= substeps <= 1000:
            raise FitError(f"substeps = {substeps!r} must lie in [1, 1000]")
        return [np.linspace(0.0, 1.0, substeps + 1)] * (voltage_V.size - 1)
    changes = np.abs(np.diff(voltage_V))
    n = np.clip(np.ceil(changes / MAX_SUBSTEP_V), 1, MAX_SUBSTEPS).astype(np.int64)
    settle = np.concatenate([[0.0], np.cumsum(2.0 ** np.arange(SETTLE_SUBSTEPS))])
    settle /= settle[-1]
    out = []
    for i, count in enumerate(n):
        if count == 1 and i > 0 and n[i - 1] > 1:
            out.append(settle)
        else:
            out.append(np.linspace(0.0, 1.0, count + 1))
    return out


class _Stepper(NamedTuple):
    """What one polarization step needs: the device and ``E = V*e_per_V - P*e_per_C_per_m2``."""

    d: FeCapTensors
    e_per_V: torch.Tensor
    e_per_C_per_m2: torch.Tensor


class FeCapChargeModel:
    """The charge waveform Q(t) [C] for a voltage waveform, as a function of the free
    parameters ``names`` (FeCapParams fields, and :data:`OFFSET` last if present); the
    other fields are those of ``params``. A :class:`~bruno_hil.calibration.fit.Model`."""

    def __init__(
        self,
        time_s: np.ndarray,
        voltage_V: np.ndarray,
        params: FeCapParams,
        names: Sequence[str],
        substeps: int | None = None,
    ) -> None:
        t = np.asarray(time_s, dtype=np.float64)
        v = np.asarray(voltage_V, dtype=np.float64)
        if t.shape != v.shape or t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0.0):
            raise FitError("time_s and voltage_V: equal-length 1-D arrays, time increasing")
        self.names = list(names)
        fittable = {*FeCapParams.names(), OFFSET} - {"i_dsc_A", *FeCapParams.choice_names()}
        unknown = [n for n in self.names if n not in fittable]
        if unknown:
            raise FitError(
                f"cannot fit {', '.join(unknown)} to a charge waveform; fittable:"
                f" {', '.join(sorted(fittable))}"
            )
        fractions = _substep_fractions(v, substeps)
        counts = np.array([f.size - 1 for f in fractions])
        self.m = int(counts.max())
        # the index of each sample in the sub-stepped trajectory
        self.samples = np.concatenate([[0], np.cumsum(counts)])
        k = np.repeat(np.arange(counts.size), counts)
        start = np.concatenate([f[:-1] for f in fractions])
        end = np.concatenate([f[1:] for f in fractions])
        v_mid = v[k] + np.diff(v)[k] * 0.5 * (start + end)
        h = np.diff(t)[k] * (end - start)
        self.inputs = (torch.tensor(v_mid, dtype=DTYPE), torch.tensor(h, dtype=DTYPE))
        self.v = torch.tensor(v, dtype=DTYPE)
        self.dt = torch.tensor(np.diff(t), dtype=DTYPE)
        device = params.replace(source="FeCap charge model", i_dsc_A=0.0).numbers()
        self.fixed = {k: torch.tensor(x, dtype=DTYPE) for k, x in device.items() if k not in names}
        self.leak_form = params.leak_form

    def tensors(self, theta: torch.Tensor) -> FeCapTensors:
        """The device with the free values ``theta`` ([p], or [B, p] for a batch of
        parameter sets) filled in."""
        free = {n: theta[..., i] for i, n in enumerate(self.names) if n != OFFSET}
        return FeCapTensors({**self.fixed, **free}, leak_form=self.leak_form)

    def prepare(self, theta: torch.Tensor) -> _Stepper:
        """The device and the field's coefficients for the step."""
        d = self.tensors(theta)
        one = torch.ones_like(d.p_s_C_per_m2)
        e_per_V = field_V_per_m(one, 0.0 * one, d)
        e_per_C_per_m2 = -field_V_per_m(0.0 * one, one, d)
        return _Stepper(d, e_per_V, e_per_C_per_m2)

    @staticmethod
    def _step(p: torch.Tensor, inputs: tuple[torch.Tensor, ...], c: _Stepper) -> torch.Tensor:
        """Exponential midpoint step: the field at the half-step polarization sets the
        rate and direction of the full step (second order; see the module)."""
        v, h = inputs

        def relax(p_field: torch.Tensor, h_s: torch.Tensor) -> torch.Tensor:
            e = v * c.e_per_V - p_field * c.e_per_C_per_m2  # field_V_per_m, linear in V, P
            target = torch.sign(e) * c.d.p_s_C_per_m2
            return target + (p - target) * torch.exp(-switching_rate_per_s(e, c.d) * h_s)

        return relax(relax(p, 0.5 * h), h)

    def _p0(self, theta: torch.Tensor) -> torch.Tensor:
        return -self.tensors(theta).p_s_C_per_m2

    def _charge(self, p: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Q [C] at the samples ([N], or [N, B]) from P [C/m^2] at the samples (elementwise
        in P)."""
        d = self.tensors(theta)
        shape = (-1,) + (1,) * (theta.ndim - 1)
        v, dt = self.v.reshape(shape), self.dt.reshape(shape)
        leak = leak_current_A(v, d)
        q_leak = torch.cat([leak[:1] * 0.0, torch.cumsum(0.5 * (leak[1:] + leak[:-1]) * dt, 0)])
        offset = theta[..., self.names.index(OFFSET)] if OFFSET in self.names else 0.0
        q_pol = d.charge_per_polarization_m2 * (p + d.p_s_C_per_m2)
        return d.c_tot_F * v + q_pol + q_leak + offset

    def polarization(self, values: np.ndarray) -> np.ndarray:
        """P [C/m^2] at the samples ([N], or [N, B]) for free values ``values`` ([p], or
        [B, p])."""
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        ps = simulate(self._step, self._p0(theta), self.inputs, self.prepare(theta))
        return ps[self.samples].numpy()

    def batch(self, values: np.ndarray) -> np.ndarray:
        """Predictions [B, N] for a batch of parameter sets [B, p] in one simulation."""
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        p = torch.from_numpy(self.polarization(values))
        return self._charge(p, theta).numpy().T

    def __call__(self, values: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        theta = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if not jacobian:
            p = torch.from_numpy(self.polarization(values))
            return self._charge(p, theta).numpy(), None
        ps, sens = simulate_with_jacobian(self._step, self.prepare, self._p0, self.inputs, theta)
        p, s = ps[self.samples], sens[self.samples]
        q, dq_dp = torch.func.jvp(lambda x: self._charge(x, theta), (p,), (torch.ones_like(p),))
        dq_dtheta = torch.func.jacfwd(lambda th: self._charge(p, th))(theta)
        return q.numpy(), (dq_dp[:, None] * s + dq_dtheta).numpy()


@dataclass
class FeCapFit:
    """A FeCap calibration: the fitted parameters (held ones at their prior values), the
    fit's statistics and the data it was fitted to."""

    params: FeCapParams
    result: FitResult
    time_s: np.ndarray
    voltage_V: np.ndarray
    charge_C: np.ndarray
    substeps: int


def fit_fecap(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    charge_C: np.ndarray,
    prior: FeCapParams | None = None,
    names: Sequence[str] = FECAP_FIT_NAMES,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    substeps: int | None = None,
    **fit_options: object,
) -> FeCapFit:
    """Fit ``names`` (FeCapParams fields) and the charge offset to a measured charge
    waveform (SI units), starting from ``prior`` (default :class:`FeCapParams`; its
    geometry, area and permittivities are taken as known). ``fit_options`` go to
    :func:`bruno_hil.calibration.fit.fit`."""
    prior = prior if prior is not None else FeCapParams()
    q = np.asarray(charge_C, dtype=np.float64)
    params: list[FitParameter] = device_parameters(prior, names, bounds)
    # C_par may be ~0: judge its uncertainty against the capacitance it adds to
    params = [
        dataclasses.replace(p, scale=prior.c_fe_F) if p.name == "c_par_F" else p for p in params
    ]
    span = float(np.ptp(q)) or 1e-15
    params.append(FitParameter(OFFSET, float(q[0]), float(q.min()) - span, float(q.max()) + span))
    model = FeCapChargeModel(time_s, voltage_V, prior, [p.name for p in params], substeps)
    options = {"protected": (OFFSET,), **fit_options}
    result = fit(model, q, params, **options)  # type: ignore[arg-type]
    fitted = prior.replace(
        source="calibration fit", **{k: v for k, v in result.values.items() if k != OFFSET}
    )
    return FeCapFit(fitted, result, np.asarray(time_s), np.asarray(voltage_V), q, model.m)


def predict_charge(
    params: FeCapParams, time_s: np.ndarray, voltage_V: np.ndarray, substeps: int | None = None
) -> np.ndarray:
    """The surrogate's charge waveform [C] (from 0 at t = 0) for ``params``."""
    model = FeCapChargeModel(time_s, voltage_V, params, [], substeps)
    return model(np.zeros(0), False)[0]


__all__ = [
    "FECAP_FIT_NAMES",
    "FECAP_MERZ_NAMES",
    "OFFSET",
    "FeCapChargeModel",
    "FeCapFit",
    "charge_from_measurement",
    "fit_fecap",
    "predict_charge",
]
