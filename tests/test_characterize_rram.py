"""RRAM characterization on the real ngspice compact model: the I-V loop with compliance,
LTP/LTD pulse trains, the figures read from them and the levels rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.ngspice_backend import BenchSettings, NgspiceBackend
from bruno_hil.characterize.open import BackendUnavailableError, open_backend
from bruno_hil.characterize.rram import RRAMResult, characterize_rram, distinguishable_levels
from bruno_hil.characterize.stimulus import iv_setpoints
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics import RRAMTensors, rram_current_A


@pytest.fixture(scope="module")
def backend() -> NgspiceBackend:
    return NgspiceBackend()


@pytest.fixture(scope="module")
def default_run(backend: NgspiceBackend) -> RRAMResult:
    return characterize_rram(backend, RRAMParams())


def test_iv_loop_has_hysteresis_within_compliance(default_run: RRAMResult) -> None:
    f, iv = default_run.iv_figures, default_run.iv
    p = RRAMParams()
    assert f.on_off_ratio > 10
    # LRS at g_min, HRS at g_max, both read at 0.1 V: the ratio is exp(dg/g_0)
    assert f.on_off_ratio == pytest.approx(math.exp((p.g_max_m - p.g_min_m) / p.g_0_m), rel=0.05)
    d = RRAMTensors.from_params(p)
    i_on = rram_current_A(torch.tensor(0.1, dtype=torch.float64), d.g_min_m, d).item()
    assert f.r_on_ohm == pytest.approx(0.1 / i_on, rel=0.05)
    assert np.abs(iv["current_A"]).max() <= 100e-6 * (1 + 1e-6)
    assert f.i_max_A == pytest.approx(100e-6, rel=0.01)  # the SET reaches compliance
    assert 0.0 < f.v_set_V < f.v_max_V
    assert f.v_min_V < f.v_reset_V < 0.0
    # the cell is in the LRS when the sweep leaves V_set behind, in the HRS after V_reset
    gap = iv["gap_m"].to_numpy()
    v = iv["voltage_V"].to_numpy()
    after_set = (iv["branch"] == 1) & (v > f.v_set_V + 0.05)
    after_reset = (iv["branch"] == 3) & (v < f.v_reset_V - 0.05)
    assert gap[after_set].max() < 0.3e-9 and gap[after_reset].min() > 1.6e-9


def test_ltp_potentiates_and_ltd_depresses(default_run: RRAMResult) -> None:
    pulses, f = default_run.pulses, default_run.pulse_figures
    g = pulses["conductance_S"].to_numpy()
    ltp = g[: f.n_pulses + 1]
    ltd = g[f.n_pulses :]
    assert np.all(np.diff(ltp) > 0) and np.all(np.diff(ltd) < 0)
    assert f.g_after_set_S > 20 * f.g_initial_S
    assert f.g_after_reset_S == pytest.approx(f.g_initial_S, rel=0.1)
    assert 2 <= f.levels <= f.n_pulses + 1
    assert list(pulses["phase"].unique()) == ["initial", "LTP", "LTD"]


def test_compliance_limits_the_set(backend: NgspiceBackend) -> None:
    """A lower compliance caps the current and leaves a less conductive state after the
    same SET pulses (compliance-controlled SET)."""
    low = characterize_rram(backend, RRAMParams(), compliance_A=10e-6, n_pulses=8)
    high = characterize_rram(backend, RRAMParams(), compliance_A=100e-6, n_pulses=8)
    assert np.abs(low.iv["current_A"]).max() <= 10e-6 * (1 + 1e-6)
    assert low.pulse_figures.g_after_set_S < 0.5 * high.pulse_figures.g_after_set_S


def test_set_voltage_grows_with_sweep_rate() -> None:
    """Switching is kinetic (sinh of V): a faster ramp reaches a higher voltage first."""
    v_set = []
    for rate in (1.0, 1e4):
        backend = open_backend("ngspice", sweep_rate_V_per_s=rate)
        v_set.append(characterize_rram(backend, RRAMParams(), n_pulses=2).iv_figures.v_set_V)
    assert v_set[1] > v_set[0] + 0.1


def test_a_field_gated_cell_sets_in_the_hfox_band_at_any_sweep_rate() -> None:
    """With the field gate (RRAMParams.field_gated) V_set lies in 0.5-1.5 V at 1 V/s and
    moves < 20 % at 100 V/s; the gradual RESET still opens a > 10x window."""
    figures = {}
    for rate in (1.0, 100.0):
        backend = open_backend("ngspice", sweep_rate_V_per_s=rate)
        run = characterize_rram(
            backend, RRAMParams.field_gated(), v_max_V=1.5, v_min_V=-1.5, n_pulses=0
        )
        figures[rate] = run.iv_figures
    assert 0.5 < figures[1.0].v_set_V < 1.5
    assert figures[100.0].v_set_V == pytest.approx(figures[1.0].v_set_V, rel=0.2)
    assert figures[1.0].on_off_ratio > 10 and figures[1.0].i_max_A == pytest.approx(100e-6)


def test_levels_rule() -> None:
    # 1 % steps are within 3 sigma of a 2 % read noise; 20 % steps are not
    assert distinguishable_levels([1.0, 1.01, 1.02, 1.03]) == 1
    assert distinguishable_levels(1.2 ** np.arange(6)) == 6
    assert distinguishable_levels([3.0, 1.0, 2.0]) == 3  # order does not matter
    # boundary: distinct iff Gb - Ga > c*sqrt(Ga^2 + Gb^2), c = k*sigma (here 3*0.02);
    # for Ga = 1 that is Gb > (1 + sqrt(1 - (1 - c^2)^2)) / (1 - c^2)
    c = 3 * 0.02
    gb = (1 + math.sqrt(1 - (1 - c**2) ** 2)) / (1 - c**2)
    assert distinguishable_levels([1.0, 1.001 * gb]) == 2
    assert distinguishable_levels([1.0, 0.999 * gb]) == 1
    assert distinguishable_levels([1.0, 1.001 * gb], k_sigma=3.1) == 1
    assert distinguishable_levels([]) == 0


def test_iv_setpoints() -> None:
    sweep = iv_setpoints(1.0, -0.5, 0.1)
    v = sweep["voltage_V"].to_numpy()
    assert v[0] == 0.0 and v.max() == 1.0 and v.min() == -0.5 and v[-1] == 0.0
    assert list(np.unique(sweep["branch"])) == [1, 2, 3, 4]
    assert np.all(np.abs(np.diff(v)) <= 0.1 + 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"v_min_V": 1.0}, "must be < 0"),
        ({"v_max_V": -1.0}, "must be > 0"),
        ({"reset_amplitude_V": 1.0}, "RESET"),
        ({"set_amplitude_V": -1.0}, "SET"),
        ({"compliance_A": 0.0}, "compliance_A"),
        ({"read_V": 2.0}, "read_V"),
        ({"n_pulses": -1}, "n_pulses"),
        ({"pulse_width_s": math.nan}, "width_s"),
    ],
)
def test_bad_settings_are_rejected(backend: NgspiceBackend, kwargs: dict, match: str) -> None:
    with pytest.raises(MeasurementError, match=match):
        characterize_rram(backend, RRAMParams(), **kwargs)


def test_bench_settings_and_backend_choice() -> None:
    with pytest.raises(MeasurementError, match="sweep_rate_V_per_s"):
        BenchSettings(sweep_rate_V_per_s=-1.0)
    from bruno_hil.characterize.visa_backend import VisaBackend

    assert isinstance(open_backend("visa://TCPIP::127.0.0.1::INSTR"), VisaBackend)
    with pytest.raises(BackendUnavailableError, match="give the VISA resource"):
        open_backend("visa://")
    with pytest.raises(BackendUnavailableError, match="ngspice"):
        open_backend("surrogate")
