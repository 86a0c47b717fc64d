"""The shared device parameter sets: defaults, physical ranges, overrides, files."""

from __future__ import annotations

import math

import pytest
import torch

from bruno_hil.devices import FeCapParams, LIFParams, ParameterError, RRAMParams
from bruno_hil.devices.params import EPS0_F_PER_M
from bruno_hil.physics import RRAMTensors, gap_rate_m_per_s, rram_current_A


def test_fecap_defaults_give_the_published_membrane_capacitance() -> None:
    p = FeCapParams()
    # HZO (eps0 * 25.2 * 25e-12 m2 / 10e-9 m = 0.558 pF) in series with the interlayer
    # (eps0 * 33 * 25e-12 m2 / 1.375e-9 m = 5.31 pF): 0.505 pF, plus 15 fF parasitic
    c_hzo = EPS0_F_PER_M * 25.2 * 25e-12 / 10e-9
    c_int = EPS0_F_PER_M * 33.0 * 25e-12 / 1.375e-9
    assert p.c_fe_F == pytest.approx(c_hzo * c_int / (c_hzo + c_int), rel=1e-12)
    assert p.c_tot_F == pytest.approx(0.5048e-12 + 15e-15, rel=1e-3)
    # the plate charge per unit P is the same divider times the area
    assert p.charge_per_polarization_m2 == pytest.approx(25e-12 * c_int / (c_hzo + c_int))


def test_fecap_field_has_depolarization_sign() -> None:
    p = FeCapParams()
    # At V = 0 with P = -P_s the interlayer drives a positive (depolarizing) field.
    e0 = p.field_V_per_m(0.0, -p.p_s_C_per_m2)
    assert e0 > 0
    # and the field grows linearly with V, with slope eps_int / (t_hzo*eps_int + t_int*eps_hzo)
    slope = (p.field_V_per_m(1.0, 0.0) - p.field_V_per_m(0.0, 0.0)) / 1.0
    assert slope == pytest.approx(
        p.eps_int / (p.t_hzo_m * p.eps_int + p.t_int_m * p.eps_hzo), rel=1e-12
    )


def test_rram_defaults_have_on_off_ratio_above_ten_and_set_with_positive_voltage() -> None:
    r = RRAMParams()
    d = RRAMTensors.from_params(r)
    read = torch.tensor(0.1, dtype=torch.float64)
    i_on = rram_current_A(read, d.g_min_m, d).item()
    i_off = rram_current_A(read, d.g_max_m, d).item()
    assert i_on / i_off == pytest.approx(math.exp((r.g_max_m - r.g_min_m) / r.g_0_m))
    assert i_on / i_off > 10
    volts = torch.tensor([1.2, -1.2, 0.1], dtype=torch.float64)
    rate = gap_rate_m_per_s(volts, d.g_max_m, d).tolist()
    assert rate[0] < 0 < rate[1]  # SET shrinks the gap
    # read disturb: a 10 us read pulse at 0.1 V moves the gap by < 1e-4 of its window
    assert abs(rate[2]) * 10e-6 < 1e-4 * (r.g_max_m - r.g_min_m)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["nonsense=1"], "unknown FeCapParams parameter 'nonsense'"),
        (["p_s_C_per_m2=22"], "outside its physical range"),
        (["p_s_C_per_m2"], "expected name=value"),
        (["p_s_C_per_m2=0.2uC"], "is not a number"),
        (["v_thr_V=6"], "v_thr_V <= v_clip_V"),
        (["alpha=nan"], "outside its physical range"),
    ],
)
def test_bad_overrides_are_named(overrides: list[str], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        FeCapParams().with_overrides(overrides)


def test_override_changes_only_the_named_field() -> None:
    p = FeCapParams().with_overrides(["e_a_V_per_m=1.5e9"])
    assert p.e_a_V_per_m == 1.5e9
    assert p.replace(e_a_V_per_m=12.7e8) == FeCapParams()


def test_rram_gap_consistency_is_checked() -> None:
    with pytest.raises(ParameterError, match="g_min_m < g_max_m"):
        RRAMParams(g_min_m=2e-9, g_max_m=1e-9, g_init_m=1.5e-9)
    with pytest.raises(ParameterError, match="g_init_m"):
        RRAMParams(g_init_m=5e-9)


def test_lif_reset_below_threshold() -> None:
    with pytest.raises(ParameterError, match="v_reset < v_thr"):
        LIFParams(v_reset=2.0)


def test_parameter_file_round_trip_and_errors_name_the_file(tmp_path) -> None:
    good = tmp_path / "fitted.yaml"
    good.write_text("FeCapParams:\n  p_s_C_per_m2: 0.2\n  e_a_V_per_m: 1.3e9\n")
    p = FeCapParams.from_file(good)
    assert (p.p_s_C_per_m2, p.e_a_V_per_m) == (0.2, 1.3e9)

    flat = tmp_path / "flat.json"
    flat.write_text('{"g_0_m": 3e-10}')
    assert RRAMParams.from_file(flat).g_0_m == 3e-10

    bad = tmp_path / "bad.yaml"
    bad.write_text("p_s_C_per_m2: lots\n")
    with pytest.raises(ParameterError, match=r"bad\.yaml: field 'p_s_C_per_m2'"):
        FeCapParams.from_file(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("p_sat: 0.2\n")
    with pytest.raises(ParameterError, match=r"unknown\.yaml: unknown FeCapParams parameter"):
        FeCapParams.from_file(unknown)


def test_every_field_declares_unit_and_range() -> None:
    for cls in (FeCapParams, RRAMParams, LIFParams):
        for name in cls.names():
            spec = cls.spec(name)
            if name in cls.choice_names():  # a word (leak_form): its choices, not a range
                assert getattr(cls(), name) in spec["choices"], name
                continue
            low, high = spec["range"]
            assert low <= getattr(cls(), name) <= high, name
            assert spec["unit"], name
