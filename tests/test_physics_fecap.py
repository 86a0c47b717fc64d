"""FeCap/FeLIF physics in torch: the device equations against the Verilog-A model
(verilogae), the fine integrator against a tight ODE solution, the coarse step's Jacobian
against finite differences, no underflow, variability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import verilogae
from scipy.integrate import solve_ivp

from bruno_hil.devices import FeCapParams
from bruno_hil.devices.compact import FECAP_DEVICE_FIELDS, FECAP_E_SIGN_V_PER_M, FECAP_VA
from bruno_hil.devices.params import EPS0_F_PER_M, FECAP_VARIABLE_FIELDS
from bruno_hil.physics import (
    FeCapTensors,
    FeLIFState,
    coarse_step,
    fecap_step,
    field_V_per_m,
    fine_trajectory,
    leak_current_A,
    switching_rate_per_s,
)

P = FeCapParams()
D = FeCapTensors.from_params(P)


def _ode(current_A: float):
    """The FeLIF equations without spikes, in numpy, as written in the design notes."""
    den = P.t_hzo_m * P.eps_int + P.t_int_m * P.eps_hzo

    def rhs(_t: float, x: np.ndarray) -> list[float]:
        v, p = x
        e = (v * P.eps_int - p * P.t_int_m / EPS0_F_PER_M) / den
        rate = np.exp(-((P.e_a_V_per_m / (abs(e) + P.soft_e_V_per_m)) ** P.alpha)) / P.tau_0_s
        dp = (np.sign(e) * P.p_s_C_per_m2 - p) * rate
        leak = np.sign(v) * (P.i_0_A_per_m2 * P.area_m2 * np.expm1(v / P.v_t_V) + P.i_dsc_A)
        return [(current_A - leak - P.charge_per_polarization_m2 * dp) / P.c_tot_F, dp]

    return rhs


@pytest.mark.parametrize("leak_form", ["passive", "reference"])
def test_device_equations_match_the_verilog_a_model(leak_form: str) -> None:
    """The torch field, Merz rate, dP/dt, leak and capacitance against the ``.va`` model's
    own variables, evaluated by verilogae on a (V, P) grid, at non-default parameters (so
    that a swapped or ignored field shows). The ``.va`` holds the FeCap only: its leak has
    no I_dsc (the neuron circuit's), and its sign(E) is tanh(E/e_sign)."""
    params = FeCapParams(
        area_m2=40e-12,
        t_hzo_m=8e-9,
        t_int_m=1.0e-9,
        eps_int=30.0,
        e_a_V_per_m=1.1e9,
        alpha=1.5,
        i_0_A_per_m2=3e-3,
        v_t_V=0.4,
        i_dsc_A=0.0,
        leak_form=leak_form,
    )
    d = FeCapTensors.from_params(params)
    v, pn = np.meshgrid(np.linspace(-4.0, 4.0, 41), np.linspace(-1.0, 1.0, 21))
    v_t = torch.as_tensor(v.ravel(), dtype=torch.float64)
    p_t = torch.as_tensor(pn.ravel() * params.p_s_C_per_m2, dtype=torch.float64)
    model = verilogae.load(str(FECAP_VA)).functions
    values = {k: getattr(params, k) for k in FECAP_DEVICE_FIELDS}
    values["e_sign_V_per_m"] = FECAP_E_SIGN_V_PER_M
    values["leak_passive"] = int(leak_form == "passive")

    def va(name: str) -> np.ndarray:
        fn = model[name]
        kw = {k: values[k] for k in fn.parameters if k != "temperature"}
        voltages = {"br_topbot": v.ravel(), "br_p": pn.ravel()} if fn.voltages else {}
        return np.asarray(fn.eval(temperature=300.0, voltages=voltages, **kw))

    e = field_V_per_m(v_t, p_t, d)
    np.testing.assert_allclose(e.numpy(), va("e_V_per_m"), rtol=1e-12, atol=1e-3)
    rate = switching_rate_per_s(e, d)
    np.testing.assert_allclose(rate.numpy(), va("rate_per_s"), rtol=1e-9, atol=0.0)
    assert rate.max().item() > 1e9 and (rate > 0).sum().item() > 0.3 * rate.numel()
    dpdt = (torch.sign(e) * d.p_s_C_per_m2 - p_t) * rate  # the design's dP/dt [C/m^2/s]
    far = (e.abs() > 20 * FECAP_E_SIGN_V_PER_M).numpy()  # tanh(E/e_sign) == sign(E) there
    assert far.mean() > 0.9
    va_dpdt = va("dpdt_per_s") * params.p_s_C_per_m2
    np.testing.assert_allclose(dpdt.numpy()[far], va_dpdt[far], rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(
        leak_current_A(v_t, d).numpy(), va("i_leak_A"), rtol=1e-9, atol=1e-30
    )
    assert float(va("c_fe_F")) == pytest.approx(d.c_fe_F.item(), rel=1e-12)


def test_fine_integrator_matches_a_tight_ode_solution_on_a_driven_trace() -> None:
    """A 2 nA step then a 0.5 nA step, sampled at every 1 ms boundary up to just before the
    first spike; LSODA with rtol 1e-10 and a tiny first step (sign(V) is discontinuous
    at the start state V = 0)."""
    drive = [2e-9] * 4 + [0.5e-9] * 2
    x0, refs = [0.0, -P.p_s_C_per_m2], []
    for k, current in enumerate(drive):
        sol = solve_ivp(
            _ode(current),
            (k * 1e-3, (k + 1) * 1e-3),
            x0,
            method="LSODA",
            rtol=1e-10,
            atol=[1e-12, 1e-14],
            first_step=1e-12,
            max_step=1e-6,
        )
        x0 = sol.y[:, -1]
        refs.append(x0)
    ref = np.array(refs)
    currents = torch.tensor(drive, dtype=torch.float64).reshape(-1, 1, 1)
    trace = fine_trajectory(FeLIFState.rest(D, (1, 1)), currents, 1e-3, 1000, D)
    assert trace.spikes.sum() == 0
    np.testing.assert_allclose(trace.v_V.flatten().numpy(), ref[:, 0], atol=2e-5)
    np.testing.assert_allclose(trace.p_C_per_m2.flatten().numpy(), ref[:, 1], atol=1e-6)
    # and it converges: 10x more steps get 10x closer (first order)
    finer = fine_trajectory(FeLIFState.rest(D, (1, 1)), currents, 1e-3, 10000, D)
    err_1000 = np.abs(trace.v_V.flatten().numpy() - ref[:, 0]).max()
    err_10000 = np.abs(finer.v_V.flatten().numpy() - ref[:, 0]).max()
    assert err_10000 < err_1000 / 5


def test_first_spike_time_at_2nA_matches_the_reference_figure() -> None:
    """The design notes' figure: first spike at 5.6512 ms for a constant 2 nA (with the
    stack's terminal charge; 6.2435 ms with the reference code's C_fe and A*dP/dt)."""
    currents = torch.full((7, 1, 1), 2e-9, dtype=torch.float64)
    trace = fine_trajectory(FeLIFState.rest(D, (1, 1)), currents, 1e-3, 1000, D)
    assert trace.spikes.flatten().tolist() == [0, 0, 0, 0, 0, 1, 0]
    # the reset puts the neuron back at v_reset, P = -P_s, then it charges for ~1.35 ms
    assert -P.v_reset_V > trace.v_V[-1].item() > P.v_reset_V


def test_reset_and_bounds_hold() -> None:
    currents = torch.full((20, 2, 3), 50e-9, dtype=torch.float64)
    trace = fine_trajectory(FeLIFState.rest(D, (2, 3)), currents, 1e-3, 100, D)
    assert trace.spikes.sum() > 20  # strong drive: regular firing
    assert (trace.v_V <= P.v_thr_V).all() and (trace.v_V >= -P.v_clip_V).all()
    assert (trace.p_C_per_m2.abs() <= P.p_s_C_per_m2 + 1e-15).all()


def test_no_step_underflows_for_the_smallest_currents() -> None:
    """1 pA for one 1 us step must move V (float64); far below E_c the switching increment
    is tiny but not flushed to zero."""
    state = FeLIFState.rest(D, (1,))
    driven = fecap_step(state, torch.tensor([1e-12], dtype=torch.float64), 1e-6, D)
    idle = fecap_step(state, torch.tensor([0.0], dtype=torch.float64), 1e-6, D)
    # (at rest the depolarization field already moves P a little: V moves without input)
    dv = (driven.v_V - idle.v_V).item()
    assert dv == pytest.approx(1e-12 * 1e-6 / P.c_tot_F, rel=1e-6)
    e = torch.tensor([1e8], dtype=torch.float64)  # well below the Merz activation field
    rate = switching_rate_per_s(e, D).item()
    assert 0.0 < rate < 1e6
    p = torch.tensor([-P.p_s_C_per_m2], dtype=torch.float64)
    v = torch.tensor([0.5], dtype=torch.float64)
    moved = fecap_step(FeLIFState(v, p), torch.zeros(1, dtype=torch.float64), 1e-9, D)
    assert moved.p_C_per_m2.item() > p.item()


def test_charge_is_conserved_by_switching() -> None:
    """With no input and no leak, C_tot*V + k*A*P is unchanged by a step that switches."""
    d = FeCapTensors.from_params(P.replace(i_0_A_per_m2=0.0, i_dsc_A=0.0))
    state = FeLIFState(
        torch.tensor([2.0], dtype=torch.float64), torch.tensor([-0.2], dtype=torch.float64)
    )
    nxt = fecap_step(state, torch.zeros(1, dtype=torch.float64), 1e-6, d)
    before = d.c_tot_F * state.v_V + d.charge_per_polarization_m2 * state.p_C_per_m2
    after = d.c_tot_F * nxt.v_V + d.charge_per_polarization_m2 * nxt.p_C_per_m2
    assert nxt.p_C_per_m2.item() > -0.2  # it did switch
    assert after.item() == pytest.approx(before.item(), rel=1e-12)


def test_coarse_step_jacobian_matches_finite_differences() -> None:
    """The coarse step treats the Merz rate as a constant of the step: its autograd
    Jacobian equals central differences of the same map with the rate held at its value
    (states from the dielectric regime through switching, 1 ms step)."""
    v0 = torch.linspace(-1.0, 2.0, 7, dtype=torch.float64)
    p0 = torch.linspace(-0.21, 0.2, 7, dtype=torch.float64)
    i0 = torch.linspace(1e-9, 8e-9, 7, dtype=torch.float64)
    h = 1e-3
    x = [t.clone().requires_grad_() for t in (v0, p0, i0)]
    out = fecap_step(FeLIFState(x[0], x[1]), x[2], h, D, freeze_rate=True)
    for k, component in enumerate(out):
        grads = torch.autograd.grad(component.sum(), x, retain_graph=True)
        for j, (grad, base) in enumerate(zip(grads, (v0, p0, i0), strict=True)):
            eps = 1e-7 * (base.abs() + (1e-9 if j == 2 else 1e-3))
            hi, lo = ([t.clone() for t in (v0, p0, i0)] for _ in range(2))
            hi[j], lo[j] = hi[j] + eps, lo[j] - eps
            fd = (_rate_held(v0, p0, hi, h)[k] - _rate_held(v0, p0, lo, h)[k]) / (2 * eps)
            scale = fd.abs().max().item()
            np.testing.assert_allclose(
                grad.numpy(), fd.numpy(), rtol=1e-5, atol=max(1e-7 * scale, 1e-30)
            )


def _rate_held(v0, p0, args, h_s):
    """fecap_step at ``args`` with the Merz rate it has at (v0, p0): tau_0 is rescaled per
    element so that the rate is the same."""
    rate0 = switching_rate_per_s(_field(v0, p0), D)
    rate_here = switching_rate_per_s(_field(args[0], args[1]), D)
    scale = torch.where(rate0 > 0, rate_here / rate0, torch.ones_like(rate0))
    d = FeCapTensors({**D.values, "tau_0_s": D.tau_0_s * scale})
    return fecap_step(FeLIFState(args[0], args[1]), args[2], h_s, d)


def _field(v, p):
    den = P.t_hzo_m * P.eps_int + P.t_int_m * P.eps_hzo
    return (v * P.eps_int - p * P.t_int_m / EPS0_F_PER_M) / den


def test_coarse_step_spike_uses_the_superspike_surrogate() -> None:
    v = torch.tensor([2.4, 2.6], dtype=torch.float64, requires_grad=True)
    p = torch.full((2,), 0.22, dtype=torch.float64)  # switched: no fast switching left
    spikes, state = coarse_step(
        FeLIFState(v, p), torch.zeros(2, dtype=torch.float64), 1e-9, D, 10.0
    )
    assert spikes.tolist() == [0.0, 1.0]
    assert state.v_V[1].item() == pytest.approx(P.v_reset_V, abs=1e-12)  # v + (v_reset - v)
    assert state.p_C_per_m2[1].item() == pytest.approx(-P.p_s_C_per_m2, abs=1e-15)
    (grad,) = torch.autograd.grad(spikes.sum(), v)
    x = v.detach() - P.v_thr_V
    np.testing.assert_allclose(grad.numpy(), (1 / (10 * x.abs() + 1) ** 2).numpy(), rtol=1e-6)


def test_variability_factors_scale_the_variable_fields() -> None:
    factors = torch.ones(len(FECAP_VARIABLE_FIELDS), 3, dtype=torch.float64)
    factors[FECAP_VARIABLE_FIELDS.index("v_thr_V"), 1] = 0.5
    d = FeCapTensors.from_params(P, factors)
    assert d.v_thr_V.tolist() == [P.v_thr_V, P.v_thr_V / 2, P.v_thr_V]
    assert d.alpha.item() == P.alpha  # not a variable field: a shared scalar
