"""The ngspice runner against the real libngspice: physics of small circuits, the
load-once/alter/re-run loop, every failure path, and bounded memory."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bruno_hil.spice import (
    ConvergenceError,
    NetlistValueError,
    NgspiceNotFoundError,
    NgspiceRunner,
    OsdiUnsupportedError,
    RunnerInUseError,
    SimOptions,
    SimResult,
    SimulationError,
    SimulationTimeoutError,
    VerilogACompileError,
    compile_verilog_a,
    osdi_version,
    spice_number,
)
from bruno_hil.spice.runner import HALT_GRACE_S, LIBRARY_ENV, rss_bytes, with_options

R_OHM = 1e3
C_F = 1e-9
RC_NETLIST = f"""rc step response
V1 in 0 DC 0 PULSE(0 1 0 1e-10 1e-10 1 2)
R1 in out {spice_number(R_OHM)}
C1 out 0 {spice_number(C_F)}
.tran 1e-8 5e-6 0 1e-8
.end
"""
DIVIDER = """divider
V1 in 0 DC 2
R1 in out 1000
R2 out 0 3000
.op
.end
"""


@pytest.fixture(scope="module")
def runner() -> NgspiceRunner:
    return NgspiceRunner.shared()


def test_shared_is_one_instance_and_reports_version(runner: NgspiceRunner) -> None:
    assert NgspiceRunner.shared() is runner
    assert runner.version is not None and runner.version >= 30
    with pytest.raises(RunnerInUseError, match="one instance per process"):
        NgspiceRunner()


def test_rc_transient_matches_the_analytic_step_response(runner: NgspiceRunner) -> None:
    res = runner.simulate(RC_NETLIST)
    assert isinstance(res, SimResult)
    assert res.analysis == "tran"
    t, v = res["time"], res["out"]
    assert v.dtype == np.float64 and t.shape == v.shape and len(t) > 400
    expected = 1.0 - np.exp(-t / (R_OHM * C_F))
    assert np.max(np.abs(v - expected)) < 5e-3
    # the capacitor current through V1's branch: i = -(1 - v)/R (ngspice's sign convention)
    np.testing.assert_allclose(res["v1#branch"][10:], -(1.0 - v[10:]) / R_OHM, atol=1e-6)


def test_note_lines_on_stderr_do_not_fail_the_run(runner: NgspiceRunner) -> None:
    # DC 0.5 differs from the PULSE's t=0 value: ngspice prints an informational "Note:"
    # on stderr, which stock PySpice 1.5 treats as an error.
    res = runner.simulate(RC_NETLIST.replace("DC 0 PULSE", "DC 0.5 PULSE"))
    assert any(line.startswith("Note:") for line in res.log)
    assert res["out"][-1] > 0.99


def test_operating_point_alter_and_rerun(runner: NgspiceRunner) -> None:
    runner.load(DIVIDER)
    assert runner.run()["out"][0] == pytest.approx(2.0 * 3000 / 4000)
    runner.alter("R1", 5e3)
    assert runner.run()["out"][0] == pytest.approx(2.0 * 3000 / 8000)
    runner.alter("V1", dc=4.0)
    res = runner.run()
    assert res["out"][0] == pytest.approx(4.0 * 3000 / 8000)
    assert res["V1#branch"][0] == pytest.approx(-4.0 / 8000)  # names are case-insensitive


def test_alter_a_pulse_vector_changes_the_source(runner: NgspiceRunner) -> None:
    runner.load(RC_NETLIST)
    runner.alter("V1", pulse=[0.0, 3.0, 0.0, 1e-10, 1e-10, 1.0, 2.0])
    res = runner.run()
    assert res["in"].max() == pytest.approx(3.0)
    assert res["out"][-1] == pytest.approx(3.0 * (1 - np.exp(-5.0)), rel=2e-3)


def test_alter_param_reparses_expressions(runner: NgspiceRunner) -> None:
    runner.load(DIVIDER.replace("R2 out 0 3000", ".param rbot=3000\nR2 out 0 {rbot}"))
    runner.alter_param(rbot=1000.0)
    assert runner.run()["out"][0] == pytest.approx(1.0)


def test_alter_model_and_hierarchical_names(runner: NgspiceRunner) -> None:
    runner.load("diode\n.model dm D(is=1e-14)\nV1 a 0 0.6\nD1 a 0 dm\n.op\n.end")
    i_before = runner.run()["v1#branch"][0]
    runner.alter_model("dm", **{"is": 1e-13})
    assert runner.run()["v1#branch"][0] == pytest.approx(10 * i_before, rel=1e-3)

    runner.load(
        "sub\n.subckt div a b\nR1 a mid 1000\nR2 mid b 1000\n.ends\nV1 in 0 1\nX1 in 0 div\n"
        ".op\n.end"
    )
    assert runner.run()["x1.mid"][0] == pytest.approx(0.5)
    runner.alter("r.x1.r1", 3e3)
    assert runner.run()["x1.mid"][0] == pytest.approx(0.25)


def test_dc_sweep_is_real_and_ac_stays_complex(runner: NgspiceRunner) -> None:
    res = runner.simulate("sweep\nV1 a 0 1\nR1 a 0 2000\n.dc V1 0 1 0.25\n.end")
    np.testing.assert_allclose(res["v-sweep"], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(res["v1#branch"], -res["v-sweep"] / 2000)
    res = runner.simulate(
        "lowpass\nV1 a 0 DC 0 AC 1\nR1 a b 1000\nC1 b 0 1e-9\n.ac dec 4 1e3 1e7\n.end"
    )
    assert res.analysis == "ac" and np.iscomplexobj(res["b"])
    f = res["frequency"].real
    expected = 1 / (1 + 2j * np.pi * f * 1000 * 1e-9)
    np.testing.assert_allclose(res["b"], expected, rtol=1e-6)


def test_unknown_vector_lists_the_available_ones(runner: NgspiceRunner) -> None:
    res = runner.simulate(DIVIDER)
    with pytest.raises(KeyError, match=r"'nope'.*available: \['in', 'out', 'v1#branch'\]"):
        res["nope"]
    assert "out" in res and "nope" not in res


def test_options_are_validated_and_reach_ngspice(runner: NgspiceRunner) -> None:
    netlist = "tc\nV1 a 0 1\nR1 a 0 1000 tc1=0.01\n.op\n.end"
    hot = runner.simulate(netlist, options={"temp": 127.0})
    assert hot["v1#branch"][0] == pytest.approx(-1.0 / 2000)  # R = 1k * (1 + 0.01 * 100 K)
    text = with_options(netlist, SimOptions(reltol=1e-4, method="gear"))
    assert text.splitlines()[-2:] == [".options reltol=0.0001 method=gear", ".end"]
    with pytest.raises(NetlistValueError, match=r"'relltol' is unknown; known options: \["):
        SimOptions.from_mapping({"relltol": 1e-3})
    with pytest.raises(NetlistValueError, match=r"reltol=2.0 is outside its range"):
        SimOptions(reltol=2.0)
    with pytest.raises(NetlistValueError, match=r"method='euler': choose one of"):
        SimOptions(method="euler")
    with pytest.raises(NetlistValueError, match=r"itl4=10.5: expected an integer"):
        SimOptions(itl4=10.5)  # type: ignore[arg-type]


# -- bad input --------------------------------------------------------------------------
def test_unknown_element_and_parameter_keep_the_circuit(runner: NgspiceRunner) -> None:
    runner.load(DIVIDER)
    with pytest.raises(SimulationError, match="no such device or model name r9"):
        runner.alter("R9", 1e3)
    with pytest.raises(SimulationError, match="no such parameter bogus"):
        runner.alter("R1", bogus=2.0)
    assert runner.run()["out"][0] == pytest.approx(1.5)


def test_bad_values_never_reach_ngspice(runner: NgspiceRunner) -> None:
    runner.load(DIVIDER)
    for bad in (float("nan"), float("inf"), "1k", True, None):
        with pytest.raises(NetlistValueError, match="alter R1"):
            runner.alter("R1", bad)  # type: ignore[arg-type]
    with pytest.raises(NetlistValueError, match=r"alter V1 pulse\[1\]"):
        runner.alter("V1", pulse=[0.0, float("inf")])
    assert runner.run()["out"][0] == pytest.approx(1.5)


@pytest.mark.parametrize(
    "netlist",
    [
        "t\nR1 a 0 1\n.control\nshell touch /tmp/bruno_pwned\n.endc\n.end",
        "t\nR1 a 0 1\nshell touch /tmp/bruno_pwned\n.end",
        "t\n.include |touch /tmp/bruno_pwned\n.end",
    ],
)
def test_injection_in_netlist_text_is_rejected(runner: NgspiceRunner, netlist: str) -> None:
    with pytest.raises(NetlistValueError, match=r"line [23].*not allowed"):
        runner.load(netlist)
    assert not os.path.exists("/tmp/bruno_pwned")


@pytest.mark.parametrize(
    ("element", "params"),
    [
        ("R1; shell touch /tmp/bruno_pwned", {}),
        ("R1\nshell", {}),
        ("R1", {"dc; shell rm": 1.0}),
    ],
)
def test_injection_in_names_is_rejected(
    runner: NgspiceRunner, element: str, params: dict[str, float]
) -> None:
    runner.load(DIVIDER)
    with pytest.raises(NetlistValueError, match="not a valid SPICE name"):
        if params:
            runner.alter(element, **params)
        else:
            runner.alter(element, 1.0)
    with pytest.raises(NetlistValueError, match="not a valid SPICE name"):
        runner.alter_param(**{"x;shell": 1.0})


def test_failed_load_surfaces_ngspice_text_and_does_not_poison(runner: NgspiceRunner) -> None:
    with pytest.raises(SimulationError, match="could not find a valid modelname") as info:
        runner.simulate("bad model\nQ1 a b c nomodel\n.op\n.end")
    assert any("nomodel" in line for line in info.value.log_tail)
    with pytest.raises(SimulationError, match="no circuit is loaded"):
        runner.run()
    assert runner.simulate(DIVIDER)["out"][0] == pytest.approx(1.5)


def test_non_converging_circuit_raises_convergence_error(runner: NgspiceRunner) -> None:
    # two ideal voltage sources in parallel with different values: no solution exists
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        runner.simulate("clash\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1000\n.op\n.end")
    assert any("timestep too small" in line.lower() for line in info.value.log_tail)
    assert runner.simulate(DIVIDER)["out"][0] == pytest.approx(1.5)


def test_unrecoverable_ngspice_is_reloaded(runner: NgspiceRunner) -> None:
    # an undefined .param makes ngspice 39 ask to be detached; the runner reloads it
    with pytest.raises(SimulationError, match="Undefined parameter") as info:
        runner.simulate("undef\nV1 a 0 {nosuchparam}\nR1 a 0 1\n.op\n.end")
    assert "reloaded" in str(info.value)
    assert runner.simulate(DIVIDER)["out"][0] == pytest.approx(1.5)


def test_netlist_without_analysis_is_a_clear_error(runner: NgspiceRunner) -> None:
    with pytest.raises(SimulationError, match="no analysis line"):
        runner.simulate("no analysis\nV1 a 0 1\nR1 a 0 1\n.end")


def test_missing_library_names_it_and_the_fix() -> None:
    missing = "/nonexistent/libngspice.so"
    with pytest.raises(NgspiceNotFoundError, match=r"'/nonexistent/libngspice.so'.*apt-get"):
        NgspiceRunner(library_path=missing)


@pytest.mark.parametrize(
    ("library", "reason"),
    [
        ("/nonexistent/libngspice.so", "cannot open shared object file"),
        ("libm.so.6", "not a usable ngspice library"),  # loads, but is not ngspice
    ],
)
def test_library_from_the_environment_is_checked(library: str, reason: str) -> None:
    code = "from bruno_hil.spice import NgspiceRunner; NgspiceRunner.shared()"
    env = {**os.environ, LIBRARY_ENV: library}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("bruno_hil.spice.errors.NgspiceNotFoundError: cannot load the ngspice")
    assert library in last and reason in last and "apt-get install ngspice" in last


def test_memory_stays_bounded_over_many_cycles(runner: NgspiceRunner) -> None:
    runner.load(RC_NETLIST)
    runner.run()
    before = rss_bytes()
    for _ in range(600):  # each result holds ~20 kB of vectors: uncleaned, >10 MB in all
        runner.run()
    for _ in range(1000):
        runner.simulate(DIVIDER)
    growth_mb = (rss_bytes() - before) / 1e6
    assert growth_mb < 4.0


def _load_bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "runner_bench.py"
    spec = importlib.util.spec_from_file_location("runner_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_crossbar_column_currents_are_g_transpose_v(runner: NgspiceRunner) -> None:
    bench = _load_bench()
    rng = np.random.default_rng(1)
    g_S = rng.uniform(1e-6, 1e-4, size=(4, 3))
    v_V = rng.uniform(-0.2, 0.2, size=4)
    runner.load(bench.crossbar_netlist(g_S, v_V))
    np.testing.assert_allclose(bench.column_currents_A(runner.run(), 3), g_S.T @ v_V, rtol=1e-9)
    runner.alter("vr2", dc=0.0)
    v_V[2] = 0.0
    np.testing.assert_allclose(bench.column_currents_A(runner.run(), 3), g_S.T @ v_V, rtol=1e-9)


def test_benchmark_runs_and_reports_every_mode(
    runner: NgspiceRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _load_bench().main(
        ["--repeats", "3", "--size", "4", "--points", "100", "--leak-cycles", "20"]
    )
    modes = {(r.case.split()[0], r.mode) for r in rows}
    assert modes == {(c, m) for c in ("crossbar", "RC") for m in ("reload", "alter", "ngspice -b")}
    assert all(r.median_ms > 0 for r in rows)
    out = capsys.readouterr().out
    assert "x ngspice -b" in out and "RSS growth over 20" in out


# -- Verilog-A through OSDI -----------------------------------------------------------
RESISTOR_VA = """`include "disciplines.vams"
module va_res(p, n);
  inout p, n;
  electrical p, n;
  parameter real r = 1e3 from (0:inf);
  analog I(p, n) <+ V(p, n) / r;
endmodule
"""


def test_verilog_a_compiles_to_a_versioned_osdi_library(tmp_path: Path) -> None:
    va = tmp_path / "va_res.va"
    va.write_text(RESISTOR_VA)
    lib = compile_verilog_a(va)
    assert lib == tmp_path / "va_res.osdi" and lib.stat().st_size > 0
    major, minor = osdi_version(lib)
    assert (major, minor) >= (0, 3)
    with pytest.raises(OsdiUnsupportedError, match=r"va_res\.va: not a loadable OSDI library"):
        osdi_version(va)


def test_verilog_a_errors_quote_the_compiler(tmp_path: Path) -> None:
    bad = tmp_path / "bad.va"
    bad.write_text("module bad(p); inout p; electrical p; analog V(p) <+ nosuch; endmodule\n")
    with pytest.raises(VerilogACompileError, match=r"bad\.va: openvaf.* failed[\s\S]*nosuch"):
        compile_verilog_a(bad)
    with pytest.raises(VerilogACompileError, match=r"missing\.va: no such Verilog-A file"):
        compile_verilog_a(tmp_path / "missing.va")


def test_load_verilog_a_runs_or_says_how_to_get_osdi(runner: NgspiceRunner, tmp_path: Path) -> None:
    va = tmp_path / "va_res.va"
    va.write_text(RESISTOR_VA)
    if not runner.supports_osdi():
        with pytest.raises(OsdiUnsupportedError, match=r"without OSDI support.*--enable-osdi"):
            runner.load_verilog_a(va)
        assert not va.with_suffix(".osdi").exists()  # failed fast, before compiling
        return
    try:
        runner.load_verilog_a(va)
    except OsdiUnsupportedError as err:  # an OSDI ngspice that wants another OSDI version
        assert "loads only OSDI" in str(err)
        return
    res = runner.simulate("va\n.model rv va_res r=2000\nV1 a 0 1\nN1 a 0 rv\n.op\n.end")
    assert res["v1#branch"][0] == pytest.approx(-1.0 / 2000)


# -- time limits ------------------------------------------------------------------------
SLOW_TRAN = RC_NETLIST.replace(".tran 1e-8 5e-6 0 1e-8", ".tran 1e-12 5e-5 0 1e-12")
HANGING_OP = """hang
V1 a 0 PULSE(0 1 1u 1n 1n 1 2)
R1 a b 1k
B1 b 0 I=1/(v(b)-0.5)
C1 b 0 1p
.tran 1n 5u
.end
"""


def test_timeout_halts_a_slow_transient_and_keeps_results_otherwise(
    runner: NgspiceRunner,
) -> None:
    sync = runner.simulate(RC_NETLIST)
    in_background = runner.simulate(RC_NETLIST, timeout_s=30.0)
    np.testing.assert_array_equal(in_background["out"], sync["out"])
    t0 = time.monotonic()
    with pytest.raises(SimulationTimeoutError, match=r"time limit of 0.3 s") as info:
        runner.simulate(SLOW_TRAN, timeout_s=0.3)
    assert time.monotonic() - t0 < 0.3 + HALT_GRACE_S
    assert any("interrupted" in line for line in info.value.log_tail)
    assert runner.simulate(DIVIDER)["out"][0] == pytest.approx(1.5)
    for bad in (0.0, -1.0, float("nan")):
        runner.load(DIVIDER)
        with pytest.raises(NetlistValueError, match="timeout_s"):
            runner.run(timeout_s=bad)


def test_a_solve_that_ignores_the_halt_disables_the_runner() -> None:
    # ngspice does not look at halt requests inside source stepping: the runner must say
    # so and refuse further work. Run in a child process, whose ngspice stays stuck.
    code = (
        "import sys\n"
        "from bruno_hil.spice import NgspiceRunner, RunnerStuckError\n"
        "r = NgspiceRunner.shared()\n"
        "for netlist in (sys.argv[1], sys.argv[2]):\n"
        "    try:\n"
        "        r.simulate(netlist, timeout_s=0.2)\n"
        "    except RunnerStuckError as err:\n"
        "        print(type(err).__name__, str(err).splitlines()[0])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, HANGING_OP, DIVIDER],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    assert lines[0].startswith("RunnerStuckError the simulation exceeded 0.2 s"), proc.stderr
    assert lines[1].startswith("RunnerStuckError an earlier simulation is still running")
