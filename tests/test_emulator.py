"""The SCPI emulator through the real pyvisa + pyvisa-py stack on 127.0.0.1: IEEE 488.2
conformance, the error queue, the SMU's sweeps and compliance on the ngspice RRAM model,
an existing SCPI client (pymeasure's Keithley 2400), every fault (retry or a clear error),
and measurements streamed to disk that survive an interruption and resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pyvisa
from scpi_session import emulate_process, error_queue, raw_session

from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.stimulus import iv_setpoints
from bruno_hil.characterize.visa_backend import VisaBackend
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.emulator import (
    EmulatedSmu,
    EmulatedTester,
    FaultPlan,
    FaultSpecError,
    ScpiServer,
    parse_fault,
)
from bruno_hil.emulator.dut import FECAP_CHUNK_POINTS, FeCapDut
from bruno_hil.instruments import (
    FeTester,
    InstrumentCommandError,
    InstrumentError,
    InstrumentTimeoutError,
    Keithley2400,
    RetryPolicy,
    SafetyLimits,
    open_instrument,
)

FAST = RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=0.5)
"""A short timeout, so that delay and drop faults cost little test time."""


# -- IEEE 488.2 and SCPI conformance ---------------------------------------------------------
def test_common_commands_and_error_queue(raw: pyvisa.resources.MessageBasedResource) -> None:
    assert "2400" in raw.query("*IDN?").split(",")[1]
    assert raw.query("*OPC?") == "1"
    assert raw.query("SYST:ERR?") == '0,"No error"'
    raw.write(":BOGUS:CMD 1")
    raw.write(":SOUR:VOLT abc")
    raw.write(":SENS:CURR:PROT 5")  # beyond the 2400's 1.05 A
    assert raw.query("SYST:ERR:COUN?") == "3"
    errors = error_queue(raw)  # FIFO order, standard codes, the header named
    assert [e.split(",")[0] for e in errors] == ["-113", "-104", "-222"]
    assert ":BOGUS:CMD" in errors[0] and "Undefined header" in errors[0]
    for _ in range(12):
        raw.write("NOPE")
    errors = error_queue(raw)
    assert len(errors) == 10 and errors[-1].startswith("-350")  # queue overflow
    raw.write("NOPE")
    raw.write("*CLS")
    assert raw.query("SYST:ERR?") == '0,"No error"'


def test_header_forms_and_compound_messages(raw: pyvisa.resources.MessageBasedResource) -> None:
    raw.write(":source:voltage:level:immediate:amplitude 0.25;:SENS:CURR:PROT 2e-5")
    assert float(raw.query(":SOUR:VOLT?")) == 0.25
    assert float(raw.query("SENSE:CURRENT:PROTECTION?")) == 2e-5
    assert raw.query(":SOUR:VOLT:RANG?;*OPC?").endswith(";1")
    raw.write("*RST")
    assert float(raw.query(":SOUR:VOLT?")) == 0.0
    assert float(raw.query(":SENS:CURR:PROT?")) == pytest.approx(105e-6)
    assert error_queue(raw) == []


def test_read_with_output_off_is_refused(raw: pyvisa.resources.MessageBasedResource) -> None:
    raw.write(":INIT")
    assert error_queue(raw)[0].startswith("803,")
    raw.write(":FETC?")
    assert raw.query("SYST:ERR?").startswith("-230")  # no readings, no reply


# -- the SMU on the RRAM model ---------------------------------------------------------------
def test_list_sweep_shows_hysteresis_within_compliance(smu_server: ScpiServer) -> None:
    up = np.linspace(0.0, 1.0, 51)[1:]
    with Keithley2400(smu_server.resource) as smu:
        smu.configure(50e-6)
        data = smu.list_sweep(np.concatenate([up, up[::-1]]), delay_s=0.02)
    i = data["current_A"].to_numpy()
    assert len(data) == 100
    assert np.abs(i).max() <= 50e-6 * (1 + 1e-6)
    assert np.abs(i).max() > 0.99 * 50e-6  # it reached compliance after SET
    k = 4  # 0.1 V on the way up and on the way down
    assert i[-(k + 1)] / i[k] > 10  # SET happened: the return branch is the LRS


def test_single_points_carry_the_state_like_one_sweep(smu_server: ScpiServer) -> None:
    """Stepping the level point by point (each point its own command and reading) carries
    the device's state between commands: it SETs on the way up and reads the LRS on the
    way down, with the currents of one list sweep through the same setpoints once the
    cell is switched (before, each held reading adds dwell time: SET only gets ahead)."""
    path = np.round(np.array([1, 2, 3, 4, 5, 4, 3, 2, 1]) * 0.1, 10)
    with Keithley2400(smu_server.resource) as smu:
        smu.configure(100e-6)
        smu.set_source_delay(0.1)
        smu.output(True)
        stepped = []
        for v in path:
            smu.set_voltage(float(v))
            stepped.append(smu.measure()[1])
    with ScpiServer(EmulatedSmu()) as fresh, Keithley2400(fresh.resource) as smu:
        smu.configure(100e-6)
        swept = smu.list_sweep(path, delay_s=0.1)["current_A"].to_numpy()
    stepped = np.array(stepped)
    assert stepped[-1] / stepped[0] > 100  # 0.1 V: HRS before, LRS after the SET
    assert np.all(stepped[:3] >= swept[:3])
    np.testing.assert_allclose(stepped[3:], swept[3:], rtol=1e-5)


def test_pymeasure_keithley2400_client_works(smu_server: ScpiServer) -> None:
    """An existing SCPI client for the 2400 (pymeasure) drives the emulator."""
    from pymeasure.instruments import keithley  # a dev dependency: fail loudly if missing

    smu = keithley.Keithley2400(smu_server.resource, read_termination="\n")
    smu.source_mode = "voltage"
    smu.compliance_current = 1e-4
    smu.source_voltage = 0.1
    smu.enable_source()
    hrs = smu.current
    assert smu.check_errors() == []
    smu.source_voltage = 1.0  # SET
    smu.source_voltage = 0.1
    lrs = smu.current
    assert 0 < hrs < 1e-6 and lrs > 100 * hrs
    smu.disable_source()
    smu.adapter.close()


def test_unknown_instrument_is_refused_clearly() -> None:
    """A fixed-response instrument (pyvisa-sim) that no driver knows."""
    with pytest.raises(InstrumentError, match="no driver for the instrument 'SCPI,MOCK"):
        open_instrument("TCPIP0::localhost:2222::inst0::INSTR", backend="@sim")


# -- faults ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault", ["delay:on=:FETC?,seconds=1.0", "drop:on=:FETC?", "garble:on=:FETC?", "drop:on=:INIT"]
)
def test_each_transient_fault_is_retried(fault: str) -> None:
    setpoints = np.linspace(0.05, 0.6, 12)
    with ScpiServer(EmulatedSmu()) as clean, Keithley2400(clean.resource) as smu:
        smu.configure(1e-4)
        expected = smu.list_sweep(setpoints, 0.05)
    with (
        ScpiServer(EmulatedSmu(), faults=FaultPlan.parse([fault])) as server,
        Keithley2400(server.resource, retry=FAST) as smu,
    ):
        smu.configure(1e-4)
        got = smu.list_sweep(setpoints, 0.05)
        assert smu.reconnects >= 1
        assert server.faults.log and server.faults.log[0][1] == fault.split(":")[0]
        # the sweep ran once: the device saw each setpoint once (no repeated measurement)
        assert server.instrument.dut.applied_V == pytest.approx(list(setpoints))
    pd.testing.assert_frame_equal(got, expected)


def test_a_persistent_fault_ends_in_a_clear_error_with_the_output_off() -> None:
    with ScpiServer(EmulatedSmu(), faults=FaultPlan.parse(["drop:on=:FETC?,times=0"])) as server:
        smu = Keithley2400(server.resource, retry=FAST)
        smu.configure(1e-4)
        with pytest.raises(InstrumentTimeoutError, match=r":FETC\?.*3 attempts"), smu.guard():
            smu.list_sweep(np.array([0.1, 0.2]), 0.01)
        assert server.instrument.s.output is False  # guard(): OUTP OFF and *RST
        smu.close()


def test_an_error_queue_entry_is_a_clear_error() -> None:
    with ScpiServer(EmulatedSmu(), faults=FaultPlan.parse(["error:on=:INIT,code=-213"])) as server:
        smu = Keithley2400(server.resource, retry=FAST)
        smu.configure(1e-4)
        with pytest.raises(InstrumentCommandError, match=r"after ':INIT'.*-213") as info:
            smu.list_sweep(np.array([0.1, 0.2]), 0.01)
        assert info.value.errors[0][0] == -213
        assert server.instrument.dut.applied_V == []  # the refused sweep applied nothing
        smu.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("zap", "choose one of delay"),
        ("drop:at=x", "at = 'x' is not a number"),
        ("drop:bogus=1", "not one of on="),
        ("delay:seconds=-1", "seconds = -1.0"),
        ("error:code=5", "code = 5"),
    ],
)
def test_fault_specs_are_validated(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


# -- streaming to disk and resume ------------------------------------------------------------
def test_interrupted_sweep_keeps_completed_points_and_resumes(tmp_path: Path) -> None:
    v = iv_setpoints(0.8, -0.8, 0.02)["voltage_V"].to_numpy()  # 161 points
    limits = SafetyLimits(v_min_V=-1.0, v_max_V=1.0)
    plan = FaultPlan.parse(["error:on=:INIT,skip=2"])  # the third segment is refused
    with ScpiServer(EmulatedSmu(), faults=plan) as server:
        backend = VisaBackend(
            server.resource, stream_dir=tmp_path, segment_points=50, retry=FAST, smu_limits=limits
        )
        with pytest.raises(InstrumentCommandError, match="-213"):
            backend.rram_dc_sweep(v, 1e-4, RRAMParams())
        backend.close()
        (stream,) = backend.files
        partial = pd.read_csv(stream)
        assert len(partial) == 100  # two complete segments, nothing torn
        np.testing.assert_array_equal(partial["voltage_V"], v[:100])
        assert server.instrument.s.output is False
        with open(stream, "a") as f:
            f.write("0.5,0.49")  # a torn last line, as a crash mid-write leaves it
        resumed = VisaBackend(server.resource, stream_dir=tmp_path, segment_points=50, resume=True)
        data = resumed.rram_dc_sweep(v, 1e-4, RRAMParams())
        resumed.close()
        applied = np.abs(server.instrument.dut.applied_V)
    assert len(data) == v.size
    np.testing.assert_array_equal(data["voltage_V"], v)
    kept = data.iloc[:100].drop(columns="time_s")
    pd.testing.assert_frame_equal(kept, partial)  # kept, not re-measured
    assert applied.max() <= 0.8  # never beyond the request, nor the limits


def test_resume_refuses_a_file_of_another_measurement(tmp_path: Path) -> None:
    with ScpiServer(EmulatedSmu()) as server:
        backend = VisaBackend(server.resource, stream_dir=tmp_path)
        backend.rram_dc_sweep(np.array([0.1, 0.2]), 1e-4, RRAMParams())
        backend.close()
        (stream,) = backend.files
        stream.write_text("voltage_V,device_voltage_V,current_A\n0.3,0.3,1e-9\n")
        again = VisaBackend(server.resource, stream_dir=tmp_path, resume=True)
        with pytest.raises(Exception, match="do not match this measurement"):
            again.rram_dc_sweep(np.array([0.1, 0.2]), 1e-4, RRAMParams())
        again.close()


# -- the command line ------------------------------------------------------------------------
def test_emulate_cli_serves_until_terminated(tmp_path: Path) -> None:
    args = ["--device", "rram", "--port", "0", "--fault", "error:on=*TST?"]
    with emulate_process(*args) as served:
        info = served.info
        assert info["chip"] == f"visa://{info['resource']}"
        with raw_session(info["resource"]) as session:
            assert "2400" in session.query("*IDN?")
            session.write("*TST?")  # refused by the injected fault: no reply, an error
            assert session.query("SYST:ERR?").startswith("-213")
    assert served.final is not None
    assert served.final["commands"] == 3 and served.final["faults_fired"][0][1] == "error"
    assert served.returncode == 0


def test_tester_fault_is_retried_and_the_waveform_unchanged() -> None:
    """The FeCap bench: a dropped connection while reading the current channel."""
    t = np.arange(101) * 1e-6
    v = 3.0 * np.sin(2 * np.pi * t / 100e-6)
    with ScpiServer(EmulatedTester()) as clean, FeTester(clean.resource) as tester:
        tester.configure()
        expected = tester.waveform(t, v)
    plan = FaultPlan.parse(["drop:on=FETC:WAV? 2"])
    with (
        ScpiServer(EmulatedTester(), faults=plan) as server,
        FeTester(server.resource, retry=FAST) as tester,
    ):
        tester.configure()
        got = tester.waveform(t, v)
        assert tester.reconnects == 1 and server.faults.log[0][1] == "drop"
    pd.testing.assert_frame_equal(got, expected)
    # at V = 0 after the + half: switched, 2*k*P_s*A = 9.96e-12 C (k = 0.905, the stack's
    # charge fraction; 2*P_s*A = 1.1e-11 C before the stack's terminal charge)
    assert got["charge_C"].iloc[50] > 0.9e-11


def test_a_long_fecap_waveform_is_simulated_in_pieces_that_join_exactly() -> None:
    """The emulated capacitor simulates a long waveform in pieces (ngspice's PWL cost grows
    as N^2), carrying P and the charge: the same data as one simulation, to 1e-5."""
    t = np.linspace(0.0, 3e-3, 2 * FECAP_CHUNK_POINTS + 500)
    v = 3.5 * np.sin(2 * np.pi * 1e3 * t)
    pieces = FeCapDut().waveform(t, v)
    whole = NgspiceBackend().fecap_waveform(t, v, FeCapParams())
    assert np.array_equal(pieces["time_s"], t)
    for column in ("charge_C", "current_A"):
        error = np.abs(pieces[column].to_numpy() - whole[column].to_numpy())
        assert error.max() < 1e-4 * np.ptp(whole[column]), column
