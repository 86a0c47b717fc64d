"""Any VISA library behind ``visa://``: the address syntax (``?library=``), the shipped
pyvisa-sim devices driven by the bruno-hil drivers through the real pyvisa-sim, and the
library reaching pyvisa from a ``chip`` setting and from ``characterize --chip``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bruno_hil.characterize.open import BackendUnavailableError, open_backend
from bruno_hil.chip.open import open_chip
from bruno_hil.chip.settings import HilConfig
from bruno_hil.chip.spec import parse_chip
from bruno_hil.instruments import InstrumentCommandError, Keithley2400, open_instrument
from bruno_hil.instruments.address import parse_visa_address
from bruno_hil.settings import SettingsError

SIM_YAML = Path(__file__).parents[1] / "bruno_hil" / "instruments" / "sim" / "bench.yaml"
SIM = f"{SIM_YAML}@sim"


def test_visa_address_names_a_library() -> None:
    assert parse_visa_address("TCPIP0::127.0.0.1::5025::SOCKET") == (
        "TCPIP0::127.0.0.1::5025::SOCKET",
        "@py",
    )
    assert parse_visa_address("GPIB0::24::INSTR?library=@ivi") == ("GPIB0::24::INSTR", "@ivi")
    chip = parse_chip(f"visa://GPIB0::24::INSTR?library={SIM}")
    assert (chip.backend, chip.resource, chip.library) == ("visa", "GPIB0::24::INSTR", SIM)
    with pytest.raises(SettingsError, match=r"unknown option '\?backend=@sim'"):
        parse_visa_address("GPIB0::24::INSTR?backend=@sim")
    with pytest.raises(SettingsError, match="give the VISA resource"):
        parse_visa_address("GPIB0::24::INSTR?library=")


def test_the_shipped_pyvisa_sim_smu_runs_the_driver() -> None:
    """The SMU of ``bench.yaml`` through pyvisa-sim: identified, configured (its range
    and compliance read back), one reading; a command it does not know is an error."""
    smu = open_instrument("GPIB0::24::INSTR", backend=SIM)
    assert isinstance(smu, Keithley2400)
    try:
        smu.configure(2e-5)
        assert smu.query(":SENS:CURR:PROT?", float) == 2e-5
        smu.set_voltage(0.1)
        smu.output(True)
        assert smu.measure() == (0.1, 1e-7)
        with pytest.raises(InstrumentCommandError, match="-113"):
            smu._write(":SOUR:VOLT:MODE LIST")  # raw, checked write: not in the dialogues
    finally:
        smu.close()


def test_the_library_reaches_pyvisa_from_the_settings() -> None:
    """``chip = visa://...?library=<yaml>@sim`` opens the simulated SMU (which answers,
    and is refused as not a neuron bench); ``characterize --chip`` with a bad option is a
    clear error."""
    with pytest.raises(SettingsError, match=r"PYVISA-SIM.*is not a neuron tester"):
        open_chip(f"visa://GPIB0::24::INSTR?library={SIM}", HilConfig(layers=("output",)))
    with pytest.raises(BackendUnavailableError, match=r"--chip visa://.*unknown option"):
        open_backend("visa://GPIB0::24::INSTR?lib=@sim")
