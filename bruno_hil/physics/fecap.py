"""The FeCap membrane of the FeLIF neuron in torch: field, Merz switching, leakage, and the
fine and coarse steps that BRUNO combines.

Equations (SI units; the same as :class:`bruno_hil.devices.FeCapParams` and the compact
model in ``device_models/fecap.va``):

* ``E = (V*eps_int - P*t_int/eps0) / (t_hzo*eps_int + t_int*eps_hzo)``            [V/m]
* ``dP/dt = (sign(E)*P_s - P) * r(E)``, ``r = exp(-(E_a/(|E|+soft_E))**alpha)/tau_0`` [1/s]
* ``C_tot*dV/dt = I_in - I_leak - A*dP/dt``                                          [A]
* ``I_leak = sign(V)*(I_0*A*(exp(V/V_t) - 1) + I_dsc)``                               [A]
* spike when ``V > V_thr``; then ``V <- v_reset``, ``P <- -P_s``; ``|V| <= v_clip``.

One step of length ``h`` (:func:`fecap_step`) integrates P exactly for the field frozen
at the start of the step (exponential Euler: ``P += (P_target - P)*(1 - exp(-r*h))``) and
V by explicit Euler with the switched charge ``A*dP`` taken out of the membrane, so the
charge balance is exact; the switched charge is capped where it would drive the field
through zero (switching cannot reverse its own field; only a long step such as BRUNO's
coarse 1 ms step ever reaches the cap, and there it yields the physical small-signal gain
of a switching FeCap, ~1/10 of the dielectric one at the defaults).
Plain explicit Euler on P is unstable wherever ``r*h > 2``: at the threshold field
(2.5 V, ~2.3e8 V/m) ``1/r`` is ~1 ns, a thousandth of the 1 us fine step;
the reference code's Euler step overshoots there and is rescued by the clip to ``±P_s``,
whereas the exponential step lands on the same ``±P_s`` by construction and is right when
``r*h ~ 1``. ``-expm1(-r*h)`` keeps tiny switching increments (``r*h`` ~1e-20 far below
the coercive field) from rounding to zero.

Everything runs in float64: switching rates span 30 decades and the membrane charge per
fine step (~1e-15 C) is small next to ``A*P_s`` (~5e-12 C).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from bruno_hil.devices.params import EPS0_F_PER_M, FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.physics.surrogate import spike_fn

DTYPE = torch.float64
"""The dtype of every FeLIF computation (see the module docstring)."""
RATIO_CAP = 1e10
"""Largest ``E_a/(|E|+soft_E)`` evaluated in the Merz rate (the rate is 0.0 there)."""


@dataclass(frozen=True)
class FeCapTensors:
    """A population of FeCaps: each :class:`FeCapParams` field as a float64 tensor that
    broadcasts against ``[..., N]`` state (one value per neuron, or a scalar)."""

    values: dict[str, torch.Tensor]

    @classmethod
    def from_params(
        cls,
        params: FeCapParams,
        factors: torch.Tensor | None = None,
        device: torch.device | str | None = None,
    ) -> FeCapTensors:
        """``params`` for every neuron; ``factors`` [len(FECAP_VARIABLE_FIELDS), N], if
        given, multiplies the device-to-device variable fields neuron by neuron."""
        values = {
            name: torch.tensor(value, dtype=DTYPE, device=device)
            for name, value in params.as_dict().items()
        }
        if factors is not None:
            for row, name in zip(factors.to(DTYPE), FECAP_VARIABLE_FIELDS, strict=True):
                values[name] = values[name] * row.to(values[name].device)
        return cls(values)

    def __getattr__(self, name: str) -> torch.Tensor:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def c_tot_F(self) -> torch.Tensor:
        """Membrane capacitance [F]: ``eps0*eps_hzo*A/t_hzo + C_par``."""
        return EPS0_F_PER_M * self.eps_hzo * self.area_m2 / self.t_hzo_m + self.c_par_F


class FeLIFState(NamedTuple):
    """State of a FeLIF population, each ``[..., N]`` float64."""

    v_V: torch.Tensor
    """Membrane (FeCap) voltage [V]."""
    p_C_per_m2: torch.Tensor
    """Remanent polarization of the FeCap [C/m^2]."""

    @classmethod
    def rest(cls, d: FeCapTensors, shape: tuple[int, ...]) -> FeLIFState:
        """The start state: ``V = 0``, ``P = -P_s``, broadcast to ``shape``."""
        v = torch.zeros(shape, dtype=DTYPE, device=d.p_s_C_per_m2.device)
        return cls(v, (-d.p_s_C_per_m2).expand(shape).clone())


def field_V_per_m(v_V: torch.Tensor, p_C_per_m2: torch.Tensor, d: FeCapTensors) -> torch.Tensor:
    """Field in the ferroelectric layer [V/m]."""
    num = v_V * d.eps_int - p_C_per_m2 * (d.t_int_m / EPS0_F_PER_M)
    return num / (d.t_hzo_m * d.eps_int + d.t_int_m * d.eps_hzo)


def switching_rate_per_s(e_V_per_m: torch.Tensor, d: FeCapTensors) -> torch.Tensor:
    """Merz switching rate ``1/tau(E)`` [1/s]. ``E_a/(|E|+soft_E)`` is capped where the
    rate is exactly zero in float64 anyway (any alpha >= 0.3), so that no gradient meets
    inf * 0."""
    ratio = torch.clamp(d.e_a_V_per_m / (e_V_per_m.abs() + d.soft_e_V_per_m), max=RATIO_CAP)
    return torch.exp(-(ratio**d.alpha)) / d.tau_0_s


def leak_current_A(v_V: torch.Tensor, d: FeCapTensors) -> torch.Tensor:
    """Leakage out of the membrane [A] (the BRUNO reference form, not odd in V)."""
    return torch.sign(v_V) * (d.i_0_A_per_m2 * d.area_m2 * torch.expm1(v_V / d.v_t_V) + d.i_dsc_A)


def fecap_step(
    state: FeLIFState,
    current_A: torch.Tensor,
    h_s: float,
    d: FeCapTensors,
    freeze_rate: bool = False,
) -> FeLIFState:
    """One step of ``h_s`` [s] with input current ``current_A`` [A], before any spike
    check (see the module docstring for the scheme).

    ``freeze_rate``: treat the Merz rate as a constant of the step in the backward pass
    (the forward value is unchanged). The full derivative of the rate makes the step's
    Jacobian explode where the switching feedback is faster than the step: its largest
    eigenvalue reaches ~22 at 1 us, ~45 at 50 us and ~180 at 1 ms (while the continuous
    system is stable: switching conserves ``C*V + A*P``), so products of step Jacobians
    overflow. With the rate frozen the Jacobian is ``diag(~1, exp(-r*h))`` plus the
    P -> V coupling and the switching cap, and stays bounded."""
    v, p = state
    e = field_V_per_m(v, p, d)
    direction = torch.sign(e)
    rate = switching_rate_per_s(e.detach() if freeze_rate else e, d)
    gap = (direction * d.p_s_C_per_m2 - p).abs()
    c_tot, area = d.c_tot_F, d.area_m2
    step = gap * -torch.expm1(-rate * h_s)
    v_free = v + h_s * (current_A - leak_current_A(v, d)) / c_tot
    # The switched charge leaves the membrane, which lowers the field: P stops where the
    # field would reach zero (only ever reached when r*h >> 1, e.g. in a coarse step).
    limit = (v_free * d.eps_int - p * (d.t_int_m / EPS0_F_PER_M)) / (
        area * d.eps_int / c_tot + d.t_int_m / EPS0_F_PER_M
    )
    dp = direction * torch.minimum(step, torch.relu(direction * limit))
    p_next = torch.clamp(p + dp, -d.p_s_C_per_m2, d.p_s_C_per_m2)
    v_next = torch.clamp(v_free - area * (p_next - p) / c_tot, -d.v_clip_V, d.v_clip_V)
    return FeLIFState(v_next, p_next)


def coarse_step(
    state: FeLIFState,
    current_A: torch.Tensor,
    h_s: float,
    d: FeCapTensors,
    beta: float,
    surrogate: str = "superspike",
) -> tuple[torch.Tensor, FeLIFState]:
    """One differentiable step of ``h_s`` with spike and reset: (spikes, next state).
    The spike's backward pass is the surrogate on ``V - V_thr`` [V]; the reset gate is
    detached."""
    v, p = fecap_step(state, current_A, h_s, d, freeze_rate=True)
    spikes = spike_fn(v - d.v_thr_V, beta, surrogate)
    gate = spikes.detach()
    v = v + gate * (d.v_reset_V - v)
    p = p + gate * (-d.p_s_C_per_m2 - p)
    return spikes, FeLIFState(v, p)


class FineTrace(NamedTuple):
    """The fine forward of a FeLIF layer sampled at network-step boundaries, each
    ``[T, B, N]``: spikes in each step (a count), then V [V] and P [C/m^2] at its end."""

    spikes: torch.Tensor
    v_V: torch.Tensor
    p_C_per_m2: torch.Tensor


@torch.no_grad()
def fine_trajectory(
    state: FeLIFState,
    currents_A: torch.Tensor,
    dt_s: float,
    n_inner: int,
    d: FeCapTensors,
    cycle_cv: float = 0.0,
    generator: torch.Generator | None = None,
) -> FineTrace:
    """Integrate ``currents_A`` [T, B, N] (held constant over each step of ``dt_s`` [s])
    with ``n_inner`` fine steps per network step, spiking and resetting inside the step.

    ``cycle_cv`` > 0 adds cycle-to-cycle noise: every network step, each neuron's
    attempt time ``tau_0`` is scaled by ``max(0.05, 1 + cycle_cv*N(0,1))``."""
    h = dt_s / n_inner
    v, p = (x.to(DTYPE).clone() for x in state)
    currents = currents_A.to(DTYPE)
    out_s, out_v, out_p = (torch.empty_like(currents) for _ in range(3))
    for t in range(currents.shape[0]):
        values = d.values
        if cycle_cv > 0:
            noise = torch.randn(v.shape, generator=generator, dtype=DTYPE, device=v.device)
            values = {**values, "tau_0_s": d.tau_0_s * torch.clamp(1 + cycle_cv * noise, 0.05)}
        d_t, count = FeCapTensors(values), torch.zeros_like(v)
        for _ in range(n_inner):
            v, p = fecap_step(FeLIFState(v, p), currents[t], h, d_t)
            fired = v > d_t.v_thr_V
            count += fired
            v = torch.where(fired, d_t.v_reset_V, v)
            p = torch.where(fired, -d_t.p_s_C_per_m2, p)
        out_s[t], out_v[t], out_p[t] = count, v, p
    return FineTrace(out_s, out_v, out_p)
