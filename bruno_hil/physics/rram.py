"""The RRAM filament-gap cell in torch: read current, gap velocity and a confined step.

Equations (SI units; the same as :class:`bruno_hil.devices.RRAMParams` and the compact
model in ``device_models/rram.va``; ``kT = k_B*T`` in eV):

* ``I = i_0 * exp(-g/g_0) * sinh(V/v_0)``                                        [A]
* ``dg/dt = -vel_0 * exp(-e_a/kT) * sinh(gamma*a_0*V/(t_ox*kT))``               [m/s]
* ``g`` confined to ``[g_min, g_max]`` (the compact model's smooth window, 0.01 nm wide,
  is a hard clip here).

:func:`rram_step` integrates the gap over a step of ``h`` during which the voltage ramps
linearly from ``V_start`` to ``V_end`` (a piecewise-linear drive, as a sweep or a sampled
waveform is): the velocity depends on V only, so its mean over the ramp has the closed
form ``sinh(k*V_mid) * sinh(x)/x`` with ``k = gamma*a_0/(t_ox*kT)`` and
``x = k*(V_end - V_start)/2``, and the step is exact inside the window. Everything is
float64 (the current spans ~10 decades between the two states).

:func:`rram_step_in_compliance` steps the cell behind a source with an ideal current
compliance (a programming pulse: the cell voltage is the source's until the current
reaches the compliance, then the voltage :func:`compliance_voltage_V` that draws exactly
the compliance, which depends on the gap). One step of a whole pulse level is within
1e-3 nm of a stiff ODE solution (tested).
"""

from __future__ import annotations

import torch

from bruno_hil.devices.params import K_B_EV_PER_K, RRAMParams
from bruno_hil.physics.tensors import DTYPE, DeviceTensors

SINHC_SERIES_BELOW = 1e-4
"""Below this |x|, ``sinh(x)/x`` is evaluated as its series ``1 + x^2/6`` (exact to
float64 there, and free of 0/0 in the gradient)."""


class RRAMTensors(DeviceTensors[RRAMParams]):
    """RRAM cells: each :class:`RRAMParams` field as a float64 tensor that broadcasts
    against the state (one value per cell, or a scalar)."""

    @property
    def kt_eV(self) -> torch.Tensor:
        """Thermal energy ``k_B*T`` [eV]."""
        return K_B_EV_PER_K * self.temperature_K

    @property
    def field_factor_per_V(self) -> torch.Tensor:
        """``k = gamma*a_0/(t_ox*kT)`` [1/V], the voltage scale of the gap velocity."""
        return self.gamma * self.a_0_m / (self.t_ox_m * self.kt_eV)

    @property
    def velocity_m_per_s(self) -> torch.Tensor:
        """``vel_0*exp(-e_a/kT)`` [m/s], the velocity prefactor at the temperature."""
        return self.vel_0_m_per_s * torch.exp(-self.e_a_eV / self.kt_eV)


def rram_current_A(v_V: torch.Tensor, gap_m: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """Cell current [A] (top to bottom) at voltage ``v_V`` [V] and gap ``gap_m`` [m]."""
    return d.i_0_A * torch.exp(-gap_m / d.g_0_m) * torch.sinh(v_V / d.v_0_V)


def gap_rate_m_per_s(v_V: torch.Tensor, d: RRAMTensors) -> torch.Tensor:
    """Unconfined gap velocity dg/dt [m/s] at voltage ``v_V`` [V] (< 0 for V > 0: SET)."""
    return -d.velocity_m_per_s * torch.sinh(d.field_factor_per_V * v_V)


def _sinhc(x: torch.Tensor) -> torch.Tensor:
    """``sinh(x)/x`` with the removable singularity at 0."""
    small = x.abs() < SINHC_SERIES_BELOW
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, 1.0 + x * x / 6.0, torch.sinh(safe) / safe)


def mean_gap_rate_m_per_s(
    v_start_V: torch.Tensor, v_end_V: torch.Tensor, d: RRAMTensors
) -> torch.Tensor:
    """Mean of the unconfined gap velocity [m/s] over a linear voltage ramp from
    ``v_start_V`` to ``v_end_V`` [V] (the exact time average)."""
    k = d.field_factor_per_V
    v_mid = 0.5 * (v_start_V + v_end_V)
    return -d.velocity_m_per_s * torch.sinh(k * v_mid) * _sinhc(0.5 * k * (v_end_V - v_start_V))


def rram_step(
    gap_m: torch.Tensor,
    v_V: torch.Tensor,
    h_s: float | torch.Tensor,
    d: RRAMTensors,
    v_end_V: torch.Tensor | None = None,
) -> torch.Tensor:
    """The gap [m] after ``h_s`` [s] at voltage ``v_V`` [V] (or ramping linearly from
    ``v_V`` to ``v_end_V``), clipped to ``[g_min_m, g_max_m]``."""
    v_end = v_V if v_end_V is None else v_end_V
    moved = gap_m + h_s * mean_gap_rate_m_per_s(v_V, v_end, d)
    return torch.minimum(torch.maximum(moved, d.g_min_m), d.g_max_m)


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


def _clamped_rate(
    gap_m: torch.Tensor, sign: torch.Tensor, d: RRAMTensors, i_c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gap velocity [m/s] in compliance (the cell at ``sign*compliance_voltage``) and
    ``m = d ln|velocity| / d gap`` [1/m] (> 0: a smaller gap means a lower cell voltage)."""
    k = d.field_factor_per_V
    y = i_c / d.i_0_A * torch.exp(gap_m / d.g_0_m)
    v_c = d.v_0_V * torch.asinh(y)
    rate = -sign * d.velocity_m_per_s * torch.sinh(k * v_c)
    dv_dg = d.v_0_V / d.g_0_m * y / torch.sqrt(1.0 + y * y)
    return rate, k / torch.tanh(k * v_c) * dv_dg


def _exponential_move(rate: torch.Tensor, m: torch.Tensor, h_s: torch.Tensor) -> torch.Tensor:
    """The gap change over ``h_s`` of ``dg/dt = rate*exp(m*(g - g_start))``:
    ``-log1p(-m*rate*h)/m`` (the argument is kept above -1; callers only use it there)."""
    x = torch.clamp(-m * rate * h_s, min=-1.0 + 1e-12)
    return -torch.log1p(x) / m


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

    Below compliance the cell sees the source (the exact ramp mean of
    :func:`mean_gap_rate_m_per_s`). In compliance the cell voltage is
    :func:`compliance_voltage_V` of the gap, so the velocity depends on the gap, nearly as
    ``exp(m*g)``: the step integrates that law exactly from the local rate and ``m`` (an
    exponential integrator, stable for the stiff compliance-limited SET). The regime
    boundary is the gap :func:`compliance_gap_m` at the ramp's largest |V|; a step that
    crosses it (a SET entering compliance, a RESET leaving it) is split there, with the
    time to the boundary from the same laws. A ramp with one end in compliance is treated
    as in compliance throughout: sub-step edges finely."""
    peak = torch.maximum(v_start_V.abs(), v_end_V.abs())
    sign = torch.sign(v_start_V + v_end_V)
    boundary = compliance_gap_m(peak, d, compliance_A)
    free_rate = mean_gap_rate_m_per_s(v_start_V, v_end_V, d)
    clamped = gap_m < boundary
    # below compliance at the start: free, possibly entering compliance (SET)
    free_end = gap_m + h_s * free_rate
    enters = ~clamped & (free_end < boundary)
    safe_free = torch.where(free_rate < 0.0, free_rate, -torch.ones_like(free_rate))
    t_enter = torch.clamp((boundary - gap_m) / safe_free, min=0.0)
    rate_b, m_b = _clamped_rate(boundary, sign, d, compliance_A)
    entered = boundary + _exponential_move(rate_b, m_b, torch.clamp(h_s - t_enter, min=0.0))
    # in compliance at the start: stays, or leaves it (RESET)
    rate_g, m_g = _clamped_rate(gap_m, sign, d, compliance_A)
    stay = gap_m + _exponential_move(rate_g, m_g, h_s)
    reach = -torch.expm1(-m_g * torch.clamp(boundary - gap_m, min=0.0))
    t_leave = reach / torch.where(rate_g > 0.0, m_g * rate_g, torch.ones_like(rate_g))
    leaves = clamped & (rate_g > 0.0) & (t_leave < h_s)
    left = boundary + free_rate * torch.clamp(h_s - t_leave, min=0.0)
    moved = torch.where(
        clamped, torch.where(leaves, left, stay), torch.where(enters, entered, free_end)
    )
    return torch.minimum(torch.maximum(moved, d.g_min_m), d.g_max_m)


__all__ = [
    "DTYPE",
    "MIN_DRIVE_V",
    "RRAMTensors",
    "compliance_gap_m",
    "compliance_voltage_V",
    "gap_rate_m_per_s",
    "mean_gap_rate_m_per_s",
    "rram_current_A",
    "rram_step",
    "rram_step_in_compliance",
]
