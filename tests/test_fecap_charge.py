"""The FeCap terminal charge against the stack it models, derived here independently:
the HZO layer (field E, polarization P) and the interlayer (field E_int) in series,
``V = E*t_hzo + E_int*t_int``, with the displacement continuous through both,
``D = eps0*eps_int*E_int = eps0*eps_hzo*E + P``; the plate charge is ``Q = A*D``. Solved
as a 2x2 linear system (no closed form from the code), and compared with every form: the
torch step (the charge it takes from the input), the ngspice subcircuit in a transient and
the Verilog-A model (verilogae)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import verilogae
from scipy.integrate import cumulative_trapezoid

from bruno_hil.devices.compact import (
    FECAP_DEVICE_FIELDS,
    FECAP_LIB,
    FECAP_VA,
    fecap_instance,
    include_line,
)
from bruno_hil.devices.params import FeCapParams
from bruno_hil.physics import FeCapTensors, FeLIFState, fecap_step
from bruno_hil.spice.runner import NgspiceRunner, SimOptions
from bruno_hil.spice.values import spice_number

EPS0 = 8.8541878128e-12  # F/m, written here so that the reference owes nothing to the code
ALT = FeCapParams(
    area_m2=40e-12, t_hzo_m=8e-9, t_int_m=1.0e-9, eps_hzo=28.0, eps_int=15.0, e_a_V_per_m=2.5e9
)
"""A low-permittivity interlayer: the divider is further from 1 (0.81); a higher E_a keeps
the stronger depolarization field from relaxing P at 0 V."""


def _stack_charge_C(v_V: np.ndarray, p_C_per_m2: np.ndarray, p: FeCapParams) -> np.ndarray:
    """Q [C] of the stack at plate voltage V and polarization P, solving for (E, E_int)."""
    m = np.array([[p.t_hzo_m, p.t_int_m], [EPS0 * p.eps_hzo, -EPS0 * p.eps_int]])
    rhs = np.stack([np.asarray(v_V, float), -np.asarray(p_C_per_m2, float)])
    _, e_int = np.linalg.solve(m, rhs.reshape(2, -1)).reshape(rhs.shape)
    return p.area_m2 * EPS0 * p.eps_int * e_int


def _coefficients(p: FeCapParams) -> tuple[float, float]:
    """(dQ/dV [F], dQ/dP [m^2]) of the stack (Q is linear in V and P)."""
    c = float(_stack_charge_C(np.array(1.0), np.array(0.0), p))
    a = float(_stack_charge_C(np.array(0.0), np.array(1.0), p))
    return c, a


def test_defaults_give_the_issue_15_divider() -> None:
    """At the defaults ``Q/A = 0.905*(eps0*eps_hzo*V/t_hzo + P)`` (issue 15)."""
    p = FeCapParams()
    c, a = _coefficients(p)
    assert a / p.area_m2 == pytest.approx(0.905, abs=5e-4)
    assert c == pytest.approx(a / p.area_m2 * EPS0 * p.eps_hzo * p.area_m2 / p.t_hzo_m, rel=1e-12)


@pytest.mark.parametrize("params", [FeCapParams(), ALT], ids=["defaults", "alt"])
def test_torch_step_takes_the_stack_charge_from_the_input(params: FeCapParams) -> None:
    """No leak: over a step that switches, the input's charge I*h equals the change of the
    stack's charge plus that of C_par, at states from dielectric to fast switching."""
    p = params.replace(i_0_A_per_m2=0.0, i_dsc_A=0.0)
    d = FeCapTensors.from_params(p)
    v0 = torch.tensor([-4.0, -3.0, -2.0, -0.5, 0.0, 0.5, 2.0, 3.0, 4.0], dtype=torch.float64)
    p0 = -0.2 * torch.sign(v0)
    current = torch.full((9,), 3e-9, dtype=torch.float64)
    h = 1e-7
    nxt = fecap_step(FeLIFState(v0, p0), current, h, d)
    assert (nxt.p_C_per_m2 - p0).abs().max().item() > 0.01  # some of them switch

    def charge(v: torch.Tensor, pol: torch.Tensor) -> np.ndarray:
        return _stack_charge_C(v.numpy(), pol.numpy(), p) + p.c_par_F * v.numpy()

    delivered = charge(nxt.v_V, nxt.p_C_per_m2) - charge(v0, p0)
    np.testing.assert_allclose(delivered, 3e-9 * h, rtol=1e-9)
    c, a = _coefficients(p)
    assert d.c_fe_F.item() == pytest.approx(c, rel=1e-12)
    assert d.charge_per_polarization_m2.item() == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize("params", [FeCapParams(), ALT], ids=["defaults", "alt"])
def test_ngspice_subcircuit_delivers_the_stack_charge(params: FeCapParams) -> None:
    """A 4 V triangle (1 ms) across the subcircuit, no leak: the charge the source
    delivers equals the stack charge at the simulated (V, P), at every time point."""
    p = params.replace(i_0_A_per_m2=0.0)
    period = 1e-3
    pwl = " ".join(
        f"{spice_number(t * period)} {spice_number(v)}"
        for t, v in ((0.0, 0.0), (0.25, 4.0), (0.75, -4.0), (1.0, 0.0))
    )
    netlist = "\n".join(
        [
            "fecap stack charge",
            include_line(FECAP_LIB),
            f"V1 in 0 PWL({pwl})",
            fecap_instance("Xf1", "in", "0", p),
            f".tran {spice_number(period / 4000)} {spice_number(period)}",
            ".end",
        ]
    )
    res = NgspiceRunner.shared().simulate(
        netlist, SimOptions(reltol=1e-6, abstol=1e-18, method="gear")
    )
    t, v, pol = res["time"], res["in"], res["xf1.p"] * p.p_s_C_per_m2
    assert pol.max() > 0.8 * p.p_s_C_per_m2  # it switched up and back
    assert pol[t > 0.75 * period].min() < -0.8 * p.p_s_C_per_m2
    q_src = cumulative_trapezoid(-res["v1#branch"], t, initial=0.0)
    q_stack = _stack_charge_C(v, pol, p) - _stack_charge_C(v[0], pol[0], p)
    switched = 2 * p.area_m2 * p.p_s_C_per_m2
    np.testing.assert_allclose(q_src, q_stack, atol=2e-3 * switched)


@pytest.mark.parametrize("params", [FeCapParams(), ALT], ids=["defaults", "alt"])
def test_verilog_a_model_has_the_stack_charge(params: FeCapParams) -> None:
    """The ``.va``'s capacitance and its polarization current's charge per unit P."""
    functions = verilogae.load(str(FECAP_VA)).functions
    values = {k: getattr(params, k) for k in FECAP_DEVICE_FIELDS}

    def va(name: str) -> float:
        fn = functions[name]
        kw = {k: values[k] for k in fn.parameters if k != "temperature"}
        return float(fn.eval(temperature=300.0, voltages={}, **kw))

    c, a = _coefficients(params)
    assert va("c_fe_F") == pytest.approx(c, rel=1e-12)
    assert va("q_area_m2") == pytest.approx(a, rel=1e-12)
    # and i_pol_A is that charge per unit P times dP/dt, on a (V, p) grid
    v, pn = np.meshgrid(np.linspace(-4.0, 4.0, 17), np.linspace(-1.0, 1.0, 9))
    voltages = {"br_topbot": v.ravel(), "br_p": pn.ravel()}
    numerics = {"e_sign_V_per_m": 1e6}
    out = {}
    for name in ("i_pol_A", "dpdt_per_s"):
        fn = functions[name]
        kw = {k: {**values, **numerics}[k] for k in fn.parameters if k != "temperature"}
        out[name] = np.asarray(fn.eval(temperature=300.0, voltages=voltages, **kw))
    assert np.abs(out["dpdt_per_s"]).max() > 1e6  # switching points in the grid
    np.testing.assert_allclose(
        out["i_pol_A"], a * params.p_s_C_per_m2 * out["dpdt_per_s"], rtol=1e-12, atol=0.0
    )
