"""A SCPI instrument emulator whose device under test is the ngspice compact model.

``bruno-hil emulate --device rram|fecap|felif`` serves, on 127.0.0.1, a Keithley
2400-class SMU with an RRAM cell (:mod:`.keithley`; ``--smu 2450``: a 2450 speaking its own
dialect or the 2400's, :mod:`.keithley2450`), a ferroelectric tester with a FeCap
(:mod:`.tester`; ``--scope-port``: with an oscilloscope watching it, :mod:`.scope`) or a
neuron tester with a FeLIF neuron circuit (:mod:`.neuron`), over a
raw SCPI socket (:mod:`.server`), with optional faults (:mod:`.faults`). The device keeps
its state between commands (:mod:`.dut`; the neuron rests between runs), so the pyvisa
drivers of :mod:`bruno_hil.instruments` meet real hysteresis, switching and compliance.
The SCPI core (headers, error queue) is :mod:`.scpi`.
"""

from __future__ import annotations

from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.emulator.faults import Fault, FaultPlan, FaultSpecError, parse_fault
from bruno_hil.emulator.keithley import EmulatedSmu
from bruno_hil.emulator.keithley2450 import EmulatedSmu2450
from bruno_hil.emulator.neuron import EmulatedNeuronTester
from bruno_hil.emulator.scope import EmulatedScope
from bruno_hil.emulator.scpi import EmulatedInstrument
from bruno_hil.emulator.server import HOST, ScpiServer
from bruno_hil.emulator.tester import EmulatedTester
from bruno_hil.errors import BrunoHilError

DEVICES: tuple[str, ...] = ("rram", "fecap", "felif")
"""What ``--device`` accepts: ``rram`` (behind an SMU), ``fecap`` (on a tester),
``felif`` (a FeLIF neuron on a neuron tester)."""
SMUS: tuple[str, ...] = ("2400", "2450")
"""What ``--smu`` accepts: the SMU model an ``rram`` device sits behind."""


def make_instrument(
    device: str, overrides: list[str] | None = None, smu: str = "2400"
) -> EmulatedInstrument:
    """The emulated instrument of ``device`` with its parameters (``name=value``
    overrides, SI units, as ``--param`` takes them); an ``rram`` cell sits behind the
    SMU model ``smu``."""
    if smu not in SMUS:
        raise BrunoHilError(f"--smu {smu!r}: choose one of {', '.join(SMUS)}")
    if device == "rram":
        smu_class = EmulatedSmu2450 if smu == "2450" else EmulatedSmu
        return smu_class(RRAMParams().with_overrides(overrides or []))
    if device == "fecap":
        return EmulatedTester(FeCapParams().with_overrides(overrides or []))
    if device == "felif":
        return EmulatedNeuronTester(FeCapParams().with_overrides(overrides or []))
    raise BrunoHilError(f"--device {device!r}: choose one of {', '.join(DEVICES)}")


def make_server(
    device: str,
    port: int = 0,
    faults: list[str] | None = None,
    params: list[str] | None = None,
    smu: str = "2400",
    watchdog: bool = False,
) -> ScpiServer:
    """A (not yet started) server of ``device`` (behind the SMU model ``smu``) on ``port``
    (0: a free one), with the ``--fault`` specs ``faults`` and the ``--watchdog``; a port
    that cannot be bound raises a clear error."""
    plan = FaultPlan.parse(faults)
    instrument = make_instrument(device, params, smu)
    try:
        return ScpiServer(instrument, port, plan, watchdog=watchdog)
    except OSError as err:
        raise BrunoHilError(f"--port {port}: cannot serve on {HOST}:{port}: {err}") from None


def make_scope_server(awg: ScpiServer, port: int = 0) -> ScpiServer:
    """A (not yet started) oscilloscope server on ``port`` watching the tester that
    ``awg`` serves (the AWG + scope FeCap bench, :mod:`.scope`)."""
    if not isinstance(awg.instrument, EmulatedTester):
        raise BrunoHilError("--scope-port: the scope watches a fecap tester (--device fecap)")
    try:
        return ScpiServer(EmulatedScope(awg.instrument), port)
    except OSError as err:
        raise BrunoHilError(f"--scope-port {port}: cannot serve on {HOST}:{port}: {err}") from None


__all__ = [
    "DEVICES",
    "HOST",
    "SMUS",
    "EmulatedNeuronTester",
    "EmulatedScope",
    "EmulatedSmu",
    "EmulatedSmu2450",
    "EmulatedTester",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "ScpiServer",
    "make_instrument",
    "make_scope_server",
    "make_server",
    "parse_fault",
]
