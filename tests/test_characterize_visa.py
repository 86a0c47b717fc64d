"""``bruno-hil characterize --chip visa://...`` against the emulator gives the figures of
``--chip ngspice``: the whole pyvisa path (drivers, SCPI, TCP, emulator) adds no error
beyond the stated tolerance. The emulator has no noise and the same compact model, so the
tolerance only covers ngspice's own time-step differences (a sweep split into list sweeps
is re-simulated in pieces; the FeCap starts each waveform from the carried state).

Tolerance: relative 1e-3 on every figure, exact on integer figures (levels), and 1e-6 of
P_s absolute on the loop closure (a difference of two nearly equal charges)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cli_run import last_json, run_cli

from bruno_hil.emulator import EmulatedSmu, EmulatedTester, FaultPlan, ScpiServer

REL_TOL = 1e-3
RRAM_ARGS = ["--n-pulses", "8", "--compliance-A", "8e-5", "--v-max-V", "1.1"]
FECAP_ARGS = ["--amplitude-V", "3.2", "--frequency-Hz", "1e4"]


@pytest.fixture(scope="module")
def rram_server() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedSmu()) as server:
        yield server


@pytest.fixture(scope="module")
def fecap_server() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedTester()) as server:
        yield server


def _characterize(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    """Run ``bruno-hil characterize ...`` here: (exit code, the last JSON object, stderr)."""
    code, out, err = run_cli(capsys, "characterize", *args)
    return code, (last_json(out) if code == 0 else {}), err


def _assert_same_figures(visa: dict, ngspice: dict) -> None:
    assert visa.keys() == ngspice.keys()
    for name, expected in ngspice.items():
        if name == "closure_C_per_m2":
            assert visa[name] == pytest.approx(expected, abs=1e-6 * 0.22), name
        elif isinstance(expected, int):
            assert visa[name] == expected, name
        else:
            assert visa[name] == pytest.approx(expected, rel=REL_TOL), name


def test_rram_via_visa_matches_ngspice(
    capsys: pytest.CaptureFixture[str], rram_server: ScpiServer, tmp_path: Path
) -> None:
    chip = f"visa://{rram_server.resource}"
    code, visa, err = _characterize(
        capsys, "rram", "--chip", chip, "--json", "--out", str(tmp_path), *RRAM_ARGS
    )
    assert code == 0, err
    _, reference, _ = _characterize(capsys, "rram", "--json", *RRAM_ARGS)
    assert visa["chip"] == chip
    _assert_same_figures(visa["figures"], reference["figures"])
    assert visa["figures"]["on_off_ratio"] > 10  # the comparison is of a real loop
    iv = pd.read_csv(tmp_path / "rram_iv.csv")
    assert iv["current_A"].abs().max() <= 8e-5 * (1 + 1e-6)  # compliance honoured
    streams = sorted(p.name for p in (tmp_path / "stream").iterdir())
    assert [s.split("-")[0] for s in streams] == ["bench.json", "rram_dc", "rram_pulses"]


def test_fecap_via_visa_matches_ngspice(
    capsys: pytest.CaptureFixture[str], fecap_server: ScpiServer
) -> None:
    chip = f"visa://{fecap_server.resource}"
    code, visa, err = _characterize(capsys, "fecap", "--chip", chip, "--json", *FECAP_ARGS)
    assert code == 0, err
    _, reference, _ = _characterize(capsys, "fecap", "--json", *FECAP_ARGS)
    _assert_same_figures(visa["figures"], reference["figures"])
    # a switching loop, not a dielectric: P_r ~ k*P_s = 0.905*0.22 C/m^2 (the stack's charge)
    assert visa["figures"]["p_r_pos_C_per_m2"] > 0.18


def test_wrong_instrument_for_the_device_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], fecap_server: ScpiServer
) -> None:
    code, _, err = _characterize(capsys, "rram", "--chip", f"visa://{fecap_server.resource}")
    assert code == 2
    assert "needs a Keithley2400-class instrument" in err and "Traceback" not in err


def test_unreachable_resource_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _characterize(capsys, "fecap", "--chip", "visa://TCPIP0::127.0.0.1::1::SOCKET")
    assert code == 2
    assert "TCPIP0::127.0.0.1::1::SOCKET" in err and "Connection refused" in err
    assert "Traceback" not in err


def test_interrupted_characterization_resumes_to_the_same_figures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The second pulse segment is refused by the instrument: the run stops with a clear
    error, the I-V sweep and the first 100 pulses are on disk; ``--resume`` measures only
    the rest and the figures are those of an uninterrupted run."""
    args = ["rram", "--json", "--n-pulses", "60", "--out", str(tmp_path)]
    # the I-V sweep (401 setpoints) takes 5 list sweeps, the 121 pulses 2
    plan = FaultPlan.parse(["error:on=:INIT,skip=6"])
    with ScpiServer(EmulatedSmu(), faults=plan) as server:
        chip = ["--chip", f"visa://{server.resource}"]
        code, _, err = _characterize(capsys, *args, *chip)
        assert code == 2 and "-213" in err and "':INIT'" in err
        pulses = next((tmp_path / "stream").glob("rram_pulses-*.csv"))
        assert len(pd.read_csv(pulses)) == 100
        inits = server.faults.count
        code, resumed, err = _characterize(capsys, *args, *chip, "--resume")
        assert code == 0, err
        assert server.faults.count - inits < 120  # the sweep was not measured again
    _, reference, _ = _characterize(capsys, "rram", "--json", "--n-pulses", "60")
    _assert_same_figures(resumed["figures"], reference["figures"])
