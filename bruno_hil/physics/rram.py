"""The RRAM filament-gap cell in torch: read current, gap velocity and a confined step.

Equations (SI units; the same as :class:`bruno_hil.devices.RRAMParams` and the compact
model in ``device_models/rram.va``; ``kT = k_B*T`` in eV):

* ``I = i_0 * exp(-g/g_0) * sinh(V/v_0)``                                        [A]
* ``gamma_g = gamma - beta*(g/1 nm)^3``, ``T = temperature + r_th*|V*I|``
* ``gate = (1 + tanh((gamma_g*|V|/t_ox - f_min)/f_gate))/2``
* ``dg/dt = -vel_0 * exp(-e_a/kT) * sinh(gamma_g*a_0*V/(t_ox*kT)) * gate``      [m/s]
* ``g`` confined to ``[g_min, g_max]`` (the compact model's smooth window, 0.01 nm wide,
  is a hard clip here).

:func:`rram_step` integrates the gap over a step of ``h`` during which the voltage ramps
linearly from ``V_start`` to ``V_end`` (a piecewise-linear drive, as a sweep or a sampled
waveform is): the velocity at each gap is its mean over the ramp (Gauss-Legendre,
:data:`RAMP_NODES` nodes), and :func:`integrate_gap_m` integrates that law in the gap,
sampled across the window, between samples exactly for a speed log-linear in the gap.
The speed spans hundreds of decades (the field gate, SET's self-acceleration, the
compliance-limited SET), so a step of any length is stable and lands to the grid's
resolution. Everything is float64.

:func:`rram_step_in_compliance` steps the cell behind a source with an ideal current
compliance (a programming pulse: the cell voltage is the source's until the current
reaches the compliance, then the voltage :func:`compliance_voltage_V` that draws exactly
the compliance, which depends on the gap), with the same integrator in either regime.
A voltage-only law (no gate, no gap-dependent enhancement, no self-heating: the defaults)
steps in closed form instead (``RRAMTensors.voltage_only_law``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bruno_hil.devices.params import GAMMA_GAP_SCALE_M, K_B_EV_PER_K, RRAMParams
from bruno_hil.physics.tensors import DTYPE, DeviceTensors

RAMP_NODES = 6
"""Gauss-Legendre nodes of a ramp's mean velocity (exact for a ramp's polynomial part to
degree 11; the ramps of sweeps and pulse edges cross the gate's ~10 mV onset in several
steps)."""
_LEGENDRE_NODES, _LEGENDRE_WEIGHTS = np.polynomial.legendre.leggauss(RAMP_NODES)
_NODES_T = torch.as_tensor((_LEGENDRE_NODES + 1.0) / 2.0, dtype=DTYPE)  # on [0, 1]
_WEIGHTS_T = torch.as_tensor(_LEGENDRE_WEIGHTS / 2.0, dtype=DTYPE)
GAP_NODES = 97
"""Gaps at which :func:`integrate_gap_m` samples the law, spanning ``[g_min_m, g_max_m]``
(0.016 nm apart at the defaults)."""
SLOWEST_M_PER_S = 1e-200
"""Speeds [m/s] below this are taken as this (a still gap: 1e-196 m in 1e4 s)."""
SERIES_BELOW = 1e-6
"""Below this |argument| the integrator's ``log1p(y)/y`` and logarithmic mean use series."""


class RRAMTensors(DeviceTensors[RRAMParams]):
    """RRAM cells: each :class:`RRAMParams` field as a float64 tensor that broadcasts
    against the state (one value per cell, or a scalar)."""

    def fixed_zero(self, name: str) -> bool:
        """Whether field ``name`` is known to be 0 everywhere (a field being fitted, a
        transformed tensor whose value cannot be read here, counts as not zero)."""
        try:
            return bool((getattr(self, name) == 0.0).all())
        except RuntimeError:  # a functorch-transformed tensor
            return False

    @property
    def kt_eV(self) -> torch.Tensor:
        """Thermal energy ``k_B*T`` [eV] at the ambient temperature."""
        return K_B_EV_PER_K * self.temperature_K

    @property
    def field_factor_per_V(self) -> torch.Tensor:
        """``k = gamma*a_0/(t_ox*kT)`` [1/V] at the ambient temperature: the voltage scale
        of the gap velocity of a voltage-only law."""
        return self.gamma * self.a_0_m / (self.t_ox_m * self.kt_eV)

    @property
    def velocity_m_per_s(self) -> torch.Tensor:
        """``vel_0*exp(-e_a/kT)`` [m/s], the velocity prefactor at the ambient temperature."""
        return self.vel_0_m_per_s * torch.exp(-self.e_a_eV / self.kt_eV)

    @property
    def voltage_only_law(self) -> bool:
        """Whether the velocity depends on the voltage alone (no gate, no gap-dependent
        enhancement, no self-heating): fixed zeros of ``f_min_V_per_m``, ``beta`` and
        ``r_th_K_per_W``. Then a step has a closed form."""
        return all(self.fixed_zero(n) for n in ("f_min_V_per_m", "beta", "r_th_K_per_W"))


def rram_current_A(v_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """Cell current [A] (top to bottom) at voltage ``v_V`` [V] and gap ``gap_m`` [m]."""
    return d.i_0_A * torch.exp(-gap_m / d.g_0_m) * torch.sinh(v_V / d.v_0_V)


def enhancement(gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """The field enhancement ``gamma - beta*(g/1 nm)^3`` at gap ``gap_m`` [m]."""
    return d.gamma - d.beta * (gap_m / GAMMA_GAP_SCALE_M) ** 3


def cell_temperature_K(v_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """The filament temperature [K]: ambient plus ``r_th*|V*I|`` (self-heating)."""
    if d.fixed_zero("r_th_K_per_W"):
        return d.temperature_K
    return d.temperature_K + d.r_th_K_per_W * (v_V * rram_current_A(v_V, gap_m, d)).abs()


def field_gate(v_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """The field gate in [0, 1]: ~0 while the enhanced field ``gamma_g*|V|/t_ox`` is below
    ``f_min``, rising to 1 over ``f_gate`` [V/m] above it; 1 if ``f_min = 0`` (no gate)."""
    field = enhancement(gap_m, d) * v_V.abs() / d.t_ox_m
    gate = 0.5 * (1.0 + torch.tanh((field - d.f_min_V_per_m) / d.f_gate_V_per_m))
    return torch.where(d.f_min_V_per_m > 0.0, gate, torch.ones_like(gate))


def gap_rate_m_per_s(v_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """Unconfined gap velocity dg/dt [m/s] at voltage ``v_V`` [V] and gap ``gap_m`` [m]
    (< 0 for V > 0: SET)."""
    kt = K_B_EV_PER_K * cell_temperature_K(v_V, gap_m, d)
    drive = enhancement(gap_m, d) * d.a_0_m * v_V / (d.t_ox_m * kt)
    return (
        -d.vel_0_m_per_s * torch.exp(-d.e_a_eV / kt) * torch.sinh(drive) * field_gate(v_V, gap_m, d)
    )


def mean_gap_rate_m_per_s(
    v_start_V: torch.Tensor, v_end_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors
) -> torch.Tensor:
    """Mean of the unconfined gap velocity [m/s] over a linear voltage ramp from
    ``v_start_V`` to ``v_end_V`` [V] at the gap ``gap_m`` [m]: Gauss-Legendre, or the
    closed form of a voltage-only law (:func:`_voltage_only_ramp_mean`)."""
    if v_start_V is v_end_V:
        return gap_rate_m_per_s(v_start_V, gap_m, d)
    if d.voltage_only_law:
        return _voltage_only_ramp_mean(v_start_V, v_end_V, d)
    ndim = max(gap_m.ndim, v_start_V.ndim, v_end_V.ndim)
    nodes = _NODES_T.reshape(-1, *([1] * ndim))
    rates = gap_rate_m_per_s(v_start_V + nodes * (v_end_V - v_start_V), gap_m, d)
    return torch.tensordot(_WEIGHTS_T, rates, dims=1)


def _sinhc(x: torch.Tensor) -> torch.Tensor:
    """``sinh(x)/x`` with the removable singularity at 0."""
    small = x.abs() < SERIES_BELOW
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, 1.0 + x * x / 6.0, torch.sinh(safe) / safe)


def _voltage_only_ramp_mean(
    v_start_V: torch.Tensor, v_end_V: torch.Tensor, d: RRAMTensors
) -> torch.Tensor:
    """The exact ramp mean [m/s] of the ungated, isothermal law ``-c*sinh(k*V)``:
    ``-c*sinh(k*V_mid)*sinh(x)/x`` with ``x = k*(V_end - V_start)/2``."""
    k = d.field_factor_per_V
    v_mid = 0.5 * (v_start_V + v_end_V)
    return -d.velocity_m_per_s * torch.sinh(k * v_mid) * _sinhc(0.5 * k * (v_end_V - v_start_V))


RateOfGap = Callable[[torch.Tensor], torch.Tensor]
"""A gap velocity [m/s] as a function of the gap [m] (the drive held over the step)."""


def _ln_speed(rate: torch.Tensor) -> torch.Tensor:
    """``ln|rate|`` with the speed floored at :data:`SLOWEST_M_PER_S` (a still gap)."""
    return torch.log(torch.clamp(rate.abs(), min=SLOWEST_M_PER_S))


def _segment_time_s(length_m: torch.Tensor, ln_a: torch.Tensor, ln_b: torch.Tensor) -> torch.Tensor:
    """Time [s] to cross ``length_m`` [m] at a speed log-linear in the gap from
    ``exp(ln_a)`` to ``exp(ln_b)`` [m/s]: the length times the logarithmic mean of the
    slownesses, ``(1/v_b - 1/v_a)/(ln v_a - ln v_b)``."""
    delta = ln_a - ln_b
    small = delta.abs() < SERIES_BELOW
    safe = torch.where(small, torch.ones_like(delta), delta)
    mean = torch.where(
        small, torch.exp(-ln_a) * (1.0 + delta / 2.0), (torch.exp(-ln_b) - torch.exp(-ln_a)) / safe
    )
    return length_m * mean


def _distance_in_segment_m(
    time_s: torch.Tensor, length_m: torch.Tensor, ln_a: torch.Tensor, ln_b: torch.Tensor
) -> torch.Tensor:
    """Distance [m] covered in ``time_s`` [s] from the start of such a segment:
    ``log1p(y)/k`` with ``k = (ln v_a - ln v_b)/length`` and ``y = k*v_a*t``."""
    k = (ln_a - ln_b) / torch.where(length_m > 0.0, length_m, torch.ones_like(length_m))
    travel = torch.exp(ln_a) * time_s
    y = torch.clamp(k * travel, min=-1.0 + 1e-15)
    small = y.abs() < SERIES_BELOW
    safe = torch.where(small, torch.ones_like(y), y)
    factor = torch.where(small, 1.0 - y / 2.0 + y * y / 3.0, torch.log1p(safe) / safe)
    return torch.minimum(travel * factor, length_m)


def integrate_gap_m(
    rate: RateOfGap, gap_m: torch.Tensor, h_s: float | torch.Tensor, d: RRAMTensors
) -> torch.Tensor:
    """The gap [m] after ``h_s`` [s] of ``dg/dt = rate(g)`` from ``gap_m``, confined to
    ``[g_min_m, g_max_m]``.

    The law is sampled on :data:`GAP_NODES` gaps spanning the window (and at the start);
    between samples the speed is taken log-linear in the gap, for which the time to cross
    a segment and the distance covered in a given time are exact. So the step is
    unconditionally stable and follows a speed that changes by hundreds of decades over
    the window (the field gate, a SET's self-acceleration, the stiff compliance-limited
    SET) to the grid's resolution, whatever ``h_s``. The direction is the sign of the
    velocity at the start (the drive fixes it)."""
    h = torch.as_tensor(h_s, dtype=DTYPE)
    shape = torch.broadcast_shapes(gap_m.shape, h.shape, d.g_min_m.shape, d.g_max_m.shape)
    g0 = gap_m.expand(shape)
    frac = torch.linspace(0.0, 1.0, GAP_NODES, dtype=DTYPE).reshape(-1, *([1] * len(shape)))
    nodes = (d.g_min_m + (d.g_max_m - d.g_min_m) * frac).expand(GAP_NODES, *shape)
    rates = rate(torch.cat([g0.unsqueeze(0), nodes]))  # the start and the grid at once
    rate0, ln_all = rates[0], _ln_speed(rates)
    ln0, ln_nodes = ln_all[0], ln_all[1:]
    down = rate0 < 0.0  # SET: towards g_min; the path runs through the segments top-down
    lo, hi = nodes[:-1], nodes[1:]
    ln_lo, ln_hi = ln_nodes[:-1], ln_nodes[1:]
    # each segment's part of the path, its start and end (gap, ln speed), in path order
    start = torch.where(down, torch.minimum(hi, g0), torch.maximum(lo, g0))
    end = torch.where(down, lo, hi)
    length = torch.clamp(torch.where(down, start - end, end - start), min=0.0)
    inside = (lo < g0) & (g0 < hi)
    ln_start = torch.where(inside, ln0, torch.where(down, ln_hi, ln_lo))
    ln_end = torch.where(down, ln_lo, ln_hi)
    order = lambda x: torch.where(down, x.flip(0), x)  # noqa: E731
    start, length, ln_start, ln_end = (order(x) for x in (start, length, ln_start, ln_end))
    seconds = _segment_time_s(length, ln_start, ln_end)
    after = torch.cumsum(seconds, dim=0)
    crossed = (after <= h).sum(dim=0, keepdim=True)  # segments passed completely
    k = torch.clamp(crossed, max=GAP_NODES - 2)
    pick = lambda x: x.gather(0, k).squeeze(0)  # noqa: E731
    left = h - (pick(after) - pick(seconds))
    moved = _distance_in_segment_m(left, pick(length), pick(ln_start), pick(ln_end))
    sign = torch.where(down, -1.0, 1.0)
    g = pick(start) + sign * moved
    bound = torch.where(down, d.g_min_m, d.g_max_m).expand(shape)
    g = torch.where(crossed.squeeze(0) >= GAP_NODES - 1, bound, g)
    still = rate0.abs() <= SLOWEST_M_PER_S
    return _confined(torch.where(still, g0, g), d)


def _confined(gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    return torch.minimum(torch.maximum(gap_m, d.g_min_m), d.g_max_m)


def rram_step(
    gap_m: torch.Tensor,
    v_V: torch.Tensor,
    h_s: float | torch.Tensor,
    d: RRAMTensors,
    v_end_V: torch.Tensor | None = None,
) -> torch.Tensor:
    """The gap [m] after ``h_s`` [s] at voltage ``v_V`` [V] (or ramping linearly from
    ``v_V`` to ``v_end_V``: the ramp's mean velocity at each gap), clipped to
    ``[g_min_m, g_max_m]`` (:func:`integrate_gap_m`; for a voltage-only law, one exact
    move)."""
    v_end = v_V if v_end_V is None else v_end_V
    if d.voltage_only_law:  # the velocity does not depend on the gap: exact in one move
        h = torch.as_tensor(h_s, dtype=DTYPE)
        return _confined(gap_m + h * _voltage_only_ramp_mean(v_V, v_end, d), d)
    return integrate_gap_m(lambda g: mean_gap_rate_m_per_s(v_V, v_end, g, d), gap_m, h_s, d)


MIN_DRIVE_V = 1e-9
"""Drives below this |V| [V] are treated as this value where a logarithm needs V != 0
(the cell then never reaches compliance and its gap does not move)."""


def compliance_voltage_V(
    gap_m: torch.Tensor, d: RRAMTensors, compliance_A: torch.Tensor
) -> torch.Tensor:
    """The |V| [V] across the cell at which its current reaches ``compliance_A`` [A] at
    gap ``gap_m`` [m]: ``v_0*asinh(compliance/(i_0*exp(-g/g_0)))``."""
    return d.v_0_V * torch.asinh(compliance_A / d.i_0_A * torch.exp(gap_m / d.g_0_m))


def compliance_gap_m(v_V: torch.Tensor, d: RRAMTensors, compliance_A: torch.Tensor) -> torch.Tensor:
    """The gap [m] below which the cell at ``|v_V|`` [V] would draw more than
    ``compliance_A`` [A]: the inverse of :func:`compliance_voltage_V`."""
    drive = torch.clamp(v_V.abs(), min=MIN_DRIVE_V)
    return d.g_0_m * torch.log(d.i_0_A * torch.sinh(drive / d.v_0_V) / compliance_A)


def _voltage_only_held_rate(
    gap_m: torch.Tensor, sign: torch.Tensor, d: RRAMTensors, i_c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """For a voltage-only law: the velocity [m/s] in compliance (the cell at
    ``sign*compliance_voltage``) and ``m = d ln|velocity| / d gap`` [1/m] (> 0: a smaller
    gap means a lower cell voltage), both in closed form."""
    k = d.field_factor_per_V
    y = i_c / d.i_0_A * torch.exp(gap_m / d.g_0_m)
    v_c = d.v_0_V * torch.asinh(y)
    rate = -sign * d.velocity_m_per_s * torch.sinh(k * v_c)
    dv_dg = d.v_0_V / d.g_0_m * y / torch.sqrt(1.0 + y * y)
    return rate, k / torch.tanh(k * v_c) * dv_dg


def _exponential_move(rate: torch.Tensor, m: torch.Tensor, h_s: torch.Tensor) -> torch.Tensor:
    """The gap change over ``h_s`` of ``dg/dt = rate*exp(m*(g - g_start))`` for ``m > 0``:
    ``-log1p(-m*rate*h)/m`` (the argument is kept above -1)."""
    x = torch.clamp(-m * rate * h_s, min=-1.0 + 1e-12)
    return -torch.log1p(x) / m


def _voltage_only_step_in_compliance(
    gap_m: torch.Tensor,
    free_rate: torch.Tensor,
    h_s: torch.Tensor,
    d: RRAMTensors,
    compliance_A: torch.Tensor,
    boundary: torch.Tensor,
    sign: torch.Tensor,
) -> torch.Tensor:
    """:func:`rram_step_in_compliance` for a voltage-only law (free velocity
    ``free_rate`` [m/s] over the step), in closed form: free motion is linear in time, the
    compliance-held one nearly ``exp(m*g)`` (an exponential integrator from the local rate
    and ``m``, within 1e-3 nm of the exact ODE over a whole pulse level), a crossing of the
    regime boundary split at the time it is reached (``boundary`` [m], the drive's
    ``sign``: see :func:`rram_step_in_compliance`)."""
    clamped = gap_m < boundary
    # below compliance at the start: free, possibly entering compliance (SET)
    free_end = gap_m + h_s * free_rate
    enters = ~clamped & (free_end < boundary)
    safe_free = torch.where(free_rate < 0.0, free_rate, -torch.ones_like(free_rate))
    t_enter = torch.clamp((boundary - gap_m) / safe_free, min=0.0)
    rate_b, m_b = _voltage_only_held_rate(boundary, sign, d, compliance_A)
    entered = boundary + _exponential_move(rate_b, m_b, torch.clamp(h_s - t_enter, min=0.0))
    # in compliance at the start: stays, or leaves it (RESET)
    rate_g, m_g = _voltage_only_held_rate(gap_m, sign, d, compliance_A)
    stay = gap_m + _exponential_move(rate_g, m_g, h_s)
    reach = -torch.expm1(-m_g * torch.clamp(boundary - gap_m, min=0.0))
    t_leave = reach / torch.where(rate_g > 0.0, m_g * rate_g, torch.ones_like(rate_g))
    leaves = clamped & (rate_g > 0.0) & (t_leave < h_s)
    left = boundary + free_rate * torch.clamp(h_s - t_leave, min=0.0)
    moved = torch.where(
        clamped, torch.where(leaves, left, stay), torch.where(enters, entered, free_end)
    )
    return _confined(moved, d)


def rram_step_in_compliance(
    gap_m: torch.Tensor,
    v_start_V: torch.Tensor,
    v_end_V: torch.Tensor,
    h_s: torch.Tensor,
    d: RRAMTensors,
    compliance_A: torch.Tensor,
) -> torch.Tensor:
    """The gap [m] after ``h_s`` [s] of a source ramping linearly from ``v_start_V`` to
    ``v_end_V`` [V] behind an ideal current compliance ``compliance_A`` [A] (both
    polarities), clipped to ``[g_min_m, g_max_m]``.

    Below compliance the cell sees the source (the ramp mean of
    :func:`mean_gap_rate_m_per_s`). In compliance the cell voltage is
    :func:`compliance_voltage_V` of the gap, so the velocity falls steeply as a SET
    shrinks the gap (the stiff, self-limiting part). The regime boundary is the gap
    :func:`compliance_gap_m` at the ramp's largest |V|: the law is the free one above it
    and the compliance-held one below, integrated by :func:`integrate_gap_m` across it (a
    SET entering compliance, a RESET leaving it); a voltage-only law takes the closed
    form of :func:`_voltage_only_step_in_compliance`. A ramp with one end in compliance is
    treated as in compliance throughout: sub-step edges finely."""
    peak = torch.maximum(v_start_V.abs(), v_end_V.abs())
    sign = torch.sign(v_start_V + v_end_V)
    boundary = compliance_gap_m(peak, d, compliance_A)
    if d.voltage_only_law:
        free_rate = _voltage_only_ramp_mean(v_start_V, v_end_V, d)
        return _voltage_only_step_in_compliance(
            gap_m, free_rate, h_s, d, compliance_A, boundary, sign
        )

    def law(g: torch.Tensor) -> torch.Tensor:
        held = gap_rate_m_per_s(sign * compliance_voltage_V(g, d, compliance_A), g, d)
        return torch.where(g < boundary, held, mean_gap_rate_m_per_s(v_start_V, v_end_V, g, d))

    return integrate_gap_m(law, gap_m, h_s, d)


__all__ = [
    "DTYPE",
    "MIN_DRIVE_V",
    "RAMP_NODES",
    "RRAMTensors",
    "cell_temperature_K",
    "compliance_gap_m",
    "compliance_voltage_V",
    "enhancement",
    "field_gate",
    "gap_rate_m_per_s",
    "integrate_gap_m",
    "mean_gap_rate_m_per_s",
    "rram_current_A",
    "rram_step",
    "rram_step_in_compliance",
]
