"""Drivers of real bench instruments on pyvisa (``@py`` backend by default).

* :mod:`.scpi`: the SCPI base (timeouts, termination, error-queue checks, retries,
  output off and ``*RST`` on close or on any exception);
* :mod:`.limits`: :class:`SafetyLimits`, checked before anything is sent;
* :mod:`.smu`: Keithley 2400/2450-class source-measure unit (the RRAM bench);
* :mod:`.tester`: ferroelectric tester, an arbitrary waveform source + digitizer (the
  FeCap bench);
* :mod:`.neuron`: neuron tester, a current-list source + spike counter (the neuron bench
  of ``train --chip visa://...``).

:func:`open_instrument` opens a resource and returns the driver its ``*IDN?`` names.
The SCPI emulator that stands in for them in tests is :mod:`bruno_hil.emulator`.
"""

from __future__ import annotations

from bruno_hil.instruments.errors import (
    InstrumentCommandError,
    InstrumentConnectionError,
    InstrumentError,
    InstrumentLimitError,
    InstrumentResponseError,
    InstrumentTimeoutError,
)
from bruno_hil.instruments.limits import SMU_LIMITS, TESTER_LIMITS, SafetyLimits
from bruno_hil.instruments.neuron import (
    NEURON_LIMITS,
    NeuronLimits,
    NeuronMeasurement,
    NeuronTester,
)
from bruno_hil.instruments.scpi import RetryPolicy, ScpiInstrument
from bruno_hil.instruments.smu import Keithley2400
from bruno_hil.instruments.tester import FeTester

DRIVERS: tuple[type[Keithley2400] | type[FeTester], ...] = (Keithley2400, FeTester)


def open_instrument(
    resource: str,
    *,
    backend: str = "@py",
    retry: RetryPolicy | None = None,
    smu_limits: SafetyLimits | None = None,
    tester_limits: SafetyLimits | None = None,
) -> Keithley2400 | FeTester:
    """Open ``resource`` (pyvisa ``backend``), ask ``*IDN?`` and return the matching
    driver (with its limits); :class:`InstrumentError` if no driver knows the instrument."""
    probe = ScpiInstrument(resource, backend=backend, retry=retry)
    probe.safe_state_commands = ()
    try:
        idn = probe.identify()
    finally:
        probe.close()
    if Keithley2400.matches(idn):
        return Keithley2400(resource, smu_limits, backend=backend, retry=retry)
    if FeTester.matches(idn):
        return FeTester(resource, tester_limits, backend=backend, retry=retry)
    raise InstrumentError(
        f"{resource}: no driver for the instrument {idn!r}; known: a Keithley 2400/2450-class"
        " SMU (RRAM bench) and a ferroelectric tester (FeCap bench)"
    )


__all__ = [
    "DRIVERS",
    "NEURON_LIMITS",
    "SMU_LIMITS",
    "TESTER_LIMITS",
    "FeTester",
    "InstrumentCommandError",
    "InstrumentConnectionError",
    "InstrumentError",
    "InstrumentLimitError",
    "InstrumentResponseError",
    "InstrumentTimeoutError",
    "Keithley2400",
    "NeuronLimits",
    "NeuronMeasurement",
    "NeuronTester",
    "RetryPolicy",
    "SafetyLimits",
    "ScpiInstrument",
    "open_instrument",
]
