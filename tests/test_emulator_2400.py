"""The emulated Keithley 2400 as third-party clients drive it, through the real pyvisa +
pyvisa-py stack on 127.0.0.1: SCPI numeric keywords and unit suffixes, the IEEE 488.2
status registers, every stored setting answering its query, and pymeasure's and QCoDeS's
own Keithley 2400 drivers running I-V sweeps with compliance and the buffer path."""

from __future__ import annotations

import re

import numpy as np
import pytest
import pyvisa
from scpi_session import error_queue, stepped_currents

from bruno_hil.emulator import ScpiServer
from bruno_hil.emulator.keithley import STORED_2400


# -- SCPI numeric parameters -----------------------------------------------------------------
def test_unit_suffixes_and_numeric_keywords(raw: pyvisa.resources.MessageBasedResource) -> None:
    raw.write(":SOUR:VOLT 250mV")
    assert float(raw.query(":SOUR:VOLT?")) == 0.25
    raw.write(":SENS:CURR:PROT 10 uA")
    assert float(raw.query(":SENS:CURR:PROT?")) == 1e-5  # exactly, not 9.999999e-06
    raw.write(":SENS:CURR:PROT MAX")
    assert float(raw.query(":SENS:CURR:PROT?")) == 1.05
    raw.write(":SENS:CURR:NPLC MIN")
    assert float(raw.query(":SENS:CURR:NPLC?")) == 0.01
    raw.write(":SOUR:DEL DEF")
    assert float(raw.query(":SOUR:DEL?")) == 0.01
    assert error_queue(raw) == []


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (":SOUR:VOLT", -109),  # missing parameter
        (":SOUR:VOLT 1_0", -104),  # not a number (Python's float() would take it)
        (":SOUR:VOLT inf", -104),
        (":SOUR:VOLT 10 uA", -131),  # a current suffix on a voltage
        (":SOUR:VOLT 5 kV", -222),  # beyond the 21 V range
        (":SENS:CURR:NPLC 20", -222),
        (":SOUR:VOLT " + "1" * 100, -104),  # too long
        (":SOUR:FUNC CURR", -221),  # no current source emulated
        (":FORM:DATA REAL", -224),  # binary formats refused
    ],
)
def test_bad_parameters_get_the_standard_error(
    raw: pyvisa.resources.MessageBasedResource, command: str, code: int
) -> None:
    raw.write(command)
    errors = error_queue(raw)
    assert [int(e.split(",")[0]) for e in errors] == [code]
    assert len(errors[0]) < 200  # a bounded entry, whatever was sent
    assert float(raw.query(":SOUR:VOLT?")) == 0.0  # nothing applied


# -- IEEE 488.2 status -------------------------------------------------------------------------
def test_ieee488_status_registers(raw: pyvisa.resources.MessageBasedResource) -> None:
    assert int(raw.query("*ESR?")) & 0x80  # power on, then cleared by the read
    assert raw.query("*ESR?") == "0"
    raw.write("*ESE 60;*SRE 32")
    assert raw.query("*ESE?;*SRE?") == "60;32"
    assert raw.query("*STB?") == "0"
    raw.write(":NO:SUCH")  # command error: ESR bit 5
    stb = int(raw.query("*STB?"))
    assert stb & 4 and stb & 32 and stb & 64  # error queue, standard event, summary
    assert int(raw.query("*ESR?")) == 32
    raw.write("*OPC")
    assert raw.query("*ESR?") == "1"
    raw.write("*CLS")
    assert raw.query("*STB?") == "0"


def test_every_stored_setting_answers_its_query(raw: pyvisa.resources.MessageBasedResource) -> None:
    """The query of each setting the emulated 2400 accepts returns its value (a real
    instrument answers; clients such as QCoDeS read them back)."""
    for entry in STORED_2400:
        required = re.sub(r"\[[^]]*\]", "", entry.pattern)  # the short form, no optional nodes
        header = ":" + "".join(c for c in required if not c.islower())
        reply = raw.query(f"{header}?")
        assert reply == entry.reply(entry.default), header
    raw.write(":SENS:CURR:RANG 1e-6;:SYST:BEEP OFF;:ROUT:TERM REAR;:TRIG:DEL 5ms")
    assert raw.query(":SENS:CURR:RANG?;:SYST:BEEP?;:ROUT:TERM?") == "+1.000000000E-06;0;REAR"
    assert float(raw.query(":TRIG:DEL?")) == 0.005
    for query in (":SOUR:VOLT:STAR?", ":SOUR:VOLT:STOP?", ":SOUR:VOLT:STEP?", ":ARM:COUN?"):
        assert raw.query(query)
    assert error_queue(raw) == []
    raw.write("*RST")
    assert raw.query(":SENS:CURR:RANG?;:SYST:BEEP?") == "+1.050000000E-04;1"


# -- pymeasure ---------------------------------------------------------------------------------
def test_pymeasure_keithley2400_iv_sweep_with_compliance(smu_server: ScpiServer) -> None:
    """pymeasure's own driver: a 49-point bipolar sweep point by point holds the
    compliance it set, SETs the cell and reads back the settings it wrote."""
    from pymeasure.instruments.keithley import Keithley2400

    smu = Keithley2400(smu_server.resource, read_termination="\n")
    smu.reset()
    smu.source_mode = "voltage"
    smu.source_voltage_range = 2
    smu.compliance_current = 50e-6
    smu.current_nplc = 1
    smu.current_range = 1e-4
    assert smu.current_range == pytest.approx(1e-4)
    assert smu.compliance_current == pytest.approx(50e-6)
    assert smu.source_voltage_range == pytest.approx(2)
    smu.source_delay = 0.02
    smu.enable_source()
    i = stepped_currents(smu)
    smu.shutdown()
    assert smu.check_errors() == []
    smu.adapter.close()
    assert np.abs(i).max() <= 50e-6 * (1 + 1e-6)
    assert np.abs(i).max() > 0.99 * 50e-6  # it SET and hit the compliance
    assert i[-1] / i[0] > 10  # 0.05 V: HRS before, LRS after


def test_pymeasure_keithley2400_buffer_path(smu_server: ScpiServer) -> None:
    """pymeasure's buffer path: config_buffer (status enable, SRQ on buffer full),
    start_buffer, wait_for_buffer (``*STB?``), buffer_data (``:TRAC:DATA?``) and the
    ``:CALC3`` statistics."""
    from pymeasure.instruments.keithley import Keithley2400

    smu = Keithley2400(smu_server.resource, read_termination="\n")
    smu.reset()
    smu.source_mode = "voltage"
    smu.compliance_current = 1e-4
    smu.source_voltage = 0.1
    smu.enable_source()
    smu.config_buffer(points=10)
    assert smu.buffer_points == 10
    assert not smu.is_buffer_full()
    smu.start_buffer()
    smu.wait_for_buffer(timeout=5, interval=0.01)
    data = smu.buffer_data.reshape(10, 5)  # V, I, R, TIME, STAT
    np.testing.assert_allclose(data[:, 0], 0.1, rtol=1e-3)
    assert np.all(data[:, 1] > 0) and np.all(np.diff(data[:, 3]) >= 0)
    np.testing.assert_allclose(smu.mean_current, data[:, 1].mean(), rtol=1e-6)
    np.testing.assert_allclose(smu.maximums[1], data[:, 1].max(), rtol=1e-6)
    np.testing.assert_allclose(smu.standard_devs[1], data[:, 1].std(ddof=1), rtol=1e-5, atol=1e-15)
    smu.arm_count, smu.trigger_count = 2, 5
    assert smu.ask(":ARM:COUN?;:TRIG:COUN?") == "2;5"
    smu.reset_buffer()
    smu.disable_buffer()
    assert smu.check_errors() == []
    smu.shutdown()
    smu.adapter.close()


# -- QCoDeS ------------------------------------------------------------------------------------
def test_qcodes_keithley2400_sweep_with_compliance(smu_server: ScpiServer) -> None:
    """QCoDeS's own driver: its constructor, the settings it reads back (``sense()``,
    ``rangev()``, ``nplci()``, which timed out before), and a swept measurement into a
    QCoDeS dataset (``do1d``) holding the compliance."""
    from qcodes.dataset import do1d, initialise_or_create_database_at, load_or_create_experiment
    from qcodes.instrument_drivers.Keithley import Keithley2400

    smu = Keithley2400("smu2400", smu_server.resource, terminator="\n", pyvisa_sim_file=None)
    try:
        smu.mode("VOLT")
        assert smu.sense() == '"CURR:DC"'
        smu.rangev(2.0)
        assert smu.rangev() == 2.0
        smu.compliancei(20e-6)
        assert smu.compliancei() == 20e-6
        smu.nplci(0.1)
        assert smu.nplci() == 0.1
        smu.output(1)
        assert smu.output() == 1
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            initialise_or_create_database_at(f"{tmp}/iv.db")
            load_or_create_experiment("iv", sample_name="emulated RRAM")
            dataset, _, _ = do1d(smu.volt, 0.05, 1.2, 24, 0.0, smu.curr, do_plot=False)
            data = dataset.get_parameter_data()["smu2400_curr"]
            v, i = data["smu2400_volt"], data["smu2400_curr"]
            dataset.conn.close()
        assert len(i) == 24
        np.testing.assert_allclose(v, np.linspace(0.05, 1.2, 24), rtol=1e-3)
        assert np.abs(i).max() <= 20e-6 * (1 + 1e-6) and np.abs(i).max() > 0.99 * 20e-6
        smu.output(0)
    finally:
        smu.close()
