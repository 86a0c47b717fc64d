"""Safety of the drivers, as properties over random command sequences through pyvisa to
the emulator: whatever a caller asks, the device (the emulator's record of every voltage
it applied) never sees a voltage outside the limits; a refused request sends nothing;
the limits are on the instrument before its output goes on."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import pyvisa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruno_hil.emulator import EmulatedSmu, EmulatedTester, ScpiServer
from bruno_hil.instruments import (
    FeTester,
    InstrumentError,
    InstrumentLimitError,
    Keithley2400,
    SafetyLimits,
)

SMU_LIMITS = SafetyLimits(v_min_V=-0.9, v_max_V=1.1, compliance_max_A=2e-4, pulse_width_max_s=1e-5)
TESTER_LIMITS = SafetyLimits(v_min_V=-3.0, v_max_V=2.5)

EDGES = [-3.0, -1.05, -0.95, -0.9, 0.0, 0.1, 0.5, 1.0, 1.1, 1.15, 3.0]
volts = st.one_of(
    st.sampled_from(EDGES), st.sampled_from(EDGES), st.floats(-3.0, 3.0).map(lambda v: round(v, 3))
)
"""Mostly at, just inside or just beyond the limits (-0.9 V, 1.1 V), sometimes anywhere."""
level = st.tuples(st.just("level"), volts)
sweep = st.tuples(st.just("sweep"), st.lists(volts, min_size=2, max_size=4))
pulses = st.tuples(
    st.just("pulses"),
    st.lists(volts, min_size=1, max_size=3),
    st.sampled_from([1e-6, 5e-6, 1e-4]),
    st.sampled_from([0.1, -0.1, -0.95, 1.5]),
)
operation = st.one_of(
    level,
    sweep,
    sweep,
    pulses,
    st.tuples(st.just("compliance"), st.sampled_from([1e-5, 1e-4, 1e-3])),
    st.tuples(st.just("output"), st.booleans()),
    st.tuples(st.just("measure")),
    st.tuples(st.just("configure"), st.sampled_from([5e-5, 5e-4])),
)
"""One driver call; applying ones (levels, sweeps, pulses) weigh most."""


@pytest.fixture(scope="module")
def smu_server() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedSmu()) as server:
        yield server


def _run(smu: Keithley2400, op: tuple) -> None:
    kind, *args = op
    if kind == "level":
        smu.set_voltage(args[0])
    elif kind == "sweep":
        smu.list_sweep(np.array(args[0]), delay_s=0.01)
    elif kind == "pulses":
        smu.pulse_train(np.array(args[0]), args[1], args[2])
    elif kind == "compliance":
        smu.set_compliance(args[0])
    elif kind == "output":
        smu.output(args[0])
    elif kind == "measure":
        smu.measure()
    else:
        smu.configure(args[0])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.sampled_from([(), ("configure", 1e-4), ("configure", 1e-4)]),
    ops=st.lists(operation, min_size=1, max_size=5),
)
def test_smu_never_applies_a_voltage_beyond_the_limits(
    smu_server: ScpiServer, first: tuple, ops: list[tuple]
) -> None:
    emulator: EmulatedSmu = smu_server.instrument  # type: ignore[assignment]
    emulator.dut.applied_V.clear()
    emulator.events.clear()
    with Keithley2400(smu_server.resource, SMU_LIMITS) as smu:
        for op in [first, *ops] if first else ops:
            before = emulator.commands_seen
            try:
                _run(smu, op)
            except InstrumentLimitError:
                assert emulator.commands_seen == before  # refused before anything was sent
            except InstrumentError:
                pass  # an instrument-side refusal (e.g. a read with the output off)
    applied = np.asarray(emulator.dut.applied_V)
    assert np.all(applied >= SMU_LIMITS.v_min_V) and np.all(applied <= SMU_LIMITS.v_max_V)
    for event in emulator.events:
        if event["event"] == "output on":  # range and compliance were programmed first
            assert event["range_V"] == SMU_LIMITS.span_V
            assert event["compliance_A"] <= SMU_LIMITS.compliance_max_A
    assert emulator.s.output is False  # closed: output off


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    peaks=st.lists(st.tuples(volts, volts), min_size=1, max_size=3),
    configure_first=st.booleans(),
)
def test_tester_never_applies_a_voltage_beyond_the_limits(
    peaks: list[tuple[float, float]], configure_first: bool
) -> None:
    with ScpiServer(EmulatedTester()) as server:
        emulator: EmulatedTester = server.instrument  # type: ignore[assignment]
        with FeTester(server.resource, TESTER_LIMITS) as tester:
            if configure_first:
                tester.configure()
            for high, low in peaks:
                t = np.arange(41) * 1e-6
                v = np.interp(t, [0, 10e-6, 30e-6, 40e-6], [0.0, high, low, 0.0])
                before = emulator.commands_seen
                try:
                    tester.waveform(t, v)
                except InstrumentLimitError:
                    assert emulator.commands_seen == before
        applied = np.asarray(emulator.dut.applied_V)
        assert np.all(applied >= TESTER_LIMITS.v_min_V) and np.all(applied <= TESTER_LIMITS.v_max_V)
        for event in emulator.events:  # the source's own limits were on before output on
            assert event["high_V"] <= TESTER_LIMITS.v_max_V
            assert event["low_V"] >= TESTER_LIMITS.v_min_V
        if not configure_first:
            assert applied.size == 0 and emulator.events == []


def test_emulated_tester_refuses_output_without_limits_and_spans_beyond_them() -> None:
    """The instrument side enforces its own output limits too (defence in depth); the
    commands go through a raw pyvisa session, since the driver sends none unchecked."""
    with ScpiServer(EmulatedTester()) as server:
        rm = pyvisa.ResourceManager("@py")
        raw = rm.open_resource(server.resource, read_termination="\n", write_termination="\n")
        try:
            raw.write("DATA:ARB W,0,1,-1,0")
            raw.write("FUNC:ARB W")
            raw.write("OUTP ON")
            assert "limits are off" in raw.query("SYST:ERR?")
            raw.write("VOLT:LIM:HIGH 1;:VOLT:LIM:LOW -1;:VOLT:LIM:STAT ON")
            raw.write("VOLT 3")
            assert "exceeds the limits" in raw.query("SYST:ERR?")
            assert float(raw.query("VOLT?")) == pytest.approx(0.1)
        finally:
            raw.close()
            rm.close()


def test_the_driver_sends_no_unchecked_command() -> None:
    """Issue 19.2: no public raw write, and a query cannot carry a command along: 15 V
    with a 2 V limit never reaches the device."""
    with ScpiServer(EmulatedSmu()) as server, Keithley2400(server.resource) as smu:
        smu.configure(1e-4)
        assert not hasattr(smu, "write")
        for command in (":SOUR:VOLT 15;:OUTP ON;*OPC?", ":SOUR:VOLT 15", "*IDN?\n:OUTP ON"):
            with pytest.raises(InstrumentLimitError, match="not a single SCPI query"):
                smu.query(command)
        assert smu.query(":SOUR:VOLT?", float) == 0.0
        assert smu.query(":OUTP?") == "0"
        assert "2400" in smu.identify()
        applied = np.asarray(server.instrument.dut.applied_V)
    assert applied.size == 0 or np.max(np.abs(applied)) <= 2.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda lim: lim.check_voltage(1.5), r"voltage_V = 1.5 V is outside .*\[-0.9, 1.1\] V"),
        (lambda lim: lim.check_voltages([0.0, -2.0]), r"voltage_V\[1\] = -2.0 V"),
        (lambda lim: lim.check_voltages([float("nan")]), "nan"),
        (lambda lim: lim.check_compliance(1e-3), "exceeds SafetyLimits.compliance_max_A = 0.0002"),
        (lambda lim: lim.check_compliance(-1.0), "must be a finite number > 0"),
        (lambda lim: lim.check_pulse_width(1e-3), "exceeds SafetyLimits.pulse_width_max_s"),
        (lambda lim: SafetyLimits(v_min_V=0.5), "need v_min_V <= 0 <= v_max_V"),
        (lambda lim: SafetyLimits(compliance_max_A=0.0), "compliance_max_A = 0.0 must be > 0"),
    ],
)
def test_limit_errors_name_the_value_and_the_limit(call, message: str) -> None:
    with pytest.raises(InstrumentLimitError, match=message):
        call(SMU_LIMITS)


def test_output_on_before_configure_is_refused_without_a_command(smu_server: ScpiServer) -> None:
    with Keithley2400(smu_server.resource, SMU_LIMITS) as smu:
        before = smu_server.instrument.commands_seen
        with pytest.raises(InstrumentLimitError, match="configure"):
            smu.output(True)
        assert smu_server.instrument.commands_seen == before
