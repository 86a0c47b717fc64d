"""``bruno-hil calibrate ... --chip visa://`` against the emulator fits the parameters that
``--chip ngspice`` (without simulated noise) fits: the live loop runs unchanged over the
pyvisa path, and the emulator's device is the same compact model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from cli_run import last_json, run_cli

from bruno_hil.emulator import EmulatedSmu, EmulatedTester, ScpiServer


@pytest.fixture(scope="module")
def smu_server() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedSmu()) as server:
        yield server


def test_rram_live_calibration_via_visa_equals_ngspice(
    capsys: pytest.CaptureFixture[str], smu_server: ScpiServer
) -> None:
    """The emulated cell is left SET (low resistance) before the run, as a real cell may
    be: the conditioning RESET before each stimulus makes the fit independent of that."""
    dut = smu_server.instrument.dut  # type: ignore[attr-defined]
    dut.apply([*np.linspace(0.05, 1.2, 24), 0.0], 1e-4, 0.05)
    assert dut.gap_m < 0.9 * dut.params.g_max_m
    args = ["calibrate", "rram", "--starts", "1", "--json"]
    code, out, err = run_cli(capsys, *args, "--chip", f"visa://{smu_server.resource}")
    assert code == 0, err
    visa = last_json(out)
    code, out, err = run_cli(capsys, *args, "--chip", "ngspice", "--noise-rel", "0")
    assert code == 0, err
    reference = last_json(out)
    assert visa["source"] == f"live --chip visa://{smu_server.resource}"
    for name, fitted in reference["parameters"].items():
        assert visa["parameters"][name]["status"] == fitted["status"], name
        assert visa["parameters"][name]["value"] == pytest.approx(fitted["value"], rel=2e-3), name


def test_a_non_uniform_waveform_is_played_on_a_uniform_grid() -> None:
    """The live FeCap stimuli join segments of different spacing; the source plays them on
    its uniform grid and the channels come back at the requested times, as ngspice's."""
    import numpy as np

    from bruno_hil.characterize.open import open_backend
    from bruno_hil.devices.params import FeCapParams

    t = np.concatenate([np.linspace(0, 1e-4, 41), 1e-4 + np.linspace(0, 2e-4, 21)[1:]])
    v = np.interp(t, [0, 5e-5, 1e-4, 3e-4], [0.0, 3.5, 0.0, -3.5])
    with ScpiServer(EmulatedTester()) as server:
        backend = open_backend(f"visa://{server.resource}")
        try:
            visa = backend.fecap_waveform(t, v, FeCapParams())
        finally:
            backend.close()
    reference = open_backend("ngspice").fecap_waveform(t, v, FeCapParams())
    assert np.array_equal(visa["time_s"], t)
    # the two simulations take different time steps through the fast switching (measured:
    # 1.8e-3 of the charge span at most, at the switching samples; 1e-5 elsewhere)
    span = np.ptp(reference["charge_C"])
    error = np.abs(visa["charge_C"] - reference["charge_C"])
    assert error.max() < 5e-3 * span
    assert np.median(error) < 1e-4 * span
