"""The emulated Keithley 2450 as third-party clients drive it, through the real pyvisa +
pyvisa-py stack on 127.0.0.1: its native SCPI dialect (``ILIM``, ``:READ?`` returning one
reading, named buffers, the linear sweep), ``*LANG`` switching to the 2400's, and
pymeasure's and QCoDeS's own Keithley 2450 drivers running I-V sweeps with compliance."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np
import pytest
import pyvisa
from scpi_session import error_queue, stepped_currents

from bruno_hil.emulator import ScpiServer, make_instrument


@pytest.fixture
def smu_server() -> Iterator[ScpiServer]:
    """A Keithley 2450 instead of conftest's 2400 (``raw`` opens a session on it)."""
    with ScpiServer(make_instrument("rram", smu="2450")) as served:
        yield served


def test_native_dialect_buffers_and_language(raw: pyvisa.resources.MessageBasedResource) -> None:
    assert raw.query("*LANG?") == "SCPI" and "2450" in raw.query("*IDN?")
    raw.write(':SOUR:FUNC VOLT;:SOUR:VOLT:ILIM 20uA;:SENS:FUNC "CURR";:OUTP ON')
    assert float(raw.query(":SOUR:VOLT:ILIM?")) == 2e-5
    assert raw.query(":SENS:FUNC?") == '"CURR:DC"'
    raw.write(":SOUR:VOLT 0.1;:SENS:COUN 3")
    hrs = float(raw.query(":READ?"))  # one reading: the last of the three
    assert 0 < hrs < 1e-6
    assert raw.query(":TRAC:ACT? 'defbuffer1'") == "3"
    assert raw.query(":SOUR:VOLT:ILIM:TRIP?") == "0"
    raw.write(":TRAC:MAKE 'iv', 100")
    raw.write(":SOUR:SWE:VOLT:LIN 0.05, 1.2, 24, 0, 1, AUTO, ON, ON, 'iv'")  # dual: and back
    raw.write(":INIT;*WAI")
    assert raw.query(":TRAC:ACT? 'iv'") == "48"
    i = np.array([float(x) for x in raw.query(":TRAC:DATA? 1, 48, 'iv'").split(",")])
    assert np.abs(i).max() <= 2e-5 * (1 + 1e-6) and np.abs(i).max() > 0.99 * 2e-5  # it SET
    fields = raw.query(":TRAC:DATA? 48, 48, 'iv', READ, SOUR, REL, UNIT, SOURSTAT").split(",")
    assert float(fields[0]) == i[-1] and 0.04 < float(fields[1]) <= 0.05  # across the cell
    assert float(fields[2]) > 0 and fields[3] == "Amp DC" and int(fields[4]) & 128  # output on
    assert float(raw.query(":TRAC:STAT:MAX? 'iv'")) == i.max()
    raw.write(":TRAC:DATA? 1, 2, 'iv', DATE")  # clock elements are refused
    raw.write(":TRAC:MAKE 'iv', 10")  # exists
    raw.write(":SOUR:VOLT:ILIM")  # missing parameter
    assert [int(e.split(",")[0]) for e in error_queue(raw)] == [-224, -221, -109]
    raw.write("*LANG SCPI2400")  # the 2400's dialect, the same cell
    assert raw.query("*LANG?") == "SCPI2400" and "2400" in raw.query("*IDN?")
    raw.write(":FORM:ELEM CURR;:SOUR:VOLT 0.05")
    assert float(raw.query(":READ?")) > 10 * hrs  # still SET: LRS
    raw.write("*RST;*LANG TSP")
    assert raw.query("*LANG?") == "SCPI2400"  # kept by *RST; TSP refused
    assert error_queue(raw)[0].startswith("-224")


def test_pymeasure_keithley2450_iv_sweep_with_compliance(smu_server: ScpiServer) -> None:
    """pymeasure's own 2450 driver: the compliance (``ILIM``) it sets is applied and
    read back, ``current`` is one reading, a point-by-point sweep SETs the cell."""
    from pymeasure.instruments.keithley import Keithley2450

    smu = Keithley2450(smu_server.resource, read_termination="\n")
    smu.reset()
    smu.source_mode = "voltage"
    smu.source_voltage_range = 2
    smu.compliance_current = 30e-6
    smu.current_range = 1e-4
    smu.current_nplc = 0.1
    assert smu.compliance_current == pytest.approx(30e-6)
    assert smu.current_range == pytest.approx(1e-4) and smu.current_nplc == pytest.approx(0.1)
    smu.enable_source()
    i = stepped_currents(smu)
    # the 2450's :TRAC:STAT:AVER? is one value, of the readings (pymeasure's mean_current
    # indexes it as a list; its means property reads it)
    assert smu.means == pytest.approx(np.mean(i), rel=1e-6)
    smu.shutdown()
    assert smu.check_errors() == []
    smu.adapter.close()
    assert np.abs(i).max() <= 30e-6 * (1 + 1e-6) and np.abs(i).max() > 0.99 * 30e-6
    assert i[-1] / i[0] > 10  # 0.05 V: HRS before, LRS after


def test_qcodes_keithley2450_sweep_with_compliance(smu_server: ScpiServer) -> None:
    """QCoDeS's own 2450 driver: its constructor (``*LANG?``), source and sense modules,
    and its buffer-backed sweep (``:SOUR:SWE:VOLT:LIN``, ``:INIT``, ``:TRAC:DATA?``)
    measured into a QCoDeS dataset (``do0d``) within the current limit."""
    from qcodes.dataset import do0d, initialise_or_create_database_at, load_or_create_experiment
    from qcodes.instrument_drivers.Keithley import Keithley2450

    smu = Keithley2450("smu2450", smu_server.resource, terminator="\n")
    try:
        smu.reset()
        smu.source_function("voltage")
        smu.sense_function("current")
        smu.source.limit(20e-6)
        assert smu.source.limit() == pytest.approx(20e-6)
        smu.sense.nplc(0.1)
        assert float(smu.sense.nplc()) == 0.1  # QCoDeS returns the reply text
        smu.sense.range(1e-4)
        assert smu.sense.range() == pytest.approx(1e-4)
        smu.source.sweep_setup(0.05, 1.2, 24)
        smu.output_enabled(True)
        with tempfile.TemporaryDirectory() as tmp:
            initialise_or_create_database_at(f"{tmp}/iv.db")
            load_or_create_experiment("iv", sample_name="emulated RRAM")
            dataset, _, _ = do0d(smu.sense.sweep, do_plot=False)
            data = dataset.get_parameter_data()["smu2450_sense_sweep"]
            v = data["smu2450_source_sweep_axis"].ravel()
            i = data["smu2450_sense_sweep"].ravel()
            dataset.conn.close()
        np.testing.assert_allclose(v, np.linspace(0.05, 1.2, 24))
        assert len(i) == 24
        assert np.abs(i).max() <= 20e-6 * (1 + 1e-6) and np.abs(i).max() > 0.99 * 20e-6
        assert i[0] < 1e-6  # HRS at 0.05 V before the SET
        smu.output_enabled(False)
    finally:
        smu.close()
