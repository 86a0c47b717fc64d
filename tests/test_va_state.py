"""The check that a Verilog-A model keeps state in variables (which OpenVAF does not
retain between time steps): the warning when it is compiled with the real openvaf-r,
none for the project's models (their state lives on nodes), and the cases it reads."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from bruno_hil.devices.compact import FECAP_VA, RRAM_VA
from bruno_hil.spice.osdi import HOW_TO_GET_OSDI, compile_verilog_a
from bruno_hil.spice.va_state import VerilogAStateWarning, state_variables

MEMORY_IN_A_VARIABLE = """\
`include "disciplines.vams"
// a memristor written for a simulator that keeps variables between time steps
module varmem(p, n);
    inout p, n;
    electrical p, n;
    parameter real r_on = 1e3;
    real w;
    real last_v;
    real scale;
    analog begin
        @(initial_step) scale = 2.0;
        I(p, n) <+ V(p, n) * w / r_on * scale;
        w = w + 0.1 * (V(p, n) - last_v);
        last_v = V(p, n);
    end
endmodule
"""

STATELESS = """\
module ok(p, n);
    inout p, n;
    electrical p, n;
    real a, b;
    integer i;
    analog function real twice;
        input x;
        real x;
        twice = 2 * x;
    endfunction
    analog begin : body
        real local;
        local = V(p, n);
        a = twice(local);
        if (a > 0) b = a; else b = -a;
        for (i = 0; i < 3; i = i + 1) a = a + b;
        @(initial_step) begin b = 0; end
        I(p, n) <+ a * b;  // a comment naming w and last_v
    end
endmodule
"""


def test_a_model_with_memory_in_variables_warns_when_compiled(tmp_path: Path) -> None:
    va = tmp_path / "varmem.va"
    va.write_text(MEMORY_IN_A_VARIABLE)
    with pytest.warns(VerilogAStateWarning) as caught:
        out = compile_verilog_a(va, tmp_path / "varmem.osdi")
    assert out.is_file()  # openvaf-r accepts it without a word: the warning is the sign
    messages = [str(w.message) for w in caught]
    heads = [m.split(";")[0] for m in messages]  # in source order
    assert heads == [
        f"{va}:12: variable 'w' is read before it is assigned",
        f"{va}:12: variable 'scale' is assigned only in an event (@) and read outside it",
        f"{va}:13: variable 'last_v' is read before it is assigned",
    ]
    assert all("internal node" in m for m in messages)


@pytest.mark.parametrize("va", [FECAP_VA, RRAM_VA], ids=["fecap", "rram"])
def test_the_project_models_keep_state_on_nodes(va: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", VerilogAStateWarning)
        compile_verilog_a(va, tmp_path / f"{va.stem}.osdi")
    assert state_variables(va.read_text()) == []


def test_assignments_on_every_path_functions_and_comments_are_not_state() -> None:
    assert state_variables(STATELESS) == []


def test_the_osdi_message_names_what_exists_here() -> None:
    """The facts of the message: the shipped compiler and its OSDI version, that the
    classic compiler is not in any registry here, VACASK, and where the build times are
    (docs/ngspice.md keeps both measured figures; the message keeps none)."""
    for fact in ("openvaf-r", "OSDI 0.5", "no package registry", "VACASK", "docs/ngspice.md"):
        assert fact in HOW_TO_GET_OSDI, fact
    assert re.search(r"\d+ (s|min)\b", HOW_TO_GET_OSDI) is None
    notes = (Path(__file__).parents[1] / "docs" / "ngspice.md").read_text()
    for build_time in ("311 s on a quiet machine", "14 min on a busy one"):
        assert build_time in notes, build_time
