"""The electrostatics of the FeCap stack (HZO layer ``t_hzo`` and interlayer ``t_int`` in
series), written once for floats and float64 tensors alike.

With ``V = E*t_hzo + E_int*t_int`` and the displacement continuous through both layers,
``D = eps0*eps_int*E_int = eps0*eps_hzo*E + P``:

* ``E = (V*eps_int - P*t_int/eps0) / den``, ``den = t_hzo*eps_int + t_int*eps_hzo``;
* ``Q/A = D = k*(eps0*eps_hzo*V/t_hzo + P)``, ``k = t_hzo*eps_int/den``.

So the terminal current is ``C_fe*dV/dt + k*A*dP/dt`` with the series capacitance
``C_fe = k*eps0*eps_hzo*A/t_hzo``; ``k`` is 0.905 at the defaults.

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


def _field_den_m(d: FeCapStack[X]) -> X:
    """``t_hzo*eps_int + t_int*eps_hzo`` [m], the stack's series denominator."""
    return d.t_hzo_m * d.eps_int + d.t_int_m * d.eps_hzo


def field_V_per_m(v_V: X, p_C_per_m2: X, d: FeCapStack[X]) -> X:
    """Field in the ferroelectric layer [V/m] at stack voltage ``v_V`` [V] and
    polarization ``p_C_per_m2`` [C/m^2]:
    ``E = (V*eps_int - P*t_int/eps0) / (t_hzo*eps_int + t_int*eps_hzo)``."""
    return (v_V * d.eps_int - p_C_per_m2 * (d.t_int_m / EPS0_F_PER_M)) / _field_den_m(d)


def charge_fraction(d: FeCapStack[X]) -> X:
    """``k = t_hzo*eps_int / (t_hzo*eps_int + t_int*eps_hzo)`` [1]: the share of the
    HZO layer's own charge that reaches the plates through the interlayer (0.905 at the
    defaults; 1 without an interlayer)."""
    return d.t_hzo_m * d.eps_int / _field_den_m(d)


def dielectric_capacitance_F(d: FeCapStack[X]) -> X:
    """Linear (dielectric) capacitance of the stack [F]: the HZO layer and the interlayer
    in series, ``eps0*eps_hzo*eps_int*A / (t_hzo*eps_int + t_int*eps_hzo)``
    (``= k*eps0*eps_hzo*A/t_hzo``)."""
    return EPS0_F_PER_M * d.eps_hzo * d.eps_int * d.area_m2 / _field_den_m(d)


def charge_per_polarization_m2(d: FeCapStack[X]) -> X:
    """``dQ/dP`` at fixed V [m^2]: the plate charge per unit polarization, ``k*A``."""
    return charge_fraction(d) * d.area_m2


def terminal_charge_C(v_V: X, p_C_per_m2: X, d: FeCapStack[X]) -> X:
    """Plate charge of the stack [C] (no parasitics) at ``v_V`` [V] and ``p_C_per_m2``
    [C/m^2]: the displacement ``D = eps0*eps_hzo*E + P`` (continuous through both layers)
    times A, ``Q = C_fe*V + k*A*P``."""
    return dielectric_capacitance_F(d) * v_V + charge_per_polarization_m2(d) * p_C_per_m2


def membrane_capacitance_F(d: FeCapStack[X]) -> X:
    """Capacitance of the membrane node [F]: the dielectric capacitance plus ``C_par``."""
    return dielectric_capacitance_F(d) + d.c_par_F


__all__ = [
    "EPS0_F_PER_M",
    "FeCapStack",
    "charge_fraction",
    "charge_per_polarization_m2",
    "dielectric_capacitance_F",
    "field_V_per_m",
    "membrane_capacitance_F",
    "terminal_charge_C",
]
