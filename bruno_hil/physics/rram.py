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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bruno_hil.devices.params import K_B_EV_PER_K, RRAMParams

DTYPE = torch.float64
"""The dtype of every RRAM computation."""
SINHC_SERIES_BELOW = 1e-4
"""Below this |x|, ``sinh(x)/x`` is evaluated as its series ``1 + x^2/6`` (exact to
float64 there, and free of 0/0 in the gradient)."""


@dataclass(frozen=True)
class RRAMTensors:
    """RRAM cells: each :class:`RRAMParams` field as a float64 tensor that broadcasts
    against the state (one value per cell, or a scalar)."""

    values: dict[str, torch.Tensor]

    @classmethod
    def from_params(
        cls, params: RRAMParams, device: torch.device | str | None = None
    ) -> RRAMTensors:
        """``params`` as scalar float64 tensors."""
        return cls(
            {
                name: torch.tensor(value, dtype=DTYPE, device=device)
                for name, value in params.as_dict().items()
            }
        )

    def __getattr__(self, name: str) -> torch.Tensor:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

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


__all__ = [
    "RRAMTensors",
    "gap_rate_m_per_s",
    "mean_gap_rate_m_per_s",
    "rram_current_A",
    "rram_step",
]
