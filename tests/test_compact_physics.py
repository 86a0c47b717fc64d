"""Physics of the compact models in real ngspice transients, against the design's
equations solved independently here (scipy) or in closed form."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pytest
import torch
from scipy.integrate import cumulative_trapezoid, solve_ivp

from bruno_hil.devices.compact import (
    FECAP_LIB,
    RRAM_G_EDGE_M,
    RRAM_LIB,
    fecap_instance,
    include_line,
    rram_instance,
)
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.physics import RRAMTensors, rram_current_A
from bruno_hil.spice.runner import NgspiceRunner, SimOptions, SimResult
from bruno_hil.spice.values import spice_number

Wave = Callable[[float], float]
"""A source voltage [V] as a function of time [s]."""

TIGHT = SimOptions(reltol=1e-6, abstol=1e-18, method="gear")
"""Transient tolerances tight enough to compare with a reference ODE solution at 1e-4."""


def _run(lib_line: str, instance: str, source: str, analysis: str) -> SimResult:
    netlist = "\n".join(["compact model physics", lib_line, source, instance, analysis, ".end"])
    return NgspiceRunner.shared().simulate(netlist, TIGHT)


def _pwl_source(points: Iterable[tuple[float, float]]) -> str:
    """``V1 in 0 PWL(t v ...)`` from (time [s], voltage [V]) pairs."""
    pwl = " ".join(f"{spice_number(t)} {spice_number(v)}" for t, v in points)
    return f"V1 in 0 PWL({pwl})"


def _crossing(
    t: np.ndarray, y: np.ndarray, level: float, rising: bool, after_s: float = 0.0
) -> float:
    """First time after ``after_s`` that ``y`` crosses ``level`` upwards (``rising``) or
    downwards, interpolated."""
    past = (y > level if rising else y < level) & (t > after_s)
    k = int(np.argmax(past))
    assert past[k] and k > 0, f"never crosses {level}"
    return float(t[k - 1] + (level - y[k - 1]) * (t[k] - t[k - 1]) / (y[k] - y[k - 1]))


# -- FeCap: P-V loop under a triangle wave ------------------------------------------------
def _triangle(v_max_V: float, period_s: float) -> tuple[str, Wave]:
    """PWL source 0 -> +v_max -> -v_max -> 0 and the same waveform as a function of t."""
    t_pts = np.array([0.0, 0.25, 0.75, 1.0]) * period_s
    v_pts = np.array([0.0, v_max_V, -v_max_V, 0.0])
    return _pwl_source(zip(t_pts, v_pts, strict=True)), lambda t: np.interp(t, t_pts, v_pts)


def _reference_p(params: FeCapParams, wave: Wave, period_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The design's polarization ODE (sign(E), Merz tau), solved by scipy: P/P_s vs t."""

    def rhs(t: float, p: np.ndarray) -> np.ndarray:
        e = params.field_V_per_m(float(wave(t)), p[0] * params.p_s_C_per_m2)
        x = (params.e_a_V_per_m / (abs(e) + params.soft_e_V_per_m)) ** params.alpha
        return np.array([(math.copysign(1.0, e) - p[0]) * math.exp(-x) / params.tau_0_s])

    t = np.linspace(0.0, period_s, 20001)
    sol = solve_ivp(
        rhs,
        (0.0, period_s),
        [-1.0],
        method="LSODA",
        t_eval=t,
        rtol=1e-9,
        atol=1e-12,
        max_step=period_s / 2000,
    )
    assert sol.success, sol.message
    return sol.t, sol.y[0]


@pytest.mark.parametrize(
    ("params", "period_s"),
    [
        (FeCapParams(), 1e-3),
        (FeCapParams(), 1e-5),
        (FeCapParams(area_m2=50e-12, alpha=1.5, e_a_V_per_m=1.1e9, t_int_m=1.0e-9), 1e-3),
    ],
    ids=["defaults-1ms", "defaults-10us", "alt-1ms"],
)
def test_fecap_triangle_switches_at_merz_coercive_voltage(params, period_s) -> None:
    v_max = 4.0
    source, wave = _triangle(v_max, period_s)
    res = _run(
        include_line(FECAP_LIB),
        fecap_instance("Xf1", "in", "0", params),
        source,
        f".tran {spice_number(period_s / 2000)} {spice_number(period_s)}",
    )
    t, v, p = res["time"], res["in"], res["xf1.p"]
    assert p[0] == pytest.approx(-1.0, abs=1e-9)  # starts at -P_s without 'uic'
    assert p.max() > 0.99 and p[t > 0.75 * period_s].min() < -0.99
    assert np.all(np.abs(p) <= 1.0 + 1e-6)

    t_ref, p_ref = _reference_p(params, wave, period_s)
    half = 0.5 * period_s
    v_up = wave(_crossing(t, p, 0.0, rising=True))
    v_up_ref = wave(_crossing(t_ref, p_ref, 0.0, rising=True))
    v_dn = wave(_crossing(t, p, 0.0, rising=False, after_s=half))
    v_dn_ref = wave(_crossing(t_ref, p_ref, 0.0, rising=False, after_s=half))
    assert 0.3 < v_up_ref < v_max and -v_max < v_dn_ref < -0.3
    assert v_up == pytest.approx(v_up_ref, rel=1e-4)
    assert v_dn == pytest.approx(v_dn_ref, rel=1e-4)

    # charge: the source delivers C_fe*V + k*A*P_s*(p - p0) + the leak, over the up-sweep
    i = -res["v1#branch"]
    up = t <= 0.25 * period_s + 1e-15
    q_src = cumulative_trapezoid(i[up], t[up], initial=0.0)[-1]
    i_leak = params.i_0_A_per_m2 * params.area_m2 * np.abs(np.expm1(v[up] / params.v_t_V))
    q_leak = cumulative_trapezoid(i_leak, t[up], initial=0.0)[-1]
    a_ps = params.charge_per_polarization_m2 * params.p_s_C_per_m2
    q_expected = params.c_fe_F * v[up][-1] + a_ps * (p[up][-1] - p[0]) + q_leak
    assert q_src == pytest.approx(q_expected, rel=2e-3)
    assert a_ps * (p[up][-1] - p[0]) > 0.5 * q_src  # switching dominates the charge


def test_fecap_faster_sweep_needs_higher_coercive_voltage() -> None:
    """Merz: switching takes tau(E), so a 100x faster sweep reaches a higher field first."""
    v_c = []
    for period_s in (1e-3, 1e-5):
        source, wave = _triangle(4.0, period_s)
        res = _run(
            include_line(FECAP_LIB),
            fecap_instance("Xf1", "in", "0"),
            source,
            f".tran {spice_number(period_s / 2000)} {spice_number(period_s)}",
        )
        v_c.append(wave(_crossing(res["time"], res["xf1.p"], 0.0, rising=True)))
    assert v_c[1] > v_c[0] + 0.1


# -- RRAM: SET, RESET and read -------------------------------------------------------------
def _ramp_crossing_V(params: RRAMParams, dg_m: float, ramp_V_per_s: float) -> float:
    """Closed form: under V = ramp*t from 0 the unconfined gap moves by
    K/(c*ramp)*(cosh(c*V) - 1), K = vel_0*exp(-e_a/kT), c = gamma*a_0/(t_ox*kT); the voltage
    at which it has moved by |dg_m|."""
    kt = params.kt_eV
    k = params.vel_0_m_per_s * math.exp(-params.e_a_eV / kt)
    c = params.gamma * params.a_0_m / (params.t_ox_m * kt)
    return math.acosh(1.0 + abs(dg_m) * c * abs(ramp_V_per_s) / k) / c


@pytest.mark.parametrize(
    "params",
    [RRAMParams(), RRAMParams(g_0_m=0.3e-9, e_a_eV=0.55, gamma=14.0, temperature_K=350.0)],
    ids=["defaults", "alt"],
)
def test_rram_set_reset_and_read(params: RRAMParams) -> None:
    v_read, v_prog, t_ramp = 0.1, 2.0, 100e-6
    # read, SET ramp up, back to 0, read, RESET ramp down, back to 0, read
    pts = [
        (0, v_read),
        (10e-6, v_read),
        (11e-6, 0),
        (12e-6, 0),
        (112e-6, v_prog),
        (113e-6, 0),
        (114e-6, v_read),
        (124e-6, v_read),
        (125e-6, 0),
        (126e-6, 0),
        (226e-6, -v_prog),
        (227e-6, 0),
        (228e-6, v_read),
        (238e-6, v_read),
    ]
    res = _run(
        include_line(RRAM_LIB),
        rram_instance("Xr1", "in", "0", params),
        _pwl_source(pts),
        ".tran 50n 238u",
    )
    t, v, gap_nm, i = res["time"], res["in"], res["xr1.gap"], -res["v1#branch"]
    g = gap_nm * 1e-9

    assert g[0] == pytest.approx(params.g_init_m, rel=1e-9)
    assert g.min() >= params.g_min_m - RRAM_G_EDGE_M and g.max() <= params.g_max_m + RRAM_G_EDGE_M
    # the terminal current is the read equation at the simulated gap, at every time point
    # (to the Newton tolerance of the transient, 10*reltol)
    ref_i = params.i_0_A * np.exp(-g / params.g_0_m) * np.sinh(v / params.v_0_V)
    np.testing.assert_allclose(i, ref_i, rtol=10 * TIGHT.reltol, atol=1e-15)

    def read_A(t0: float) -> float:
        return float(np.interp(t0, t, i))

    i_off0, i_on, i_off = read_A(5e-6), read_A(120e-6), read_A(235e-6)
    assert i_on / i_off0 > 10 and i_on / i_off > 10
    assert i_on / i_off == pytest.approx(
        math.exp((params.g_max_m - params.g_min_m) / params.g_0_m), rel=0.01
    )
    # the read pulses barely disturb the state; SET ends at g_min, RESET at g_max
    assert np.interp(120e-6, t, g) == pytest.approx(params.g_min_m, abs=RRAM_G_EDGE_M)
    assert np.interp(235e-6, t, g) == pytest.approx(params.g_max_m, abs=RRAM_G_EDGE_M)

    # mid-gap crossing voltages of the SET and RESET ramps match the closed form
    g_mid = 0.5 * (params.g_min_m + params.g_max_m)
    ramp = v_prog / t_ramp
    v_set = np.interp(_crossing(t, g, g_mid, rising=False), t, v)
    set_from = np.interp(12e-6, t, g)  # the first read moved it a little
    assert v_set == pytest.approx(_ramp_crossing_V(params, g_mid - set_from, ramp), rel=1e-4)
    v_reset = np.interp(_crossing(t, g, g_mid, rising=True, after_s=126e-6), t, v)
    reset_from = np.interp(126e-6, t, g)
    assert -v_reset == pytest.approx(_ramp_crossing_V(params, g_mid - reset_from, ramp), rel=1e-4)


def test_rram_frozen_read_device_dc_sweep() -> None:
    """switching=False: a DC I-V sweep reads the cell at its initial gap, unchanged."""
    params = RRAMParams(g_init_m=0.9e-9, i_0_A=2e-4, v_0_V=0.3)
    netlist = "\n".join(
        [
            "frozen rram read",
            include_line(RRAM_LIB),
            "V1 in 0 0",
            rram_instance("Xr1", "in", "0", params, switching=False),
            ".dc V1 -1.5 1.5 0.05",
            ".end",
        ]
    )
    res = NgspiceRunner.shared().simulate(netlist, SimOptions(reltol=1e-9, abstol=1e-30))
    v = res["in"]
    assert v.size == 61
    np.testing.assert_allclose(res["xr1.gap"], 0.9, rtol=1e-9)
    d = RRAMTensors.from_params(params)
    ref = rram_current_A(torch.as_tensor(v, dtype=torch.float64), d.g_init_m, d).numpy()
    np.testing.assert_allclose(-res["v1#branch"], ref, rtol=1e-6, atol=1e-30)


def test_fecap_core_polarization_pin_takes_a_reset() -> None:
    """``p_node`` exposes P/P_s on a 1 F node: a neuron's reset can pull it to -1 (here a
    1e9 S behavioral switch: time constant 1 ns) and the state then stays there."""
    source = "\n".join(
        [
            _pwl_source([(0.0, 0.0), (10e-6, 4.0), (20e-6, 4.0), (30e-6, 0.0)]),
            "Vrst rst 0 PULSE(0 1 40u 1n 1n 100n 1)",
            "Brst pn 0 I = 1e9*v(rst)*(v(pn) + 1)",
        ]
    )
    res = _run(
        include_line(FECAP_LIB),
        fecap_instance("Xf1", "in", "0", p_node="pn"),
        source,
        ".tran 10n 60u",
    )
    t, p = res["time"], res["pn"]
    assert p[0] == pytest.approx(-1.0, abs=1e-9)
    assert np.interp(39e-6, t, p) > 0.99  # switched by the 4 V pulse, kept at 0 V
    assert np.all(np.abs(p[t > 40.2e-6] + 1.0) < 1e-3)  # reset within 200 ns, and it holds
