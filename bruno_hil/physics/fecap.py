"""The FeCap membrane of the FeLIF neuron in torch: field, Merz switching, leakage, and the
fine and coarse steps that BRUNO combines.

Equations (SI units; the same as :class:`bruno_hil.devices.FeCapParams` and the compact
model in ``device_models/fecap.va``):

* ``E = (V*eps_int - P*t_int/eps0) / (t_hzo*eps_int + t_int*eps_hzo)``            [V/m]
* ``dP/dt = (sign(E)*P_s - P) * r(E)``, ``r = exp(-(E_a/(|E|+soft_E))**alpha)/tau_0`` [1/s]
* ``C_tot*dV/dt = I_in - I_leak - k*A*dP/dt``, ``C_tot = C_fe + C_par``               [A]
* ``I_leak = 2*I_0*A*sinh(V/V_t) + sign(V)*I_dsc`` (``leak_form`` passive) or
  ``sign(V)*(I_0*A*(exp(V/V_t) - 1) + I_dsc)`` (reference, the default for now)      [A]
* spike when ``V > V_thr``; then ``V <- v_reset``, ``P <- -P_s``; ``|V| <= v_clip``.

``C_fe`` (HZO and interlayer in series) and ``k = t_hzo*eps_int/(t_hzo*eps_int +
t_int*eps_hzo)`` (0.905 at the defaults) come from the stack's terminal charge
``Q = C_fe*V + k*A*P`` (:mod:`bruno_hil.devices.fecap_stack`).

One step of length ``h`` (:func:`fecap_step`) integrates P exactly for the field frozen
at the start of the step (exponential Euler: ``P += (P_target - P)*(1 - exp(-r*h))``) and
V by explicit Euler with the switched charge ``k*A*dP`` taken out of the membrane, so the
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
from typing import ClassVar, NamedTuple

import torch

from bruno_hil.devices.fecap_stack import (
    EPS0_F_PER_M,
    charge_per_polarization_m2,
    dielectric_capacitance_F,
    field_V_per_m,
    membrane_capacitance_F,
)
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.physics import fine_kernel
from bruno_hil.physics.fine_kernel import FINE_KERNELS
from bruno_hil.physics.surrogate import spike_fn
from bruno_hil.physics.tensors import DTYPE, DeviceTensors
from bruno_hil.settings import check_choice

RATIO_CAP = 1e10
"""Largest ``E_a/(|E|+soft_E)`` evaluated in the Merz rate (the rate is 0.0 there)."""


__all__ = [
    "DTYPE",
    "RATIO_CAP",
    "FeCapTensors",
    "FeLIFState",
    "FineTrace",
    "coarse_step",
    "cycle_factors",
    "fecap_step",
    "field_V_per_m",
    "fine_trajectory",
    "leak_current_A",
    "switching_rate_per_s",
]


@dataclass(frozen=True)
class FeCapTensors(DeviceTensors[FeCapParams]):
    """A population of FeCaps: each :class:`FeCapParams` field as a float64 tensor that
    broadcasts against ``[..., N]`` state (one value per neuron, or a scalar); ``factors``
    of :meth:`from_params` scale the :data:`FECAP_VARIABLE_FIELDS`."""

    variable_fields: ClassVar[tuple[str, ...]] = FECAP_VARIABLE_FIELDS
    leak_form: str = "reference"
    """:attr:`FeCapParams.leak_form`: ``passive`` or ``reference``."""

    @property
    def c_fe_F(self) -> torch.Tensor:
        """Linear (dielectric) capacitance of the FeCap [F] (:func:`dielectric_capacitance_F`)."""
        return dielectric_capacitance_F(self)

    @property
    def charge_per_polarization_m2(self) -> torch.Tensor:
        """Plate charge per unit polarization ``k*A`` [m^2] (:func:`charge_per_polarization_m2`)."""
        return charge_per_polarization_m2(self)

    @property
    def c_tot_F(self) -> torch.Tensor:
        """Membrane capacitance [F]: dielectric plus ``C_par`` (:func:`membrane_capacitance_F`)."""
        return membrane_capacitance_F(self)


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


def switching_rate_per_s(e_V_per_m: torch.Tensor, d: FeCapTensors) -> torch.Tensor:
    """Merz switching rate ``1/tau(E)`` [1/s]. ``E_a/(|E|+soft_E)`` is capped where the
    rate is exactly zero in float64 anyway (any alpha >= 0.3), so that no gradient meets
    inf * 0.

    ``ratio**alpha`` is taken as ``exp(alpha*log(ratio))``: torch's ``exp``, ``log`` and
    ``expm1`` give every element the same value wherever it sits in a tensor, whereas its
    ``pow`` hands the last few elements of a tensor to another library, so a neuron's
    trajectory would depend on the batch shape (the fine forward amplifies that rounding
    to volts at 100 inner steps), and the compiled fine forward could not reproduce it."""
    ratio = torch.clamp(d.e_a_V_per_m / (e_V_per_m.abs() + d.soft_e_V_per_m), max=RATIO_CAP)
    return torch.exp(-torch.exp(d.alpha * torch.log(ratio))) / d.tau_0_s


def leak_current_A(v_V: torch.Tensor, d: FeCapTensors) -> torch.Tensor:
    """Leakage out of the membrane [A] at ``v_V`` [V], in the form ``d.leak_form``:
    ``passive`` ``2*I_0*A*sinh(V/V_t) + sign(V)*I_dsc`` (odd, ``I*V >= 0``; the sinh as
    ``expm1(x) - expm1(-x)``, exact near 0), or ``reference``
    ``sign(V)*(I_0*A*(exp(V/V_t) - 1) + I_dsc)`` (the BRUNO reference code's, not odd:
    it delivers power for V < 0)."""
    x = v_V / d.v_t_V
    if d.leak_form == "reference":
        return torch.sign(v_V) * (d.i_0_A_per_m2 * d.area_m2 * torch.expm1(x) + d.i_dsc_A)
    odd = d.i_0_A_per_m2 * d.area_m2 * (torch.expm1(x) - torch.expm1(-x))
    return odd + torch.sign(v_V) * d.i_dsc_A


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
    c_tot, area = d.c_tot_F, d.charge_per_polarization_m2
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
    freeze_rate: bool = True,
) -> tuple[torch.Tensor, FeLIFState]:
    """One differentiable step of ``h_s`` with spike and reset: (spikes, next state).
    The spike's backward pass is the surrogate on ``V - V_thr`` [V]; the reset gate is
    detached; ``freeze_rate`` as in :func:`fecap_step`."""
    v, p = fecap_step(state, current_A, h_s, d, freeze_rate=freeze_rate)
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


def cycle_factors(
    shape: tuple[int, ...], cycle_cv: float, generator: torch.Generator | None = None
) -> torch.Tensor | None:
    """Cycle-to-cycle noise of the switching: the factor ``max(0.05, 1 + cycle_cv*N(0,1))``
    on ``tau_0`` of each neuron in each network step, ``shape`` = [T, B, N] (None without
    noise). Drawn once in torch, so that both fine forwards see the same draws."""
    if cycle_cv <= 0:
        return None
    noise = torch.randn(shape, generator=generator, dtype=DTYPE)
    return torch.clamp(1 + cycle_cv * noise, 0.05)


@torch.no_grad()
def fine_trajectory(
    state: FeLIFState,
    currents_A: torch.Tensor,
    dt_s: float,
    n_inner: int,
    d: FeCapTensors,
    cycle_cv: float = 0.0,
    generator: torch.Generator | None = None,
    kernel: str = "auto",
) -> FineTrace:
    """Integrate ``currents_A`` [T, B, N] (held constant over each step of ``dt_s`` [s])
    with ``n_inner`` fine steps per network step, spiking and resetting inside the step.

    ``cycle_cv`` > 0 adds cycle-to-cycle noise: every network step, each neuron's
    attempt time ``tau_0`` is scaled by :func:`cycle_factors`. ``kernel`` (one of
    :data:`~bruno_hil.physics.fine_kernel.FINE_KERNELS`) picks the compiled loop or the
    eager torch loop (the reference); both compute the same steps."""
    check_choice("network.fine_kernel", kernel, FINE_KERNELS)
    currents = currents_A.to(DTYPE)
    factors = cycle_factors(tuple(currents.shape), cycle_cv, generator)
    tau_0 = d.tau_0_s if factors is None else d.tau_0_s * factors.to(currents.device)
    if fine_kernel.usable(kernel, currents, *state):
        return _fine_compiled(state, currents, dt_s / n_inner, n_inner, d, tau_0)
    return _fine_eager(state, currents, dt_s / n_inner, n_inner, d, tau_0)


def _fine_eager(
    state: FeLIFState,
    currents: torch.Tensor,
    h_s: float,
    n_inner: int,
    d: FeCapTensors,
    tau_0_s: torch.Tensor,
) -> FineTrace:
    """The fine forward as a torch loop; ``tau_0_s`` broadcasts to [T, B, N] [s]."""
    v, p = (x.to(DTYPE).clone() for x in state)
    out_s, out_v, out_p = (torch.empty_like(currents) for _ in range(3))
    tau_0 = tau_0_s.expand(currents.shape)
    for t in range(currents.shape[0]):
        d_t, count = d.replace(tau_0_s=tau_0[t]), torch.zeros_like(v)
        for _ in range(n_inner):
            v, p = fecap_step(FeLIFState(v, p), currents[t], h_s, d_t)
            fired = v > d_t.v_thr_V
            count += fired
            v = torch.where(fired, d_t.v_reset_V, v)
            p = torch.where(fired, -d_t.p_s_C_per_m2, p)
        out_s[t], out_v[t], out_p[t] = count, v, p
    return FineTrace(out_s, out_v, out_p)


def _kernel_constants(d: FeCapTensors, n: int) -> torch.Tensor:
    """The per-neuron constants of the compiled step, [K, n] in the order of
    ``enum Const`` in ``fine_kernel.cpp``, each computed as :func:`fecap_step` does."""
    t_int_eps0 = d.t_int_m / EPS0_F_PER_M
    c_tot, area = d.c_tot_F, d.charge_per_polarization_m2
    rows = [
        d.eps_int,
        t_int_eps0,
        d.t_hzo_m * d.eps_int + d.t_int_m * d.eps_hzo,
        d.e_a_V_per_m,
        d.soft_e_V_per_m,
        d.alpha,
        d.p_s_C_per_m2,
        c_tot,
        area,
        d.i_0_A_per_m2 * d.area_m2,
        d.v_t_V,
        d.i_dsc_A,
        area * d.eps_int / c_tot + t_int_eps0,
        d.v_clip_V,
        d.v_thr_V,
        d.v_reset_V,
    ]
    try:
        return torch.stack([torch.broadcast_to(x.cpu(), (n,)) for x in rows]).contiguous()
    except RuntimeError:
        raise ValueError(
            f"compiled fine forward: device parameters must be scalars or [{n}] (one per"
            " neuron); use fine_kernel 'eager' for other shapes"
        ) from None


def _fine_compiled(
    state: FeLIFState,
    currents: torch.Tensor,
    h_s: float,
    n_inner: int,
    d: FeCapTensors,
    tau_0_s: torch.Tensor,
) -> FineTrace:
    """The fine forward in the compiled kernel (CPU); states [..., N] are flattened to
    rows and the results returned on the currents' device."""
    shape = currents.shape
    t_steps, n = shape[0], shape[-1]
    flat = currents.reshape(t_steps, -1, n).cpu()
    rows = flat.shape[1]
    v0, p0 = (torch.broadcast_to(x.to(DTYPE).cpu(), shape[1:]).reshape(rows, n) for x in state)
    tau = torch.broadcast_to(tau_0_s.cpu(), shape).reshape(t_steps, rows, n)
    if tau.stride(2) != 1:
        tau = tau.contiguous()
    consts = _kernel_constants(d, n)
    passive = d.leak_form == "passive"
    out = fine_kernel.load().fine_trajectory(v0, p0, flat, tau, consts, h_s, n_inner, passive)
    return FineTrace(*(x.reshape(shape).to(currents.device) for x in out))
