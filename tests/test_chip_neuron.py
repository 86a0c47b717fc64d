"""The one-FeLIF-neuron circuit in real ngspice against an independent ODE solution of the
design's equations (scipy, instantaneous reset)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from bruno_hil.chip.neuron_circuit import (
    NeuronCircuitError,
    NeuronRun,
    neuron_netlist,
    pwl_points,
    simulate_neuron,
)
from bruno_hil.devices.params import FeCapParams

DT_S = 1e-3
PARAMS = FeCapParams()


class Reference:
    """The FeLIF ODE under one current per step (hard sign(V), sign(E); reset V <- v_reset,
    P <- -P_s at V = v_thr), solved by LSODA: spike times [s] and V [V], P [C/m^2] at the
    step boundaries. (Radau is wrong here: it jumps ~50 mV through the sign(V) kink.)"""

    def __init__(self, p: FeCapParams, currents_A: np.ndarray, dt_s: float) -> None:
        self.p = p
        y, spikes, states = np.array([0.0, -p.p_s_C_per_m2]), [], [[0.0, -p.p_s_C_per_m2]]
        for k, i_in in enumerate(currents_A):
            t = k * dt_s
            while True:
                sol = solve_ivp(
                    self.rhs,
                    (t, (k + 1) * dt_s),
                    y,
                    args=(i_in,),
                    method="LSODA",
                    rtol=1e-10,
                    atol=[1e-10, 1e-13],
                    first_step=1e-12,
                    events=self.threshold,
                )
                if not sol.t_events[0].size:
                    y = sol.y[:, -1]
                    break
                t, y = float(sol.t_events[0][0]), np.array([p.v_reset_V, -p.p_s_C_per_m2])
                spikes.append(t)
            states.append(list(y))
        self.spike_times_s = np.array(spikes)
        self.v_V, self.p_C_per_m2 = np.array(states).T

    def rhs(self, _t: float, y: np.ndarray, i_in_A: float) -> list[float]:
        p, (v, pol) = self.p, y
        e = p.field_V_per_m(v, pol)
        rate = np.exp(-((p.e_a_V_per_m / (abs(e) + p.soft_e_V_per_m)) ** p.alpha)) / p.tau_0_s
        dp = (np.sign(e) * p.p_s_C_per_m2 - pol) * rate
        leak = np.sign(v) * (p.i_0_A_per_m2 * p.area_m2 * (np.exp(v / p.v_t_V) - 1) + p.i_dsc_A)
        return [(i_in_A - leak - p.charge_per_polarization_m2 * dp) / p.c_tot_F, dp]

    def threshold(self, _t: float, y: np.ndarray, _i_in_A: float) -> float:
        return y[0] - self.p.v_thr_V

    threshold.terminal, threshold.direction = True, 1  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def driven() -> tuple[NeuronRun, Reference]:
    currents = np.full(20, 2e-9)
    return simulate_neuron(PARAMS, currents, DT_S), Reference(PARAMS, currents, DT_S)


def test_spikes_above_threshold_match_the_ode(driven: tuple[NeuronRun, Reference]) -> None:
    run, ref = driven
    ref_spikes = ref.spike_times_s
    assert ref_spikes.size == 3
    assert run.spike_times_s.size == ref_spikes.size
    assert np.max(np.abs(run.spike_times_s - ref_spikes)) < 1e-6
    assert abs(run.spike_times_s[0] - 5.6512e-3) < 1e-6  # 6.2435 ms before the stack charge
    assert run.spikes.tolist() == np.histogram(ref_spikes, bins=run.boundary_s)[0].tolist()


def test_a_stronger_drive_keeps_every_spike_within_a_microsecond() -> None:
    run = simulate_neuron(PARAMS, np.full(30, 5e-9), DT_S)
    ref_spikes = Reference(PARAMS, np.full(30, 5e-9), DT_S).spike_times_s
    assert ref_spikes.size == 12  # 11 before the stack's terminal charge
    assert run.spike_times_s.size == ref_spikes.size
    assert np.max(np.abs(run.spike_times_s - ref_spikes)) < 1e-6


def test_no_spike_below_threshold() -> None:
    run = simulate_neuron(PARAMS, np.full(20, 0.3e-9), DT_S)
    ref_spikes = Reference(PARAMS, np.full(20, 0.3e-9), DT_S).spike_times_s
    assert ref_spikes.size == 0
    assert run.spike_times_s.size == 0 and run.spikes.sum() == 0
    assert 0.5 < run.wave_v_V.max() < PARAMS.v_thr_V  # charged, but not to threshold


def test_states_at_step_boundaries_and_resets(driven: tuple[NeuronRun, Reference]) -> None:
    run, ref = driven
    # every boundary is an ngspice time point (a PWL breakpoint): sampling is exact there
    nearest = np.min(np.abs(run.time_s[:, None] - run.boundary_s[None, :]), axis=0)
    assert np.all(nearest < 1e-12)
    assert np.allclose(run.v_V, np.interp(run.boundary_s, run.time_s, run.wave_v_V), atol=0)
    assert np.allclose(
        run.p_C_per_m2, np.interp(run.boundary_s, run.time_s, run.wave_p_C_per_m2), atol=0
    )
    assert np.max(np.abs(run.v_V - ref.v_V)) < 1e-3
    assert np.max(np.abs(run.p_C_per_m2 - ref.p_C_per_m2)) < 1e-3 * PARAMS.p_s_C_per_m2
    # after each spike the reset leaves V = v_reset_V and P = -P_s
    for t_spike in run.spike_times_s:
        k = np.flatnonzero((run.time_s > t_spike) & (run.wave_fire_V < 0.5))[0]
        assert abs(run.wave_v_V[k] - PARAMS.v_reset_V) < 1e-3
        assert abs(run.wave_p_C_per_m2[k] + PARAMS.p_s_C_per_m2) < 1e-4 * PARAMS.p_s_C_per_m2
        assert run.time_s[k] - t_spike < 100e-9  # the reset takes tens of ns


@pytest.mark.parametrize("seed", [0, 5])
def test_random_piecewise_constant_drive_matches_the_ode(seed: int) -> None:
    currents = np.random.default_rng(seed).uniform(0.0, 6e-9, 30)
    run, ref = simulate_neuron(PARAMS, currents, DT_S), Reference(PARAMS, currents, DT_S)
    assert ref.spike_times_s.size >= 5
    assert run.spike_times_s.size == ref.spike_times_s.size
    assert np.max(np.abs(run.spike_times_s - ref.spike_times_s)) < 1e-6
    assert run.spikes.tolist() == np.histogram(ref.spike_times_s, bins=run.boundary_s)[0].tolist()
    assert np.max(np.abs(run.v_V - ref.v_V)) < 0.01
    assert np.max(np.abs(run.p_C_per_m2 - ref.p_C_per_m2)) < 0.01 * PARAMS.p_s_C_per_m2


def test_clip_holds_the_membrane_at_minus_v_clip() -> None:
    run = simulate_neuron(PARAMS, np.full(3, -10e-9), DT_S)
    assert run.spike_times_s.size == 0
    assert abs(run.v_V[-1] + PARAMS.v_clip_V) < 1e-3
    assert run.wave_v_V.min() > -PARAMS.v_clip_V - 1e-3


def test_piecewise_constant_and_linear_inputs() -> None:
    held = pwl_points(np.array([1e-9, 3e-9]), DT_S, hold=True, t_edge_s=1e-9)
    assert held == [(0.0, 1e-9), (1e-3, 1e-9), (1e-3 + 1e-9, 3e-9), (2e-3, 3e-9)]
    linear = pwl_points(np.array([1e-9, 3e-9]), DT_S, hold=False, t_edge_s=1e-9)
    assert linear == [(0.0, 1e-9), (1e-3, 3e-9), (2e-3, 3e-9)]


@pytest.mark.parametrize(
    ("currents", "dt", "match"),
    [
        ([1e-9, float("nan")], DT_S, "finite"),
        ([[1e-9]], DT_S, "1-D"),
        ([], DT_S, "1-D"),
        ([1e-9], -1e-3, "positive"),
    ],
)
def test_bad_inputs_are_refused(currents: list, dt: float, match: str) -> None:
    with pytest.raises(NeuronCircuitError, match=match):
        neuron_netlist(PARAMS, currents, dt)


def test_bad_initial_state_is_refused() -> None:
    with pytest.raises(NeuronCircuitError, match="v0_V"):
        neuron_netlist(PARAMS, [1e-9], DT_S, v0_V=PARAMS.v_thr_V)
