"""The electrostatics of the FeCap stack (HZO layer ``t_hzo`` and interlayer ``t_int`` in
series), written once for floats and float64 tensors alike.

These equations are arithmetic only, so one definition serves the parameter set
(:class:`~bruno_hil.devices.params.FeCapParams`, floats: the netlists, the analysis) and
the torch physics (:class:`~bruno_hil.physics.fecap.FeCapTensors`, tensors that broadcast
over a population). This module imports no torch, so that the ngspice worker processes
that render netlists do not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import torch

EPS0_F_PER_M = 8.8541878128e-12
"""Vacuum permittivity [F/m]."""

X = TypeVar("X", float, "torch.Tensor")
X_co = TypeVar("X_co", float, "torch.Tensor", covariant=True)


class FeCapStack(Protocol[X_co]):
    """What the stack equations read: the geometry and permittivities of a FeCap (and the
    parasitic capacitance of its membrane node), all floats or all tensors."""

    @property
    def area_m2(self) -> X_co: ...
    @property
    def t_hzo_m(self) -> X_co: ...
    @property
    def t_int_m(self) -> X_co: ...
    @property
    def eps_hzo(self) -> X_co: ...
    @property
    def eps_int(self) -> X_co: ...
    @property
    def c_par_F(self) -> X_co: ...


def field_V_per_m(v_V: X, p_C_per_m2: X, d: FeCapStack[X]) -> X:
    """Field in the ferroelectric layer [V/m] at stack voltage ``v_V`` [V] and
    polarization ``p_C_per_m2`` [C/m^2]:
    ``E = (V*eps_int - P*t_int/eps0) / (t_hzo*eps_int + t_int*eps_hzo)``."""
    num = v_V * d.eps_int - p_C_per_m2 * (d.t_int_m / EPS0_F_PER_M)
    return num / (d.t_hzo_m * d.eps_int + d.t_int_m * d.eps_hzo)


def dielectric_capacitance_F(d: FeCapStack[X]) -> X:
    """Linear (dielectric) capacitance of the FeCap [F]: ``eps0*eps_hzo*A/t_hzo``."""
    return EPS0_F_PER_M * d.eps_hzo * d.area_m2 / d.t_hzo_m


def membrane_capacitance_F(d: FeCapStack[X]) -> X:
    """Capacitance of the membrane node [F]: the dielectric capacitance plus ``C_par``."""
    return dielectric_capacitance_F(d) + d.c_par_F


__all__ = [
    "EPS0_F_PER_M",
    "FeCapStack",
    "dielectric_capacitance_F",
    "field_V_per_m",
    "membrane_capacitance_F",
]
