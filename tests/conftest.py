"""Fixtures shared by the SCPI emulator tests: an emulated SMU served on 127.0.0.1 and a
raw pyvisa session on it (a module may override ``smu_server`` with another SMU)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvisa
from scpi_session import raw_session

from bruno_hil.emulator import EmulatedSmu, ScpiServer


@pytest.fixture
def smu_server() -> Iterator[ScpiServer]:
    """An emulated Keithley 2400 with an RRAM cell, served for the test."""
    with ScpiServer(EmulatedSmu()) as server:
        yield server


@pytest.fixture
def raw(smu_server: ScpiServer) -> Iterator[pyvisa.resources.MessageBasedResource]:
    """A raw pyvisa-py session on ``smu_server``."""
    with raw_session(smu_server.resource) as session:
        yield session
