"""The Python side of the compact models: instance lines and include lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bruno_hil.devices.compact import (
    FECAP_DEVICE_FIELDS,
    FECAP_LIB,
    RRAM_LIB,
    fecap_instance,
    include_line,
    rram_instance,
)
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.errors import BrunoHilError
from bruno_hil.spice.values import NetlistValueError


def _parse(line: str) -> tuple[list[str], dict[str, float]]:
    words = line.split()
    pins = [w for w in words if "=" not in w]
    values = dict(w.split("=", 1) for w in words if "=" in w)
    return pins, {k: float(v) for k, v in values.items()}


def test_fecap_instance_carries_every_device_field_exactly() -> None:
    params = FeCapParams(area_m2=33e-12, tau_0_s=2.5e-13, soft_e_V_per_m=0.0)
    pins, values = _parse(fecap_instance("Xf1", "mem", "0", params, p_init=0.25))
    assert pins == ["Xf1", "mem", "0", "fecap"]
    assert {k: values[k] for k in FECAP_DEVICE_FIELDS} == {
        k: getattr(params, k) for k in FECAP_DEVICE_FIELDS
    }
    assert values["p_init"] == 0.25 and values["e_sign_V_per_m"] > 0
    assert set(values) == {*FECAP_DEVICE_FIELDS, "p_init", "e_sign_V_per_m", "leak_passive"}
    assert values["leak_passive"] == 0  # leak_form "reference", the default
    _, passive = _parse(fecap_instance("Xf2", "a", "0", params.replace(leak_form="passive")))
    assert passive["leak_passive"] == 1


def test_rram_instance_fields_switching_and_user_model() -> None:
    params = RRAMParams(g_init_m=0.8e-9, temperature_K=330.0)
    pins, values = _parse(rram_instance("XR_3", "row1", "col2", params, switching=False))
    assert pins == ["XR_3", "row1", "col2", "rram"]
    assert {k: values[k] for k in RRAMParams.names()} == params.as_dict()
    assert values["switching"] == 0.0
    pins, values = _parse(rram_instance("xr", "a", "b", model="my_rram"))
    assert pins[-1] == "my_rram" and values["switching"] == 1.0
    assert values["g_init_m"] == RRAMParams().g_init_m


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: fecap_instance("F1", "a", "0"), "must start with 'X'"),
        (lambda: fecap_instance("Xf", "a b", "0"), "node top"),
        (lambda: fecap_instance("Xf", "a", "0", p_init=1.5), r"p_init = 1\.5"),
        (lambda: fecap_instance("Xf", "a", "0", e_sign_V_per_m=0.0), "e_sign_V_per_m"),
        (lambda: rram_instance("Xr", "a", "0\n.control", RRAMParams()), "node bot"),
        (lambda: rram_instance("Xr", "a", "b", g_edge_m=-1e-11), "g_edge_m"),
        (lambda: rram_instance("Xr", "a", "b", model="rram; shell"), "subcircuit"),
    ],
)
def test_instance_errors_name_the_field(call, fragment: str) -> None:
    with pytest.raises(NetlistValueError, match=fragment) as info:
        call()
    assert isinstance(info.value, BrunoHilError)


def test_include_line_quotes_an_existing_absolute_path(tmp_path: Path) -> None:
    assert include_line(FECAP_LIB) == f'.include "{FECAP_LIB.resolve()}"'
    assert include_line(RRAM_LIB).endswith('rram.lib"')
    with pytest.raises(NetlistValueError, match="does not exist"):
        include_line(tmp_path / "missing.lib")
    odd = tmp_path / 'a"b.lib'
    odd.write_text("* nothing\n")
    with pytest.raises(NetlistValueError, match="quotes"):
        include_line(odd)


def test_state_node_selects_the_core_subcircuit() -> None:
    pins, values = _parse(fecap_instance("Xf", "mem", "0", p_node="pn"))
    assert pins == ["Xf", "mem", "0", "pn", "fecap_core"] and values["p_init"] == -1.0
    pins, _ = _parse(rram_instance("Xr", "r", "c", gap_node="g1", model="my_core"))
    assert pins == ["Xr", "r", "c", "g1", "my_core"]
    with pytest.raises(NetlistValueError, match="node gap"):
        rram_instance("Xr", "r", "c", gap_node="g 1")
