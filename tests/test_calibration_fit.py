"""Ground-truth recovery: data from the ngspice compact models with known, non-default
parameters plus noise; the fits recover the identifiable parameters within 5 %, the curve
RMSE is at the noise level, and non-identifiable parameters are reported (held), not
returned as fitted. Also: the models' Jacobians, their agreement with ngspice, and one
short cycle of the live loop."""

from __future__ import annotations

import numpy as np
import pytest

from bruno_hil.calibration.fecap import (
    FECAP_FIT_NAMES,
    OFFSET,
    FeCapChargeModel,
    fit_fecap,
    predict_charge,
)
from bruno_hil.calibration.fit import FitError, FitParameter
from bruno_hil.calibration.live import live_calibrate
from bruno_hil.calibration.measure import measure_fecap, measure_rram
from bruno_hil.calibration.report import (
    fecap_overlay_figure,
    parameter_table,
    rram_overlay_figure,
)
from bruno_hil.calibration.rram import (
    RRAM_FIT_NAMES,
    PulseTrain,
    RRAMCurrentModel,
    RRAMPulseModel,
    fit_rram,
)
from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.open import open_backend
from bruno_hil.characterize.stimulus import concatenate, iv_sweep, ltp_ltd, pv_loop
from bruno_hil.devices.params import FeCapParams, RRAMParams

FECAP_TRUTH = FeCapParams(p_s_C_per_m2=0.24, e_a_V_per_m=1.4e9, t_int_m=1.2e-9)
"""Non-default device (alpha, tau_0 and the leakage at their defaults)."""
C_PAR_F = 80e-15
"""The bench's parasitic capacitance across the FeCap."""
FECAP_NOISE = 0.005
RRAM_TRUTH = RRAMParams(i_0_A=3e-4, g_0_m=0.28e-9, v_0_V=0.32, vel_0_m_per_s=25.0, gamma=15.0)
RRAM_NOISE = 0.02


@pytest.fixture(scope="module")
def backend() -> MeasurementBackend:
    return open_backend("ngspice")


@pytest.fixture(scope="module")
def fecap_data(backend: MeasurementBackend) -> dict[str, np.ndarray]:
    stimulus = pv_loop(3.5, 1e3, 2, 800)
    noisy = measure_fecap(
        backend, stimulus, FECAP_TRUTH, noise_rel=FECAP_NOISE, c_par_F=C_PAR_F, seed=3
    )
    clean = measure_fecap(backend, stimulus, FECAP_TRUTH, c_par_F=C_PAR_F)
    return {
        "t": noisy["time_s"].to_numpy(),
        "v": noisy["voltage_V"].to_numpy(),
        "q": noisy["charge_C"].to_numpy(),
        "q_clean": clean["charge_C"].to_numpy(),
    }


@pytest.fixture(scope="module")
def rram_data(backend: MeasurementBackend) -> dict[str, np.ndarray]:
    data = measure_rram(
        backend, iv_sweep(1.2, -1.2, 0.01), RRAM_TRUTH, noise_rel=RRAM_NOISE, seed=5
    )
    return {
        k: data[c].to_numpy() for k, c in (("t", "time_s"), ("v", "voltage_V"), ("i", "current_A"))
    }


def test_fecap_surrogate_matches_the_compact_model(fecap_data: dict[str, np.ndarray]) -> None:
    """The fit's forward model, at the true parameters, reproduces the noiseless ngspice
    charge to < 3e-4 of its range (the noise is 5e-3): the fit is not biased by it."""
    truth = FECAP_TRUTH.replace(c_par_F=C_PAR_F)
    q = predict_charge(truth, fecap_data["t"], fecap_data["v"])
    err = np.sqrt(np.mean((q - fecap_data["q_clean"]) ** 2)) / np.ptp(fecap_data["q_clean"])
    assert err < 3e-4
    # a wrong parameter is visible at the same scale
    q_off = predict_charge(truth.replace(e_a_V_per_m=1.45e9), fecap_data["t"], fecap_data["v"])
    assert np.sqrt(np.mean((q_off - fecap_data["q_clean"]) ** 2)) > 10 * err * np.ptp(q)


def test_fecap_recovers_the_identifiable_parameters(fecap_data: dict[str, np.ndarray]) -> None:
    f = fit_fecap(fecap_data["t"], fecap_data["v"], fecap_data["q"])
    values = f.result.values
    truth = {**{n: getattr(FECAP_TRUTH, n) for n in FECAP_FIT_NAMES}, "c_par_F": C_PAR_F}
    for name in ("p_s_C_per_m2", "e_a_V_per_m", "t_int_m", "c_par_F"):
        assert name in f.result.fitted
        assert values[name] == pytest.approx(truth[name], rel=0.05), name
        assert abs(values[name] - truth[name]) < 5 * f.result.sigma[name], name
    noise = FECAP_NOISE * np.ptp(fecap_data["q_clean"])
    assert 0.9 * noise < f.result.residual_rms < 1.1 * noise
    assert f.result.r2 > 0.999
    # the default leakage's charge (~1e-15 C) is far below the noise: reported, not fitted
    assert "i_0_A_per_m2" in f.result.held and "i_0_A_per_m2" not in f.result.fitted
    assert f.params.i_0_A_per_m2 == FeCapParams().i_0_A_per_m2
    assert f.params.p_s_C_per_m2 == values["p_s_C_per_m2"]  # the fitted set is usable
    # the overlay: data and fit in two colours, the residual with its unit
    ax, ax_r = fecap_overlay_figure(f).axes
    data, fit = ax.get_lines()
    assert (data.get_label(), fit.get_label()) == ("data", "fit")
    assert data.get_color() != fit.get_color()
    assert ax_r.get_ylabel() == "fit - data [uC/cm$^2$]" and ax_r.get_xlabel() == "time [us]"


def test_fecap_jacobian_is_the_derivative_of_the_model(fecap_data: dict[str, np.ndarray]) -> None:
    names = [*FECAP_FIT_NAMES, "alpha", "tau_0_s", OFFSET]
    model = FeCapChargeModel(fecap_data["t"][:400], fecap_data["v"][:400], FECAP_TRUTH, names)
    values = np.array([getattr(FECAP_TRUTH, n) for n in names[:-1]] + [1e-15])
    pred, jac = model(values, True)
    assert jac is not None and jac.shape == (400, len(names))
    for k, name in enumerate(names):
        step = 1e-6 * abs(values[k])
        moved = values.copy()
        moved[k] += step
        fd = (model(moved, False)[0] - pred) / step
        scale = np.abs(jac[:, k]).max()
        assert scale > 0.0, name
        assert np.abs(fd - jac[:, k]).max() < 1e-4 * scale, name


def test_rram_recovers_the_parameters(rram_data: dict[str, np.ndarray]) -> None:
    f = fit_rram(rram_data["t"], rram_data["v"], rram_data["i"])
    assert f.result.fitted == list(RRAM_FIT_NAMES) and not f.result.held
    for name in RRAM_FIT_NAMES:
        truth = getattr(RRAM_TRUTH, name)
        assert f.result.values[name] == pytest.approx(truth, rel=0.05), name
    # RMSE on the asinh scale is the relative noise where |I| >> the floor
    assert 0.85 * RRAM_NOISE < f.result.residual_rms < 1.15 * RRAM_NOISE
    assert f.result.r2 > 0.999
    ax, ax_r = rram_overlay_figure(f).axes
    data, fit = ax.get_lines()
    assert data.get_label().startswith("data: ") and fit.get_label() == "fit"
    assert data.get_color() != fit.get_color()
    assert ax_r.get_ylabel() == f"fit - data\n[asinh(I / {f.current_floor_A:.0e} A)]"


def test_rram_degenerate_parameters_are_reported(rram_data: dict[str, np.ndarray]) -> None:
    """vel_0 and e_a enter only as vel_0*exp(-e_a/kT); gamma and a_0 only as a product."""
    names = [*RRAM_FIT_NAMES, "e_a_eV", "a_0_m"]
    f = fit_rram(rram_data["t"], rram_data["v"], rram_data["i"], names=names, n_starts=2)
    held = f.result.held
    assert len(held) == 2, held
    assert {"vel_0_m_per_s", "e_a_eV"} & set(held) and {"gamma", "a_0_m"} & set(held)
    assert all("degenerate" in reason or "disagree" in reason for reason in held.values())
    for name in held:
        assert f.result.values[name] == getattr(RRAMParams(), name)  # the prior, untouched
    for name in ("i_0_A", "g_0_m", "v_0_V"):
        assert f.result.values[name] == pytest.approx(getattr(RRAM_TRUTH, name), rel=0.05)


def test_without_elimination_the_report_flags_what_was_fitted(
    rram_data: dict[str, np.ndarray],
) -> None:
    names = [*RRAM_FIT_NAMES, "e_a_eV"]
    f = fit_rram(rram_data["t"], rram_data["v"], rram_data["i"], names=names, eliminate=False)
    assert not f.result.held and set(f.result.fitted) == set(names)
    assert {"vel_0_m_per_s", "e_a_eV"} <= set(f.result.not_identifiable)
    table = parameter_table(f.result, RRAMParams())
    assert table["e_a_eV"]["status"] == "fitted, not identifiable"
    assert table["i_0_A"]["status"] == "fitted" and "reason" not in table["i_0_A"]


@pytest.mark.parametrize("experiment", ["sweep", "pulse train"])
def test_rram_jacobian_is_the_derivative_of_the_model(
    rram_data: dict[str, np.ndarray], experiment: str
) -> None:
    names = list(RRAM_FIT_NAMES)
    if experiment == "sweep":
        model = RRAMCurrentModel(rram_data["t"], rram_data["v"], RRAM_TRUTH, names)
    else:
        amps = ltp_ltd(1.1, -1.05, 6, 1e-6).amplitude_V
        train = PulseTrain(amps, 1e-6, 0.1, 1e-4, np.ones(amps.size))
        model = RRAMPulseModel(train, RRAM_TRUTH, names)
    values = np.array([getattr(RRAM_TRUTH, n) for n in RRAM_FIT_NAMES])
    pred, jac = model(values, True)
    assert jac is not None
    for k, name in enumerate(RRAM_FIT_NAMES):
        moved = values.copy()
        moved[k] *= 1 + 1e-7
        fd = (model(moved, False)[0] - pred) / (values[k] * 1e-7)
        assert np.abs(fd - jac[:, k]).max() < 1e-4 * np.abs(jac[:, k]).max(), name


def test_fit_parameter_rejects_bad_bounds() -> None:
    with pytest.raises(FitError, match="outside its bounds"):
        FitParameter("x", 2.0, 0.0, 1.0)
    with pytest.raises(FitError, match="positive lower bound"):
        FitParameter("x", 1.0, 0.0, 2.0, log=True)


def test_live_loop_one_short_cycle(backend: MeasurementBackend) -> None:
    """RRAM live calibration on ngspice: two rounds (a narrow then a wide sweep), validated
    on a held-out sweep; the held-out error reaches the noise level."""
    schedule = [iv_sweep(0.9, -0.9, 0.02), iv_sweep(1.2, -1.2, 0.02)]
    result = live_calibrate(
        "rram",
        backend,
        RRAM_TRUTH,
        RRAMParams(),
        schedule=schedule,
        heldout=iv_sweep(1.0, -1.1, 0.02),
        measure_options={"noise_rel": RRAM_NOISE},
        fit_options={"n_starts": 2},
    )
    assert [r.round for r in result.rounds] == [1, 2]
    assert result.rounds[1].training == concatenate(schedule)[0].name
    assert result.rounds[-1].heldout_rmse < 1.3 * RRAM_NOISE
    assert result.best_round in (1, 2)
    best = result.rounds[result.best_round - 1]
    assert best.heldout_rmse == min(r.heldout_rmse for r in result.rounds)
    assert result.best.params.i_0_A == pytest.approx(RRAM_TRUTH.i_0_A, rel=0.05)


def test_live_fecap_round_validates_on_held_out(backend: MeasurementBackend) -> None:
    result = live_calibrate(
        "fecap",
        backend,
        FECAP_TRUTH,
        FeCapParams(),
        schedule=[pv_loop(3.5, 1e3, 2, 200)],
        heldout=pv_loop(3.0, 2e3, 2, 200),
        measure_options={"noise_rel": FECAP_NOISE},
        fit_options={"n_starts": 1},
    )
    (only,) = result.rounds
    assert only.params["p_s_C_per_m2"] == pytest.approx(FECAP_TRUTH.p_s_C_per_m2, rel=0.05)
    held_out = measure_fecap(backend, pv_loop(3.0, 2e3, 2, 200), FECAP_TRUTH)
    noise = FECAP_NOISE * np.ptp(held_out["charge_C"].to_numpy())
    assert only.heldout_rmse < 1.5 * noise


@pytest.mark.slow
def test_fecap_merz_law_degeneracy_is_reported(fecap_data: dict[str, np.ndarray]) -> None:
    """Freed alpha and tau_0 (with E_a) from one loop: tau_0 is held as not identifiable
    (equally good fits from different starts disagree), the curve stays at the noise."""
    names = [*FECAP_FIT_NAMES, "alpha", "tau_0_s"]
    f = fit_fecap(fecap_data["t"], fecap_data["v"], fecap_data["q"], names=names)
    assert {"alpha", "tau_0_s", "e_a_V_per_m"} & set(f.result.held)
    noise = FECAP_NOISE * np.ptp(fecap_data["q_clean"])
    assert f.result.residual_rms < 1.1 * noise
    for name in ("p_s_C_per_m2", "t_int_m"):
        assert f.result.values[name] == pytest.approx(getattr(FECAP_TRUTH, name), rel=0.05)


@pytest.mark.slow
def test_live_fecap_default_schedule_finds_the_merz_law(backend: MeasurementBackend) -> None:
    """The default live schedule (loop, then switching kinetics, then PUND), all seven
    fields free: the loop alone misses the Merz law, which the kinetics then pin down and
    the held-out kinetics confirm."""
    truth = FECAP_TRUTH.replace(source="test", alpha=1.5, tau_0_s=3e-13)
    result = live_calibrate(
        "fecap",
        backend,
        truth,
        FeCapParams(),
        min_improvement=None,
        measure_options={"noise_rel": FECAP_NOISE, "c_par_F": C_PAR_F},
        fit_options={"names": [*FECAP_FIT_NAMES, "alpha", "tau_0_s"], "n_starts": 2},
    )
    first, last = result.rounds[0], result.rounds[-1]
    assert "tau_0_s" in first.held or abs(first.params["e_a_V_per_m"] / 1.4e9 - 1) > 0.1
    assert not {"e_a_V_per_m", "alpha", "tau_0_s"} & set(last.held)
    assert last.params["e_a_V_per_m"] == pytest.approx(1.4e9, rel=0.05)
    assert last.params["alpha"] == pytest.approx(1.5, rel=0.05)
    assert 1 / 1.5 < last.params["tau_0_s"] / 3e-13 < 1.5
    kinetics = next(k for k in last.heldout_rmse_by_stimulus if k.startswith("kinetics"))
    held_first = first.heldout_rmse_by_stimulus[kinetics]
    assert last.heldout_rmse_by_stimulus[kinetics] < 0.9 * held_first
