"""The torch RRAM cell against the compact model's equations (the Verilog-A source
itself, evaluated by verilogae), the gap integrator against an independent ODE solution,
and the field gate's figures: a sweep-rate-stable V_set and no read disturb."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import verilogae
from scipy.integrate import quad, solve_ivp
from test_compact_models import RRAM_ALT

from bruno_hil.chip.crossbar_circuit import CrossbarSettings
from bruno_hil.devices.compact import RRAM_VA
from bruno_hil.devices.params import K_B_EV_PER_K, ParameterError, RRAMParams
from bruno_hil.physics import (
    RRAMTensors,
    gap_rate_m_per_s,
    mean_gap_rate_m_per_s,
    rram_current_A,
    rram_step,
)
from bruno_hil.physics.rram import rram_step_in_compliance

PARAMS = RRAM_ALT.replace(vel_0_m_per_s=40.0)
"""Non-default values, so that a swapped or ignored field shows."""
VOLTS = np.linspace(-1.9, 1.9, 39)
GAPS = np.linspace(PARAMS.g_min_m, PARAMS.g_max_m, 7)
NM = 1e-9


def _t(x: np.ndarray | float) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def test_current_and_rate_match_the_verilog_a_model() -> None:
    model = verilogae.load(str(RRAM_VA)).functions
    v, g = np.meshgrid(VOLTS, GAPS)
    voltages = {"br_topbot": v.ravel(), "br_gap": g.ravel() / NM}
    fields = PARAMS.as_dict()
    d = RRAMTensors.from_params(PARAMS)
    for name, torch_value in (
        ("i_cell_A", rram_current_A(_t(v), _t(g), d)),
        ("rate_free_m_per_s", gap_rate_m_per_s(_t(v), _t(g), d)),
    ):
        fn = model[name]
        kw = {k: fields[k] for k in fn.parameters if k in fields}
        va = np.asarray(fn.eval(temperature=PARAMS.temperature_K, voltages=voltages, **kw))
        np.testing.assert_allclose(torch_value.numpy().ravel(), va, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize(("v0", "v1"), [(1.2, 1.6), (-1.3, -1.8), (1.4, 1.4), (-0.5, 0.5)])
def test_ramp_mean_is_the_time_average(v0: float, v1: float) -> None:
    d = RRAMTensors.from_params(PARAMS)
    g = _t(1.0 * NM)
    mean = mean_gap_rate_m_per_s(_t(v0), _t(v1), g, d).item()
    scale = abs(gap_rate_m_per_s(_t(max(abs(v0), abs(v1))), g, d).item())
    expected, _ = quad(
        lambda s: gap_rate_m_per_s(_t(v0 + (v1 - v0) * s), g, d).item(),
        *(0.0, 1.0),
        epsabs=1e-9 * scale,
        limit=200,
    )
    assert mean == pytest.approx(expected, rel=1e-6, abs=1e-12 * scale)


def _reference_rate_m_per_s(p: RRAMParams, v: float, g: float) -> float:
    """The stated switching law (RRAMParams' docstring), in plain floats."""
    i = p.i_0_A * math.exp(-g / p.g_0_m) * math.sinh(v / p.v_0_V)
    kt = K_B_EV_PER_K * (p.temperature_K + p.r_th_K_per_W * abs(v * i))
    gamma_g = p.gamma - p.beta * (g / 1e-9) ** 3
    gate = 0.5 * (
        1.0 + math.tanh((gamma_g * abs(v) / p.t_ox_m - p.f_min_V_per_m) / p.f_gate_V_per_m)
    )
    drive = gamma_g * p.a_0_m * v / (p.t_ox_m * kt)
    return -p.vel_0_m_per_s * math.exp(-p.e_a_eV / kt) * math.sinh(drive) * gate


def _ode_gap_m(
    p: RRAMParams, t_s: np.ndarray, v_V: np.ndarray, compliance_A: float | None
) -> np.ndarray:
    """The gap [m] at ``t_s`` of the stated law under a piecewise-linear source, behind an
    ideal compliance (the cell voltage is the one that draws it), confined by hard walls:
    a tight LSODA solution."""

    def rhs(t: float, y: np.ndarray) -> list[float]:
        v = float(np.interp(t, t_s, v_V))
        g = min(max(y[0], p.g_min_m), p.g_max_m)
        if compliance_A is not None:
            v_c = p.v_0_V * math.asinh(compliance_A / p.i_0_A * math.exp(g / p.g_0_m))
            v = math.copysign(min(abs(v), v_c), v)
        rate = _reference_rate_m_per_s(p, v, g)
        walled = (g <= p.g_min_m and rate < 0) or (g >= p.g_max_m and rate > 0)
        return [0.0 if walled else rate]

    sol = solve_ivp(
        rhs, (t_s[0], t_s[-1]), [p.g_init_m], method="LSODA", t_eval=t_s,
        rtol=1e-10, atol=1e-16, max_step=float(t_s[1] - t_s[0]),
    )  # fmt: skip
    return np.clip(sol.y[0], p.g_min_m, p.g_max_m)


def _torch_gap_m(
    params: RRAMParams, t_s: np.ndarray, v_V: np.ndarray, compliance_A: float | None
) -> np.ndarray:
    d = RRAMTensors.from_params(params)
    g, gaps = _t(params.g_init_m), [params.g_init_m]
    for k in range(t_s.size - 1):
        v0, v1, h = _t(v_V[k]), _t(v_V[k + 1]), _t(t_s[k + 1] - t_s[k])
        if compliance_A is None:
            g = rram_step(g, v0, h, d, v_end_V=v1)
        else:
            g = rram_step_in_compliance(g, v0, v1, h, d, _t(compliance_A))
        gaps.append(g.item())
    return np.asarray(gaps)


def _sweep(amplitude_V: float, step_V: float, rate_V_per_s: float) -> tuple[np.ndarray, ...]:
    """A triangle 0 -> +A -> -A -> 0 in steps of ``step_V``: times [s], voltages [V]."""
    n = round(amplitude_V / step_V)
    v = step_V * np.concatenate([np.arange(0, n), n - np.arange(0, 2 * n), np.arange(-n, 1)])
    return np.concatenate([[0.0], np.cumsum(np.abs(np.diff(v)) / rate_V_per_s)]), v


@pytest.mark.parametrize("rate_V_per_s", [1.0, 100.0])
@pytest.mark.parametrize("compliance_A", [None, 100e-6], ids=["free", "compliance"])
@pytest.mark.parametrize(
    "params",
    [RRAMParams(), RRAMParams.field_gated(), PARAMS],
    ids=["defaults (closed form)", "field-gated", "alt"],
)
def test_sweep_steps_follow_the_exact_ode(
    params: RRAMParams, compliance_A: float | None, rate_V_per_s: float
) -> None:
    t, v = _sweep(1.5, 0.01, rate_V_per_s)
    ref = _ode_gap_m(params, t, v, compliance_A)
    got = _torch_gap_m(params, t, v, compliance_A)
    assert ref.min() < 0.7 * NM and ref[-1] > params.g_max_m - 0.01 * NM  # SET, then RESET
    # within 0.01 nm everywhere (2-4 % of the current), the states between switchings
    # to 2e-3 nm (the switching itself lasts microseconds of the 10 ms steps)
    assert np.abs(got - ref).max() < 0.01 * NM
    assert np.median(np.abs(got - ref)) < 2e-3 * NM


def _v_set_V(params: RRAMParams, rate_V_per_s: float) -> float:
    """The source voltage at which a 0 -> 2 V ramp from the HRS crosses mid-gap (torch)."""
    t, v = _sweep(2.0, 0.002, rate_V_per_s)
    gaps = _torch_gap_m(params, t[: v.size // 4], v[: v.size // 4], None)
    mid = 0.5 * (params.g_min_m + params.g_max_m)
    return float(v[np.flatnonzero(gaps < mid)[0]])


def test_v_set_is_in_the_hfox_band_and_hardly_moves_with_sweep_rate() -> None:
    gated = RRAMParams.field_gated()
    v_set = {rate: _v_set_V(gated, rate) for rate in (0.01, 1.0, 100.0, 1e4)}
    assert 0.5 < v_set[1.0] < 1.5
    assert v_set[100.0] == pytest.approx(v_set[1.0], rel=0.2)
    assert v_set[1e4] / v_set[0.01] < 1.25  # six decades of sweep rate
    # without the gate (the plain sinh law, the defaults) V_set moves 4x over them
    assert _v_set_V(RRAMParams(), 1e4) / _v_set_V(RRAMParams(), 0.01) > 4.0


@pytest.mark.parametrize("start", ["g_max_m", "g_min_m"])
def test_a_read_for_hours_leaves_the_gap_where_it_was(start: str) -> None:
    params = RRAMParams.field_gated()
    d = RRAMTensors.from_params(params)
    g0 = _t(getattr(params, start))
    v_read = _t(CrossbarSettings().v_read_V)
    hours = 3 * 3600.0
    g = rram_step(g0, v_read, hours, d)
    assert abs(g.item() - g0.item()) < 1e-3 * NM
    # the plain sinh law (no gate, the defaults) SETs a reset cell under the same read
    if start == "g_max_m":
        ungated = RRAMTensors.from_params(RRAMParams())
        assert g0.item() - rram_step(g0, v_read, hours, ungated).item() > 0.1 * NM


def test_the_enhancement_must_stay_positive_over_the_window() -> None:
    with pytest.raises(ParameterError, match="gamma - beta"):
        RRAMParams(gamma=4.0, beta=1.0)  # 4 - 1*1.7^3 < 0


@pytest.mark.parametrize(
    ("v_start", "v_end", "h_s", "names"),
    [
        (1.3, 1.4, 3e-9, ("i_0_A", "g_0_m", "v_0_V", "vel_0_m_per_s", "gamma", "beta", "e_a_eV")),
        (0.8, 0.8, 1e-6, ("f_min_V_per_m", "f_gate_V_per_m", "r_th_K_per_W", "t_ox_m")),
    ],
    ids=["gate-open", "at-the-gate"],
)
def test_gradients_are_finite_in_float64(
    v_start: float, v_end: float, h_s: float, names: tuple[str, ...]
) -> None:
    theta = {k: _t(v).requires_grad_(True) for k, v in PARAMS.as_dict().items()}
    d = RRAMTensors(theta)
    gap = rram_step(_t(1.2 * NM), _t(v_start), h_s, d, v_end_V=_t(v_end))
    i = rram_current_A(_t(0.1), gap, d)
    assert i.dtype == torch.float64 and 0.3 * NM < gap.item() < 1.19 * NM  # a partial SET
    i.backward()
    for name in names:
        grad = theta[name].grad
        assert grad is not None and torch.isfinite(grad) and grad != 0.0, name
