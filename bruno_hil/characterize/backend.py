"""The measurement interface of the characterization testbenches.

A :class:`MeasurementBackend` applies a waveform to one device and records what an
instrument would: a ferroelectric tester (or waveform source + digitizer) for the FeCap,
a source-measure unit for the RRAM cell. :class:`~bruno_hil.characterize.ngspice_backend.
NgspiceBackend` does it on the compact models, :class:`~bruno_hil.characterize.
visa_backend.VisaBackend` on real instruments through pyvisa;
:func:`~bruno_hil.characterize.open.open_backend` chooses one by ``--chip``. The drives
they take are built and checked in :mod:`bruno_hil.characterize.stimulus`. Every
quantity is in SI units and every DataFrame column carries its unit in its name. A backend
may add columns; the listed ones are required.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from bruno_hil.characterize.stimulus import PulseShape
from bruno_hil.devices.params import FeCapParams, RRAMParams

FECAP_COLUMNS: tuple[str, ...] = ("time_s", "voltage_V", "current_A", "charge_C")
"""Required columns of :meth:`MeasurementBackend.fecap_waveform`."""
RRAM_DC_COLUMNS: tuple[str, ...] = ("voltage_V", "current_A")
"""Required columns of :meth:`MeasurementBackend.rram_dc_sweep`."""
RRAM_PULSE_COLUMNS: tuple[str, ...] = (
    "pulse",
    "amplitude_V",
    "read_current_A",
    "conductance_S",
)
"""Required columns of :meth:`MeasurementBackend.rram_pulses`."""


@runtime_checkable
class MeasurementBackend(Protocol):
    """One device on a test bench. State persists *within* a call (a sweep, a pulse train)
    and each call starts from the device's initial state given by ``params`` (FeCap:
    P = -P_s; RRAM: gap ``g_init_m``)."""

    plays_nonuniform_waveforms: bool
    """Whether :meth:`fecap_waveform` plays any sample times (a simulator) or only a
    uniform grid (a waveform generator): then the fast edges of switching-kinetics pulses
    cannot be played."""

    @property
    def pulse_shape(self) -> PulseShape:
        """The timing of this bench's programming pulses and reads."""
        ...

    def fecap_waveform(
        self, time_s: np.ndarray, voltage_V: np.ndarray, params: FeCapParams
    ) -> pd.DataFrame:
        """Drive the FeCap's top plate with the piecewise-linear waveform through the
        points (``time_s`` [s], increasing from 0; ``voltage_V`` [V]), bottom plate at
        ground, and sample at ``time_s``: columns ``time_s``, ``voltage_V`` (applied),
        ``current_A`` (into the top plate) and ``charge_C`` (its time integral from t = 0:
        switched plus dielectric charge, plus the leakage, as a Sawyer-Tower circuit or a
        ferroelectric tester measures it)."""
        ...

    def rram_dc_sweep(
        self, voltage_V: np.ndarray, compliance_A: float, params: RRAMParams
    ) -> pd.DataFrame:
        """Step the source through the setpoints ``voltage_V`` [V] in order (the state
        carries through the sweep) with current compliance ``compliance_A`` [A] in both
        polarities; one row per setpoint: ``voltage_V`` (setpoint) and ``current_A``
        (through the cell, top to bottom; ``|current_A| <= compliance_A``)."""
        ...

    def rram_pulses(
        self,
        amplitude_V: np.ndarray,
        width_s: float,
        read_V: float,
        params: RRAMParams,
        compliance_A: float,
    ) -> pd.DataFrame:
        """Apply one programming pulse per entry of ``amplitude_V`` [V], each ``width_s``
        [s] long, and read the cell at ``read_V`` [V] after each (the state carries across
        pulses); one row per pulse: ``pulse`` (1-based), ``amplitude_V``,
        ``read_current_A`` and ``conductance_S`` (read current / the voltage across the
        cell during the read: ``read_V`` less any drop in the bench's series elements, as a
        four-wire read measures it)."""
        ...

    def check_limits(
        self,
        device: str,
        voltage_V: np.ndarray,
        compliance_A: float | None = None,
        width_s: float | None = None,
    ) -> None:
        """Refuse a whole run on ``device`` (``fecap`` or ``rram``) before its first
        command: every voltage [V] any of its parts will apply, its current compliance [A]
        and programming pulse width [s] (a bench checks its safety limits; a simulator
        has none)."""
        ...

    def close(self) -> None:
        """Release the instrument or simulator (idempotent)."""
        ...


__all__ = [
    "FECAP_COLUMNS",
    "RRAM_DC_COLUMNS",
    "RRAM_PULSE_COLUMNS",
    "MeasurementBackend",
]
