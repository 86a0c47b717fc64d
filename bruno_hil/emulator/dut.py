"""The emulator's device under test: the ngspice compact model, with a memory.

A real device keeps its state between measurements; :class:`NgspiceBackend` starts every
call from the parameters' initial state. The classes here carry the state across calls:

* :class:`RRAMDut`: the gap. While the source output is on, the setpoints applied since
  the source last rested at 0 V form one *path*; every measurement re-simulates that path
  from the gap it started with (replay), as one :meth:`NgspiceBackend.rram_dc_sweep`
  (a ramp through the setpoints), so a sweep split into several list sweeps or single
  points sees exactly the physics of one continuous sweep. At a 0 V setpoint (and when
  the output goes off, which ramps the source to 0 V) the gap is committed and the path
  restarts. Pulse trains run as :meth:`NgspiceBackend.rram_pulses` from the committed gap
  (a train starts and ends at 0 V).
* :class:`FeCapDut`: the polarization, passed as the instance's ``p_init`` of the next
  waveform (a waveform is one simulation).

Every voltage the device is driven to is recorded in :attr:`applied_V` (for the safety
tests: the record of what the device saw). One lock serialises the ngspice calls of all
emulated devices in this process (ngspice's shared library is one instance per process).
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from bruno_hil.characterize.ngspice_backend import BenchSettings, NgspiceBackend
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
        """The committed gap [m] (at the start of the present path)."""
        self.path_V: list[float] = []
        self.applied_V: list[float] = []

    def _sweep(self, path_V: list[float], compliance_A: float, rate_V_per_s: float) -> pd.DataFrame:
        params = self.params.replace(
            source="emulator state",
            g_init_m=float(np.clip(self.gap_m, self.params.g_min_m, self.params.g_max_m)),
        )
        backend = NgspiceBackend(BenchSettings(sweep_rate_V_per_s=rate_V_per_s))
        path = path_V if len(path_V) > 1 else [*path_V, *path_V]
        with NGSPICE_LOCK:
            data = backend.rram_dc_sweep(np.asarray(path), compliance_A, params)
        return data.iloc[-len(path_V) :] if len(path_V) > 1 else data.iloc[-1:]

    def apply(self, setpoints_V: list[float], compliance_A: float, delay_s: float) -> pd.DataFrame:
        """Step the source through ``setpoints_V`` [V] (continuing the path; each step of
        the median step size takes ``delay_s`` [s]); the rows of these setpoints
        (``voltage_V``, ``device_voltage_V``, ``current_A``, ``gap_m``)."""
        self.applied_V += setpoints_V
        rows = []
        for chunk in _split_after_zeros(setpoints_V):
            full = self.path_V + chunk
            steps = np.abs(np.diff([0.0, *full]))
            step = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 0.01
            data = self._sweep(full, compliance_A, step / delay_s)
            rows.append(data.iloc[-len(chunk) :])
            if chunk[-1] == 0.0:
                self.gap_m, self.path_V = float(data["gap_m"].iloc[-1]), []
            else:
                self.path_V = full
        return pd.concat(rows, ignore_index=True)

    def rest(self, compliance_A: float, delay_s: float) -> None:
        """The source goes to 0 V (output off): commit the gap."""
        if self.path_V:
            self.apply([0.0], compliance_A, delay_s)
            self.applied_V.pop()

    def pulses(
        self, amplitude_V: list[float], width_s: float, read_V: float, compliance_A: float
    ) -> pd.DataFrame:
        """A pulse train from 0 V, each pulse followed by a read at ``read_V`` [V]; the
        rows of :meth:`NgspiceBackend.rram_pulses`. The source must rest at 0 V."""
        self.applied_V += [*amplitude_V, read_V]
        params = self.params.replace(
            source="emulator state",
            g_init_m=float(np.clip(self.gap_m, self.params.g_min_m, self.params.g_max_m)),
        )
        with NGSPICE_LOCK:
            data = NgspiceBackend().rram_pulses(
                np.asarray(amplitude_V), width_s, read_V, params, compliance_A
            )
        self.gap_m = float(data["gap_m"].iloc[-1])
        return data


def _split_after_zeros(values: list[float]) -> list[list[float]]:
    """Split after every exact 0.0 (where the path is committed)."""
    out: list[list[float]] = [[]]
    for v in values:
        out[-1].append(v)
        if v == 0.0:
            out.append([])
    return [c for c in out if c]


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
