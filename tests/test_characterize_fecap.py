"""FeCap characterization on the real ngspice compact model: the P-E loop and PUND, their
figures, and the physics the figures must follow (Merz switching, P_s scaling)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.fecap import FeCapResult, characterize_fecap
from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.stimulus import pund_waveform, triangle_waveform
from bruno_hil.devices.params import EPS0_F_PER_M, FeCapParams


@pytest.fixture(scope="module")
def backend() -> NgspiceBackend:
    return NgspiceBackend()


@pytest.fixture(scope="module")
def default_run(backend: NgspiceBackend) -> FeCapResult:
    return characterize_fecap(backend, FeCapParams())


def _ec(backend: NgspiceBackend, params: FeCapParams, frequency_Hz: float = 1e3) -> float:
    result = characterize_fecap(backend, params, 4.0, frequency_Hz, pund=False)
    return result.figures.e_c_pos_V_per_m


def test_backend_implements_the_protocol(backend: NgspiceBackend) -> None:
    assert isinstance(backend, MeasurementBackend)


def test_default_loop_is_closed_symmetric_and_saturated(default_run: FeCapResult) -> None:
    f = default_run.figures
    params = FeCapParams()
    p_s = params.p_s_C_per_m2
    # the plates see k*P: the interlayer in series passes k = 0.905 of the HZO's charge
    k = params.charge_per_polarization_m2 / params.area_m2
    assert k == pytest.approx(0.905, abs=5e-4)
    assert abs(f.closure_C_per_m2) < 0.005 * p_s
    assert f.p_r_pos_C_per_m2 == pytest.approx(-f.p_r_neg_C_per_m2, rel=0.02)
    assert f.e_c_pos_V_per_m == pytest.approx(-f.e_c_neg_V_per_m, rel=0.02)
    assert f.p_r_pos_C_per_m2 == pytest.approx(k * p_s, rel=0.03)
    assert f.p_s_C_per_m2 == pytest.approx(k * p_s, rel=0.03)
    # the total P adds the dielectric charge C_fe*V/A = k*eps0*eps_hzo*E at the peak
    e_peak = 3.0 / params.t_hzo_m
    assert f.p_max_total_C_per_m2 == pytest.approx(
        f.p_s_C_per_m2 + k * EPS0_F_PER_M * 25.2 * e_peak, rel=0.01
    )
    # coercive field between the smallest switching field and the peak
    assert 0.5e8 < f.e_c_pos_V_per_m < e_peak
    # a square-ish loop encloses about 4*P_r*E_c, and it is positive (P lags E)
    assert f.loop_area_J_per_m3 > 0
    assert f.loop_area_J_per_m3 == pytest.approx(
        4 * f.p_r_pos_C_per_m2 * f.e_c_pos_V_per_m, rel=0.1
    )


def test_switched_polarization_tracks_the_model_state(default_run: FeCapResult) -> None:
    """The tester's view (charge minus C_fe*V, centred) against the compact model's own
    polarization node times the stack's charge fraction k, over the last period; and the
    integrated charge against the integral of the sampled current."""
    loop = default_run.loop
    last = loop["time_s"] >= loop["time_s"].iloc[-1] - 1e-3 * (1 + 1e-9)
    params = FeCapParams()
    k = params.charge_per_polarization_m2 / params.area_m2
    np.testing.assert_allclose(
        loop.loc[last, "switched_polarization_C_per_m2"],
        k * loop.loc[last, "model_polarization_C_per_m2"],
        atol=0.005 * params.p_s_C_per_m2,
    )
    q_from_i = cumulative_trapezoid(loop["current_A"], loop["time_s"], initial=0.0)
    scale = np.abs(loop["charge_C"]).max()
    np.testing.assert_allclose(q_from_i, loop["charge_C"], atol=0.01 * scale)
    assert set(loop.columns) >= {
        "time_s",
        "voltage_V",
        "current_A",
        "charge_C",
        "polarization_C_per_m2",
        "field_V_per_m",
    }


def test_pund_separates_switching_from_dielectric_charge(default_run: FeCapResult) -> None:
    params = FeCapParams()
    f, pu = default_run.figures, default_run.pund_figures
    assert pu is not None
    area = params.area_m2
    assert pu.switched_pos_C == pytest.approx(2 * f.p_r_pos_C_per_m2 * area, rel=0.05)
    assert pu.switched_neg_C == pytest.approx(2 * f.p_r_neg_C_per_m2 * area, rel=0.05)
    # U and D carry only the dielectric charge C_fe*V_a (plus a little leakage)
    q_diel = params.c_fe_F * 3.0
    assert abs(pu.q_u_C - q_diel) < 0.03 * pu.switched_pos_C
    assert abs(pu.q_d_C + q_diel) < 0.03 * pu.switched_pos_C
    assert pu.q_p_C > 5 * pu.q_u_C


def test_coercive_field_grows_with_activation_field(backend: NgspiceBackend) -> None:
    ec = [_ec(backend, FeCapParams(e_a_V_per_m=e_a)) for e_a in (11e8, 12.7e8, 14e8)]
    assert ec[0] < ec[1] < ec[2]


def test_coercive_field_follows_merz_law_with_frequency(backend: NgspiceBackend) -> None:
    """Merz: switching needs tau(E) ~ the sweep time, so (E_a/E_sw)**alpha falls by about
    ln(f2/f1) when the frequency rises from f1 to f2 (E_sw: the field in the HZO at the
    coercive point, where P = 0 and only the stack's voltage divider remains)."""
    p = FeCapParams()
    divider = p.eps_int * p.t_hzo_m / (p.t_hzo_m * p.eps_int + p.t_int_m * p.eps_hzo)
    ec = {f: _ec(backend, p, f) for f in (1e2, 1e5)}
    assert ec[1e5] > ec[1e2] * 1.1
    x = {f: (p.e_a_V_per_m / (divider * e)) ** p.alpha for f, e in ec.items()}
    slope = (x[1e5] - x[1e2]) / math.log(1e5 / 1e2)
    assert -1.1 < slope < -0.75


def test_remanent_polarization_scales_with_saturation(backend: NgspiceBackend) -> None:
    half = characterize_fecap(backend, FeCapParams(p_s_C_per_m2=0.11), 4.0, pund=False)
    full = characterize_fecap(backend, FeCapParams(), 4.0, pund=False)
    ratio = half.figures.p_r_pos_C_per_m2 / full.figures.p_r_pos_C_per_m2
    assert ratio == pytest.approx(0.5, rel=0.02)


def test_minor_loop_below_saturation(backend: NgspiceBackend) -> None:
    """At 2 V the triangle does not saturate: P_r well below P_s (the loop is a minor one)."""
    f = characterize_fecap(backend, FeCapParams(), 2.0, pund=False).figures
    assert 0.2 * 0.22 < f.p_r_pos_C_per_m2 < 0.8 * 0.22


def test_waveforms() -> None:
    t, v = triangle_waveform(2.0, 1e3, n_cycles=3, points_per_cycle=400)
    assert t[-1] == pytest.approx(3e-3) and v.max() == 2.0 and v.min() == -2.0
    assert v[100] == 2.0 and v[300] == -2.0 and v[400] == 0.0
    t, v, pulses = pund_waveform(1.5, 1e3, points_per_cycle=400)
    assert list(pulses["pulse"]) == ["preset", "P", "U", "N", "D"]
    peaks = np.interp(pulses["peak_s"], t, v)
    np.testing.assert_allclose(peaks, [-1.5, 1.5, 1.5, -1.5, -1.5])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_cycles": 1},
        {"points_per_cycle": 30},
        {"amplitude_V": -1.0},
        {"frequency_Hz": math.inf},
    ],
)
def test_bad_drive_is_rejected(kwargs: dict) -> None:
    args = {"amplitude_V": 3.0, "frequency_Hz": 1e3} | kwargs
    with pytest.raises(MeasurementError):
        triangle_waveform(**args)


def test_backend_rejects_bad_waveforms(backend: NgspiceBackend) -> None:
    t = np.linspace(0.0, 1e-3, 11)
    with pytest.raises(MeasurementError, match="finite"):
        backend.fecap_waveform(t, np.where(t > 5e-4, np.nan, 1.0), FeCapParams())
    with pytest.raises(MeasurementError, match="increase"):
        backend.fecap_waveform(t[::-1], np.zeros(11), FeCapParams())
