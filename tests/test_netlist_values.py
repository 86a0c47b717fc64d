"""values.py: numbers and names that enter a netlist, templates, and injection rejection.

The round-trip tests check the formatting against ngspice itself: a formatted resistance
must be the resistance ngspice simulates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bruno_hil.spice import NetlistValueError, NgspiceRunner, SpiceName
from bruno_hil.spice.values import (
    check_netlist,
    render,
    render_file,
    spice_name,
    spice_number,
)

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_spice_number_round_trips_every_finite_float(x: float) -> None:
    text = spice_number(x)
    assert float(text) == x
    assert " " not in text and text.isascii()


@pytest.mark.parametrize("value", [np.float32(0.25), np.float64(1e-12), np.int64(7), 3])
def test_spice_number_accepts_numpy_and_int(value: float) -> None:
    assert float(spice_number(value)) == pytest.approx(float(value))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (-math.inf, "not a finite number"),
        ("1k", "expected a number, got '1k'"),
        ("1; shell rm -rf /", "expected a number"),
        (True, "expected a number, got True"),
        (None, "expected a number, got None"),
        (1 + 2j, "expected a number"),
    ],
)
def test_spice_number_rejects_non_numbers(value: object, message: str) -> None:
    with pytest.raises(NetlistValueError, match=f"r_load_ohm: .*{message}"):
        spice_number(value, "r_load_ohm")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def runner() -> NgspiceRunner:
    return NgspiceRunner.shared()


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e12), st.floats(min_value=-10.0, max_value=10.0))
def test_ngspice_reads_formatted_numbers_as_written(
    runner: NgspiceRunner, r_ohm: float, v_V: float
) -> None:
    netlist = render(
        "ohm\nV1 a 0 DC $v\nR1 a 0 $r\n.op\n.end\n",
        {"v": v_V, "r": r_ohm},
    )
    i_A = -runner.simulate(netlist)["v1#branch"][0]
    assert i_A == pytest.approx(v_V / r_ohm, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("name", ["R1", "out", "xf1", "_n", "a" * 64, "V_set_2"])
def test_spice_name_accepts_identifiers(name: str) -> None:
    assert spice_name(name) == name
    assert SpiceName(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1abc",
        "a b",
        "a;shell",
        "a\nshell ls",
        "a.b",
        "v(out)",
        "a" * 65,
        "é",
        "{x}",
        "$x",
    ],
)
def test_spice_name_rejects_everything_else(name: str) -> None:
    with pytest.raises(NetlistValueError, match=r"node_in: .* is not a valid SPICE name"):
        spice_name(name, "node_in")
    with pytest.raises(NetlistValueError):
        SpiceName(name)


def test_render_formats_numbers_and_names() -> None:
    text = render(
        "t\n$el ${node}_x 0 $r\n.end",
        {"el": SpiceName("R7"), "node": SpiceName("top"), "r": 2.5e3},
    )
    assert text == "t\nR7 top_x 0 2500.0\n.end"


def test_render_refuses_plain_strings_missing_and_malformed_placeholders() -> None:
    with pytest.raises(NetlistValueError, match=r"placeholder 'r' got the string '1k'"):
        render("R1 a 0 $r", {"r": "1k"})  # type: ignore[dict-item]
    with pytest.raises(NetlistValueError, match=r"no value for placeholder 'r'"):
        render("R1 a 0 $r", {})
    with pytest.raises(NetlistValueError, match="malformed placeholder"):
        render("R1 a 0 $", {})
    with pytest.raises(NetlistValueError, match=r"template: r: nan is not a finite number"):
        render("R1 a 0 $r", {"r": float("nan")})


def test_render_file_names_the_file(tmp_path) -> None:
    path = tmp_path / "divider.cir"
    path.write_text("t\nR1 a 0 $r\n.end\n")
    assert "R1 a 0 1000.0" in render_file(path, {"r": 1e3})
    with pytest.raises(NetlistValueError, match=r"divider\.cir: no value for placeholder"):
        render_file(path, {})


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("t\n.control\nrun\n.endc\n.end", 2),
        ("t\nR1 a 0 1\n  .CONTROL\n.end", 3),
        ("t\nshell rm -rf /\n.end", 2),
        ("t\n.shell ls\n.end", 2),
        ("t\n.exec echo\n.end", 2),
        ("t\nsystem ls\n.end", 2),
        ("t\n.include |cat /etc/passwd\n.end", 2),
        ("t\n.lib | ls\n.end", 2),
        ("t\nR1 a 0 1\r.control\r.end", 2),
        ("t\nR1 a 0 1\x0b.control\n.end", 2),
        ("t\nR1 a 0 1\u2028.control\n.end", 2),
        ("t\nR1 a 0 1\x00\n.end", 2),
    ],
)
def test_check_netlist_rejects_control_constructs(text: str, line: int) -> None:
    with pytest.raises(NetlistValueError, match=rf"^cell\.cir, line {line}: "):
        check_netlist(text, "cell.cir")


def test_check_netlist_passes_ordinary_netlists() -> None:
    text = "t\r\n* shell in a comment is fine\r\nR1 a 0 1\t; system\r\n.tran 1n 1u\r\n.end\r\n"
    assert check_netlist(text) == text


def test_a_template_cannot_smuggle_a_control_line_through_a_name() -> None:
    # a name cannot hold a newline; a valid name that is a control word is still caught
    with pytest.raises(NetlistValueError, match="not a valid SPICE name"):
        render("t\n$el a 0 1\n.end", {"el": SpiceName("R1\n.control")})
    with pytest.raises(NetlistValueError, match=r"line 2: 'shell' is not allowed"):
        render("t\n$el a 0 1\n.end", {"el": SpiceName("shell")})


def _library(path, body: str):
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    "payload",
    [
        ".control\nshell touch {marker}\n.endc\n",
        ".subckt ok a b\nR1 a b 1k\n.ends\n.CONTROL\nshell touch {marker}\n.endc\n",
    ],
)
def test_an_included_library_with_a_control_block_is_refused_before_ngspice_runs(
    runner: NgspiceRunner, tmp_path, payload: str
) -> None:
    # issue 19.1: the check follows .include (and nested includes, relative to the file)
    marker = tmp_path / "ran"
    _library(tmp_path / "inner.lib", payload.format(marker=marker))
    outer = _library(tmp_path / "outer.lib", ".include inner.lib\n")
    netlist = f't\n.include "{outer}"\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n'
    with pytest.raises(NetlistValueError, match=r"inner\.lib \(included at .*outer\.lib"):
        runner.load(netlist)
    assert not marker.exists()
    with pytest.raises(NetlistValueError, match=r"(?i)\.control' is not allowed"):
        runner.load(f"t\n.lib '{tmp_path / 'inner.lib'}' tt\n.end\n")
    assert not marker.exists()


def test_include_loops_missing_and_shipped_libraries(runner: NgspiceRunner, tmp_path) -> None:
    _library(tmp_path / "a.lib", ".include b.lib\n")
    _library(tmp_path / "b.lib", ".include a.lib\n")
    with pytest.raises(NetlistValueError, match="nest deeper than"):
        check_netlist(f"t\n.inc {tmp_path / 'a.lib'}\n.end\n")
    with pytest.raises(NetlistValueError, match=r"line 2: included file 'nowhere\.lib' does not"):
        check_netlist("t\n.include nowhere.lib\n.end\n")
    from bruno_hil.devices.compact import FECAP_LIB, RRAM_LIB, include_line

    section = _library(tmp_path / "sections.lib", ".lib tt\nR1 a 0 1k\n.endl tt\n")
    text = f"t\n{include_line(FECAP_LIB)}\n{include_line(RRAM_LIB)}\n.lib {section} tt\n.end\n"
    assert check_netlist(text) == text
