"""The emulator's device under test: the ngspice compact model, with a memory.

A real device keeps its state between measurements; :class:`NgspiceBackend` starts every
call from the parameters' initial state. The classes here carry the state across calls:

* :class:`RRAMDut`: the gap and the source level. Each command's setpoints run as one
  :meth:`NgspiceBackend.rram_dc_sweep` (a ramp through the setpoints) that starts at the
  level and the gap the previous one ended with (the gap is the model's only state, set
  by ``.ic``), so a sweep split into several list sweeps or single points sees the
  physics of one continuous sweep, and a stepped sweep of N points costs O(N) (it once
  re-simulated the whole path since the last 0 V at every reading: O(N^2)). When the
  output goes off the source ramps to 0 V. Pulse trains run as
  :meth:`NgspiceBackend.rram_pulses` from the gap at 0 V (a train starts and ends at 0 V).
* :class:`FeCapDut`: the polarization, passed as the instance's ``p_init`` of the next
  waveform (a waveform is one simulation).

Every voltage the device is driven to is recorded in :attr:`applied_V` (for the safety
tests: the record of what the device saw). One lock serialises the ngspice calls of all
emulated devices in this process (ngspice's shared library is one instance per process).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pandas as pd

from bruno_hil.characterize.ngspice_backend import BenchSettings, NgspiceBackend, RRAMDrive
from bruno_hil.devices.compact import fecap_instance
from bruno_hil.devices.params import FeCapParams, RRAMParams

NGSPICE_LOCK = threading.Lock()
"""Held around every ngspice call of the emulator."""
FECAP_CHUNK_POINTS = 4000
"""Longest piece of a FeCap waveform simulated in one ngspice run (see
:meth:`FeCapDut.waveform`)."""


class RRAMDut:
    """An RRAM cell behind an SMU's compliance limiter (see the module)."""

    def __init__(self, params: RRAMParams | None = None) -> None:
        self.params = params or RRAMParams()
        self.gap_m = self.params.g_init_m
        """The gap [m] at the end of the last drive."""
        self.level_V = 0.0
        """The source level [V] at the end of the last drive."""
        self.clock_s = 0.0
        """Simulated time [s] the source has been driven (the ``time_s`` of the rows)."""
        self.applied_V: list[float] = []

    def _state(self) -> RRAMParams:
        return self.params.replace(
            source="emulator state",
            g_init_m=float(np.clip(self.gap_m, self.params.g_min_m, self.params.g_max_m)),
        )

    def apply(self, setpoints_V: list[float], compliance_A: float, delay_s: float) -> pd.DataFrame:
        """Step the source from its level through ``setpoints_V`` [V] (each step of the
        median step size takes ``delay_s`` [s]); the rows of these setpoints
        (``voltage_V``, ``device_voltage_V``, ``current_A``, ``gap_m``, ``time_s``)."""
        self.applied_V += setpoints_V
        steps = np.abs(np.diff([self.level_V, *setpoints_V]))
        step = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 0.01
        backend = _ContinuingRRAMBench(self.level_V, step / delay_s)
        with NGSPICE_LOCK:
            data = backend.rram_dc_sweep(np.asarray(setpoints_V), compliance_A, self._state())
        self.gap_m, self.level_V = float(data["gap_m"].iloc[-1]), float(setpoints_V[-1])
        data["time_s"] += self.clock_s
        self.clock_s = float(data["time_s"].iloc[-1])
        return data

    def rest(self, compliance_A: float, delay_s: float) -> None:
        """The source goes to 0 V (output off)."""
        if self.level_V != 0.0:
            self.apply([0.0], compliance_A, delay_s)
            self.applied_V.pop()

    def pulses(
        self, amplitude_V: list[float], width_s: float, read_V: float, compliance_A: float
    ) -> pd.DataFrame:
        """A pulse train from 0 V, each pulse followed by a read at ``read_V`` [V]; the
        rows of :meth:`NgspiceBackend.rram_pulses`. The source must rest at 0 V."""
        self.applied_V += [*amplitude_V, read_V]
        with NGSPICE_LOCK:
            data = NgspiceBackend().rram_pulses(
                np.asarray(amplitude_V), width_s, read_V, self._state(), compliance_A
            )
        self.gap_m = float(data["gap_m"].iloc[-1])
        return data


class _ContinuingRRAMBench(NgspiceBackend):
    """:class:`NgspiceBackend` whose DC ramp starts at ``start_V`` [V] (the source's
    present level) instead of 0 V, at ``rate_V_per_s``."""

    def __init__(self, start_V: float, rate_V_per_s: float) -> None:
        super().__init__(BenchSettings(sweep_rate_V_per_s=rate_V_per_s))
        self.start_V = start_V

    def dc_drive(self, voltage_V: np.ndarray) -> RRAMDrive:
        """The ramp of :meth:`NgspiceBackend.dc_drive` through ``start_V`` and then
        ``voltage_V``, without its first leg from 0 V (the time axis starts at
        ``start_V``); sampled at each of ``voltage_V``."""
        drive = super().dc_drive(np.concatenate([[self.start_V], voltage_V]))
        t0 = drive.points[1, 0]
        points = drive.points[1:] - np.array([t0, 0.0])
        return replace(drive, points=points, sample_s=drive.sample_s[1:] - t0)


class FeCapDut:
    """A ferroelectric capacitor on a tester (see the module)."""

    def __init__(self, params: FeCapParams | None = None) -> None:
        self.params = params or FeCapParams()
        self.p_fraction = -1.0
        """Polarization as a fraction of P_s (starts at -P_s)."""
        self.applied_V: list[float] = []

    def waveform(self, time_s: np.ndarray, voltage_V: np.ndarray) -> pd.DataFrame:
        """Drive the waveform from the present polarization: the columns of
        :meth:`NgspiceBackend.fecap_waveform`. A long waveform is simulated in pieces of
        :data:`FECAP_CHUNK_POINTS` points, the polarization and the integrated charge
        carried across (ngspice scans a PWL source linearly at every step, so one piece
        of N points costs ~N^2: 20k points took 7 s, 50k 37 s)."""
        self.applied_V += [float(voltage_V.min()), float(voltage_V.max())]
        pieces = []
        for start in range(0, time_s.size - 1, FECAP_CHUNK_POINTS - 1):
            stop = min(start + FECAP_CHUNK_POINTS, time_s.size)
            pieces.append(self._piece(time_s[start:stop], voltage_V[start:stop], pieces))
        return pd.concat(pieces, ignore_index=True)

    def _piece(
        self, time_s: np.ndarray, voltage_V: np.ndarray, before: list[pd.DataFrame]
    ) -> pd.DataFrame:
        """One piece from the present polarization, continuing the pieces ``before`` (its
        first point is their last one)."""
        backend = _StatefulFeCapBench(self.p_fraction)
        with NGSPICE_LOCK:
            data = backend.fecap_waveform(time_s - time_s[0], voltage_V, self.params)
        p_end = float(data["model_polarization_C_per_m2"].iloc[-1]) / self.params.p_s_C_per_m2
        self.p_fraction = float(np.clip(p_end, -1.0, 1.0))
        data["time_s"] = time_s
        if not before:
            return data
        data["charge_C"] += before[-1]["charge_C"].iloc[-1]
        return data.iloc[1:]  # its first point starts from ngspice's operating point


class _StatefulFeCapBench(NgspiceBackend):
    """:class:`NgspiceBackend` whose FeCap starts at polarization ``p_init`` (P/P_s)."""

    def __init__(self, p_init: float) -> None:
        super().__init__()
        self.p_init = p_init

    def fecap_netlist(
        self,
        time_s: np.ndarray,
        voltage_V: np.ndarray,
        params: FeCapParams,
        tmax_s: float | None = None,
    ) -> str:
        netlist = super().fecap_netlist(time_s, voltage_V, params, tmax_s)
        default = fecap_instance("Xdut", "top", "0", params)
        if netlist.count(default) != 1:  # pragma: no cover - a change of the testbench
            raise RuntimeError("the FeCap testbench no longer holds one Xdut instance line")
        return netlist.replace(
            default, fecap_instance("Xdut", "top", "0", params, p_init=self.p_init)
        )


__all__ = ["FECAP_CHUNK_POINTS", "NGSPICE_LOCK", "FeCapDut", "RRAMDut"]
