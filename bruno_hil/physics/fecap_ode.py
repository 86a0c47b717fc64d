"""A tight ODE solution of one FeLIF neuron, the reference for the fine forward's inner
steps: the equations of :mod:`bruno_hil.physics.fecap` in numpy, integrated by scipy's
LSODA at ``rtol`` 1e-10 with the threshold crossing found as an event (then V <- v_reset,
P <- -P_s and the solve restarts). The input current is held over each network step.

Slow (a Python right-hand side, stiff switching): meant for tens of drives of tens of
steps, in tests and ``experiments/fine_steps.py``, not for training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp

from bruno_hil.devices.fecap_stack import field_V_per_m
from bruno_hil.devices.params import FeCapParams


class OdeTrace(NamedTuple):
    """A reference run: per network step the spike count and V [V] at its end, and every
    spike time [s]."""

    spikes: np.ndarray
    v_V: np.ndarray
    spike_times_s: np.ndarray


def _rhs(p: FeCapParams, current_A: float) -> Callable[[float, np.ndarray], list[float]]:
    """d(V, P)/dt [V/s, C/m^2/s] of the FeLIF equations (no spike) at ``current_A`` [A]."""
    c_tot, q_area = p.c_tot_F, p.charge_per_polarization_m2
    i_0, passive = p.i_0_A_per_m2 * p.area_m2, p.leak_form == "passive"

    def leak_A(v: float) -> float:
        if passive:
            return 2.0 * i_0 * np.sinh(v / p.v_t_V) + np.sign(v) * p.i_dsc_A
        return np.sign(v) * (i_0 * np.expm1(v / p.v_t_V) + p.i_dsc_A)

    def rhs(_t: float, x: np.ndarray) -> list[float]:
        v, pol = x
        e = field_V_per_m(v, pol, p)
        ratio = min(p.e_a_V_per_m / (abs(e) + p.soft_e_V_per_m), 1e10)
        dp = (np.sign(e) * p.p_s_C_per_m2 - pol) * np.exp(-(ratio**p.alpha)) / p.tau_0_s
        return [(current_A - leak_A(v) - q_area * dp) / c_tot, dp]

    return rhs


def ode_reference(
    currents_A: np.ndarray, params: FeCapParams, dt_s: float, rtol: float = 1e-10
) -> OdeTrace:
    """The neuron from rest (V = 0, P = -P_s) under ``currents_A`` [T] [A], each held for
    ``dt_s`` [s]. Raises ValueError if V leaves the clip range (the reference has no
    clip) or the solver fails."""
    p = params
    state = np.array([0.0, -p.p_s_C_per_m2])
    counts, v_end, times = [], [], []

    def crossing(_t: float, x: np.ndarray) -> float:
        return float(x[0] - p.v_thr_V)

    crossing.terminal = True  # type: ignore[attr-defined]
    crossing.direction = 1.0  # type: ignore[attr-defined]
    for k, current in enumerate(np.asarray(currents_A, dtype=float)):
        t, t_end, count = k * dt_s, (k + 1) * dt_s, 0
        while True:
            sol = solve_ivp(
                _rhs(p, float(current)),
                (t, t_end),
                state,
                method="LSODA",
                rtol=rtol,
                atol=[1e-12, 1e-14],
                first_step=1e-12,
                max_step=dt_s / 100,
                events=crossing,
            )
            if sol.status < 0:
                raise ValueError(f"ODE reference, step {k}: {sol.message}")
            if np.abs(sol.y[0]).max() > p.v_clip_V:
                raise ValueError(f"ODE reference, step {k}: |V| beyond v_clip {p.v_clip_V} V")
            if sol.status == 1 and sol.t_events[0].size:
                t = float(sol.t_events[0][0])
                times.append(t)
                count += 1
                state = np.array([p.v_reset_V, -p.p_s_C_per_m2])
                continue
            state = sol.y[:, -1]
            break
        counts.append(count)
        v_end.append(state[0])
    return OdeTrace(np.array(counts), np.array(v_end), np.array(times))
