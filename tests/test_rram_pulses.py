"""RRAM pulse trains in the calibration: the pulse waveform, the compliance-limited gap
step against the exact ODE, the pulse model against ngspice (and its Jacobian), the joint
fit of sweeps and pulse trains (ground-truth recovery, what pulses add, what they cannot
determine), and the live loop's conditioning RESET on an emulated cell that keeps its
state."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from bruno_hil.calibration.fit import FitError
from bruno_hil.calibration.live import live_calibrate
from bruno_hil.calibration.measure import measure_rram, rram_experiment
from bruno_hil.calibration.rram import (
    RRAM_FIT_NAMES,
    PulseTrain,
    RRAMPulseModel,
    fit_rram_experiments,
    measured_current_A,
    predict_experiment,
)
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.stimulus import (
    PulseShape,
    iv_sweep,
    ltp_ltd,
    pulse_train_waveform,
    reset_setpoints,
)
from bruno_hil.devices.params import RRAMParams
from bruno_hil.emulator.dut import RRAMDut
from bruno_hil.physics.rram import (
    RRAMTensors,
    compliance_gap_m,
    compliance_voltage_V,
    mean_gap_rate_m_per_s,
    rram_current_A,
    rram_step,
    rram_step_in_compliance,
)

TRUTH = RRAMParams(i_0_A=3e-4, g_0_m=0.28e-9, v_0_V=0.32, vel_0_m_per_s=25.0, gamma=15.0)
"""A non-default cell (the chip); the surrogate's prior is the defaults."""
NOISE = 0.02
FLOOR_A = 1e-9


def _t(x: float | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def _asinh(i: np.ndarray) -> np.ndarray:
    return np.arcsinh(np.asarray(i) / FLOOR_A)


# -- waveform --------------------------------------------------------------------------------
def test_pulse_train_waveform_reads_at_the_end_of_each_plateau() -> None:
    shape = PulseShape(edge_fraction=0.1, read_s=2e-6, pause_s=0.5e-6)
    wave = pulse_train_waveform(np.array([1.2, -1.0]), 1e-6, 0.1, shape)
    t, v = wave.points[:, 0], wave.points[:, 1]
    assert np.all(np.diff(t) > 0.0) and t[0] == 0.0 and v[0] == 0.0 and v[-1] == 0.0
    np.testing.assert_array_equal(v[wave.read_index], [0.1, 0.1])
    np.testing.assert_array_equal(v[wave.read_index - 1], [0.1, 0.1])  # a plateau
    plateau = t[wave.read_index] - t[wave.read_index - 1]
    np.testing.assert_allclose(plateau, 2e-6)
    top = np.flatnonzero(v == 1.2)
    assert t[top[1]] - t[top[0]] == pytest.approx(1e-6)  # full amplitude for width_s
    assert t[top[0]] - t[top[0] - 1] == pytest.approx(1e-7)  # the edge


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pulse_train_waveform(np.array([]), 1e-6, 0.1), "non-empty"),
        (lambda: pulse_train_waveform(np.array([1.0]), -1e-6, 0.1), "width_s"),
        (lambda: pulse_train_waveform(np.array([1.0]), 1e-6, 0.0), "read_V must be nonzero"),
        (lambda: PulseShape(edge_fraction=0.6), "edge_fraction"),
        (lambda: reset_setpoints(0.5), "reset_V"),
    ],
)
def test_bad_pulse_settings_are_rejected(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MeasurementError, match=message):
        call()


def test_a_pulse_train_needs_one_read_per_pulse() -> None:
    with pytest.raises(FitError, match="one value per pulse"):
        PulseTrain(np.array([1.0, 1.0]), 1e-6, 0.1, 1e-4, np.ones(3))


# -- the compliance-limited step ---------------------------------------------------------------
def test_at_the_compliance_voltage_the_cell_draws_the_compliance() -> None:
    d = RRAMTensors.from_params(TRUTH)
    gaps = _t(np.linspace(TRUTH.g_min_m, TRUTH.g_max_m, 9))
    for i_c in (1e-5, 1e-4, 1e-3):
        v_c = compliance_voltage_V(gaps, d, _t(i_c))
        np.testing.assert_allclose(rram_current_A(v_c, gaps, d).numpy(), i_c, rtol=1e-12)
        np.testing.assert_allclose(compliance_gap_m(v_c, d, _t(i_c)).numpy(), gaps, rtol=1e-9)


def test_far_below_compliance_the_step_is_the_free_ramp_step() -> None:
    d = RRAMTensors.from_params(TRUTH)
    g = _t(np.full(6, 1.2e-9))
    v0, v1 = _t([0.0, 0.9, 1.0, -0.9, -1.0, 0.5]), _t([0.9, 0.9, 0.4, -0.9, -0.2, 1.1])
    h = _t(np.full(6, 1e-6))
    free = rram_step(g, v0, h, d, v_end_V=v1)
    limited = rram_step_in_compliance(g, v0, v1, h, d, _t(1.0))
    np.testing.assert_allclose(limited.numpy(), free.numpy(), rtol=1e-12)


def _exact_gap_m(d: RRAMTensors, gap_m: float, v_V: float, h_s: float, i_c: float) -> float:
    """The ODE with the cell at ``clip(V, -v_c(g), v_c(g))``, by a stiff solver."""

    def rate(_: float, g: np.ndarray) -> list[float]:
        v_c = compliance_voltage_V(_t(g[0]), d, _t(i_c)).item()
        cell = _t(float(np.clip(v_V, -v_c, v_c)))
        return [mean_gap_rate_m_per_s(cell, cell, _t(g[0]), d).item()]

    sol = solve_ivp(rate, (0.0, h_s), [gap_m], method="Radau", rtol=1e-10, atol=1e-16)
    return float(np.clip(sol.y[0, -1], d.g_min_m.item(), d.g_max_m.item()))


@pytest.mark.parametrize(
    ("gap_m", "v_V", "h_s", "i_c"),
    [
        (1.7e-9, 1.2, 1e-6, 1e-4),  # SET: free, then into compliance
        (1.7e-9, 1.4, 1e-7, 1e-4),
        (1.0e-9, 1.1, 1e-5, 3e-5),  # SET in compliance throughout
        (0.8e-9, -1.1, 1e-6, 1e-4),  # RESET in compliance
        (1.0e-9, -1.1, 1e-6, 1e-4),  # RESET leaving compliance
        (1.0e-9, -1.3, 1e-6, 1e-4),  # RESET leaving compliance, to the window's edge
    ],
)
def test_one_step_in_compliance_matches_the_exact_ode(
    gap_m: float, v_V: float, h_s: float, i_c: float
) -> None:
    """The exponential integrator with its regime split: one step of a whole pulse top lands
    within 1e-3 nm of a Radau solution at rtol 1e-10."""
    d = RRAMTensors.from_params(TRUTH)
    step = rram_step_in_compliance(_t(gap_m), _t(v_V), _t(v_V), _t(h_s), d, _t(i_c)).item()
    assert step == pytest.approx(_exact_gap_m(d, gap_m, v_V, h_s, i_c), abs=1e-12)
    assert abs(step - gap_m) > 1e-11  # the pulse moved the gap


# -- the pulse model against ngspice ------------------------------------------------------------
@pytest.fixture(scope="module")
def backend() -> NgspiceBackend:
    return NgspiceBackend()


@pytest.mark.parametrize(
    ("set_V", "reset_V", "width_s", "compliance_A"),
    [(1.1, -1.05, 1e-6, 1e-4), (1.0, -1.0, 1e-5, 1e-4), (1.2, -1.15, 1e-6, 3e-4)],
)
def test_pulse_model_follows_ngspice(
    backend: NgspiceBackend, set_V: float, reset_V: float, width_s: float, compliance_A: float
) -> None:
    stimulus = ltp_ltd(set_V, reset_V, 8, width_s)
    data = measure_rram(backend, stimulus, TRUTH, compliance_A=compliance_A)
    train = rram_experiment(stimulus, data, compliance_A, backend.pulse_shape)
    ngspice = _asinh(measured_current_A(train))
    error = np.abs(_asinh(predict_experiment(TRUTH, train)) - ngspice)
    assert np.ptp(ngspice) > 2.0  # the train switches the cell (a factor > 7 in current)
    # the worst read is after the first SET: entering compliance, the bench's 1 pF node
    # discharges through the cell (a current overshoot an ideal compliance does not have)
    assert np.median(error) < 0.02 and error.max() < 0.15, error


def test_compliance_sets_the_low_resistance_state(backend: NgspiceBackend) -> None:
    """Compliance-controlled SET: the conductance after one long SET pulse grows with the
    compliance current (R_on ~ 1/I_cc), on ngspice and in the surrogate alike."""
    stimulus = ltp_ltd(1.2, -1.0, 1, 1e-5)
    g_on = {}
    for i_c in (3e-5, 1e-4, 3e-4):
        data = measure_rram(backend, stimulus, TRUTH, compliance_A=i_c)
        train = rram_experiment(stimulus, data, i_c, backend.pulse_shape)
        g_on[i_c] = (data["read_current_A"].iloc[1], predict_experiment(TRUTH, train)[1])
    for low, high in ((3e-5, 1e-4), (1e-4, 3e-4)):
        assert g_on[high][0] > 2.0 * g_on[low][0]
    for ngspice, surrogate in g_on.values():
        assert surrogate == pytest.approx(ngspice, rel=0.1)


def test_pulse_model_edges_are_converged() -> None:
    """Levels take one step; with the default edge sub-steps the reads are within 1 % of
    40 sub-steps (half the 2 % read noise), with one they are not."""
    train = PulseTrain(ltp_ltd(1.3, -1.2, 6, 1e-7).amplitude_V, 1e-7, 0.1, 1e-4, np.ones(13))
    fine = RRAMPulseModel(train, TRUTH, [], ramp_substeps=40).current_A(np.zeros(0))
    default = RRAMPulseModel(train, TRUTH, []).current_A(np.zeros(0))
    coarse = RRAMPulseModel(train, TRUTH, [], ramp_substeps=1).current_A(np.zeros(0))
    assert np.abs(_asinh(default) - _asinh(fine)).max() < 0.01
    assert np.abs(_asinh(coarse) - _asinh(fine)).max() > 0.01  # the edges do matter


# -- the joint fit ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def experiments(backend: NgspiceBackend) -> dict[str, object]:
    stimuli = {
        "sweep": iv_sweep(1.2, -1.2, 0.01),
        "1 us": ltp_ltd(1.1, -1.05, 10, 1e-6),
        "10 us": ltp_ltd(0.95, -0.95, 10, 1e-5),
    }
    return {
        key: rram_experiment(
            s,
            measure_rram(backend, s, TRUTH, noise_rel=NOISE, seed=k),
            shape=backend.pulse_shape,
        )
        for k, (key, s) in enumerate(stimuli.items())
    }


def test_sweep_and_pulses_recover_the_cell_and_tighten_the_switching_law(
    experiments: dict[str, object],
) -> None:
    """A sweep alone determines the switching at one ramp rate; pulses 1e5-1e6 times
    shorter pin down how the speed grows with voltage: the switching parameters'
    uncertainties shrink several-fold, and every parameter is within 2 % of the truth."""
    sweep_only = fit_rram_experiments([experiments["sweep"]], n_starts=1)  # type: ignore[list-item]
    joint = fit_rram_experiments(list(experiments.values()), n_starts=1)  # type: ignore[arg-type]
    assert not joint.result.held
    for name in RRAM_FIT_NAMES:
        assert joint.result.values[name] == pytest.approx(getattr(TRUTH, name), rel=0.02), name
    for name in ("vel_0_m_per_s", "gamma"):
        assert joint.result.sigma[name] < sweep_only.result.sigma[name] / 3.0, name
    assert joint.result.residual_rms < 1.2 * NOISE
    assert list(dict.fromkeys(joint.labels)) == [e.name for e in experiments.values()]  # type: ignore[attr-defined]


def test_pulses_alone_cannot_separate_the_read_prefactor_and_gap_scale(
    experiments: dict[str, object],
) -> None:
    """Reads at one voltage see i_0*exp(-g/g_0): one of the pair is reported and held."""
    pulses = [experiments["1 us"], experiments["10 us"]]
    f = fit_rram_experiments(pulses, n_starts=1)  # type: ignore[arg-type]
    assert {"i_0_A", "g_0_m", "v_0_V"} & set(f.result.held)
    for name, reason in f.result.held.items():
        assert f.result.values[name] == getattr(RRAMParams(), name)
        assert reason


# -- the live loop on a cell that keeps its state -----------------------------------------------
def test_conditioning_reset_returns_an_emulated_cell_to_its_initial_gap() -> None:
    dut = RRAMDut(TRUTH)
    dut.apply([*np.linspace(0.05, 1.2, 24), 0.0], 1e-4, 0.05)  # SET: the cell remembers
    assert dut.gap_m < 0.9 * TRUTH.g_max_m
    dut.apply(list(reset_setpoints()), 1e-4, 0.02)
    assert dut.gap_m == pytest.approx(TRUTH.g_init_m, abs=0.01e-9)


def test_live_loop_fits_sweeps_and_pulse_trains(backend: NgspiceBackend) -> None:
    result = live_calibrate(
        "rram",
        backend,
        TRUTH,
        RRAMParams(),
        schedule=[iv_sweep(1.2, -1.2, 0.02), ltp_ltd(1.1, -1.05, 8, 1e-6)],
        heldout=[iv_sweep(1.0, -1.1, 0.02), ltp_ltd(1.0, -1.0, 8, 1e-5)],
        min_improvement=0.0,
        measure_options={"noise_rel": NOISE},
        fit_options={"n_starts": 1},
    )
    assert [r.round for r in result.rounds] == [1, 2]
    last = result.rounds[-1]
    assert set(last.heldout_rmse_by_stimulus) == {"I-V -1.1..1 V", "LTP/LTD 1/-1 V 1e-05 s"}
    assert all(rmse < 1.5 * NOISE for rmse in last.heldout_rmse_by_stimulus.values())
    assert last.params["gamma"] == pytest.approx(TRUTH.gamma, rel=0.02)
