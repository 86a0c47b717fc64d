"""RRAM characterization: the DC I-V loop and pulse programming (LTP/LTD), and their figures.

**DC I-V** (current compliance in both polarities): setpoints 0 -> +v_max_V -> 0 ->
v_min_V -> 0 in steps of ``step_V`` (``v_min_V`` is the sweep's most negative voltage, so
it is < 0). The four branches are numbered 1-4 in that order (column ``branch``). With
``G = I / V`` the apparent conductance (V across the cell: ``device_voltage_V`` when the
backend reports it, else the setpoint):

* ``v_set_V``: the setpoint on branch 1 (0 -> v_max) where ``d ln G / dV`` is largest,
  i.e. where the current jumps relative to the read nonlinearity of the cell (the midpoint
  of the steepest step);
* ``v_reset_V``: the setpoint on branch 3 (0 -> v_min) where ``d ln G / d|V|`` is most
  negative (the midpoint of the steepest step), a negative voltage;
* ``r_on_ohm``: ``V / I`` at +read_V on branch 2 (after SET, back towards 0: the LRS);
* ``r_off_ohm``: ``V / I`` at -read_V on branch 4 (after RESET, back towards 0: the HRS
  of a cycled cell, not the virgin state); ``on_off_ratio = r_off / r_on``.

**Pulses**: a reference read (a 0 V "pulse"), then ``n_pulses`` identical SET pulses
(potentiation, LTP) and ``n_pulses`` identical RESET pulses (depression, LTD), each
followed by a read at ``read_V``. Column ``phase``: ``initial``, ``LTP``, ``LTD``.
``n_pulses = 0`` runs the I-V sweep only (an SMU without pulse-and-read support).

**Distinguishable levels** among the LTP states (the initial read and the read after each
SET pulse, so at most ``n_pulses + 1``): reads carry a Gaussian noise of relative standard
deviation ``read_noise_rel`` (sigma = read_noise_rel * G). Two states G_a < G_b are
distinguishable when ``G_b - G_a > k_sigma * read_noise_rel * sqrt(G_a**2 + G_b**2)``
(their difference exceeds ``k_sigma`` standard deviations of the difference of two reads).
The states are sorted by G; the lowest is the first level, and each next state that is
distinguishable from the last counted level starts a new one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.stimulus import finite, iv_setpoints, ltp_ltd_amplitudes
from bruno_hil.devices.params import RRAMParams


@dataclass(frozen=True)
class IVFigures:
    """Figures of a DC I-V loop (SI units; see the module for the definitions)."""

    v_max_V: float
    v_min_V: float
    compliance_A: float
    read_V: float
    v_set_V: float
    v_reset_V: float
    r_on_ohm: float
    r_off_ohm: float
    on_off_ratio: float
    i_max_A: float
    """Largest |current| measured in the sweep [A] (at most the compliance)."""

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PulseFigures:
    """Figures of an LTP/LTD pulse train (SI units; see the module)."""

    n_pulses: int
    set_amplitude_V: float
    reset_amplitude_V: float
    pulse_width_s: float
    g_initial_S: float
    g_after_set_S: float
    """Conductance after the last SET pulse [S]."""
    g_after_reset_S: float
    """Conductance after the last RESET pulse [S]."""
    read_noise_rel: float
    k_sigma: float
    levels: int

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RRAMResult:
    """An RRAM characterization: the I-V data, the pulse data and their figures (None
    for an I-V sweep only)."""

    iv: pd.DataFrame
    iv_figures: IVFigures
    pulses: pd.DataFrame | None
    pulse_figures: PulseFigures | None

    def as_dict(self) -> dict[str, float]:
        """All figures in one flat mapping."""
        pulses = self.pulse_figures.as_dict() if self.pulse_figures is not None else {}
        return {**self.iv_figures.as_dict(), **pulses}


def _device_voltage(data: pd.DataFrame) -> np.ndarray:
    column = "device_voltage_V" if "device_voltage_V" in data else "voltage_V"
    return data[column].to_numpy()


def _steepest(v_set: np.ndarray, v_dev: np.ndarray, i: np.ndarray, sign: float) -> float:
    """Midpoint setpoint [V] of the step where ``sign * d ln G / d|V|`` is largest,
    over points with V and I of the branch's polarity (G = I/V > 0)."""
    ok = (v_dev * sign > 0.0) & (i * sign > 0.0)
    v_set, v_dev, i = v_set[ok], v_dev[ok], i[ok]
    if v_set.size < 2:
        return math.nan
    log_g = np.log(i / v_dev)
    slope = np.diff(log_g) / np.abs(np.diff(v_set))
    k = int(np.argmax(slope if sign > 0 else -slope))
    return float(0.5 * (v_set[k] + v_set[k + 1]))


def _resistance_at(data: pd.DataFrame, branch: int, v_read: float) -> float:
    """``V/I`` [ohm] at the setpoint ``v_read`` [V] on ``branch``, interpolated."""
    part = data[data["branch"] == branch]
    v = part["voltage_V"].to_numpy()
    order = np.argsort(v)
    v_dev = np.interp(v_read, v[order], _device_voltage(part)[order])
    i = np.interp(v_read, v[order], part["current_A"].to_numpy()[order])
    return float(v_dev / i) if i * v_dev > 0 else math.nan


def iv_figures(
    data: pd.DataFrame, v_max_V: float, v_min_V: float, compliance_A: float, read_V: float
) -> IVFigures:
    """The figures of a DC I-V loop (``data`` with ``voltage_V``, ``current_A`` and
    ``branch``; see the module)."""
    v = data["voltage_V"].to_numpy()
    v_dev = _device_voltage(data)
    i = data["current_A"].to_numpy()
    b = data["branch"].to_numpy()
    up, down = b == 1, b == 3
    r_on = _resistance_at(data, 2, read_V)
    r_off = _resistance_at(data, 4, -read_V)
    return IVFigures(
        v_max_V=float(v_max_V),
        v_min_V=float(v_min_V),
        compliance_A=float(compliance_A),
        read_V=float(read_V),
        v_set_V=_steepest(v[up], v_dev[up], i[up], 1.0),
        v_reset_V=_steepest(v[down], v_dev[down], i[down], -1.0),
        r_on_ohm=r_on,
        r_off_ohm=r_off,
        on_off_ratio=r_off / r_on,
        i_max_A=float(np.abs(i).max()),
    )


def distinguishable_levels(
    conductance_S: np.ndarray, read_noise_rel: float = 0.02, k_sigma: float = 3.0
) -> int:
    """Number of distinguishable conductance levels among ``conductance_S`` [S] (see the
    module for the rule)."""
    g = np.sort(np.asarray(conductance_S, dtype=np.float64))
    if g.size == 0:
        return 0
    levels, last = 1, g[0]
    for value in g[1:]:
        if value - last > k_sigma * read_noise_rel * math.hypot(value, last):
            levels, last = levels + 1, value
    return levels


def characterize_rram(
    backend: MeasurementBackend,
    params: RRAMParams,
    *,
    v_max_V: float = 1.0,
    v_min_V: float = -1.0,
    compliance_A: float = 100e-6,
    step_V: float = 0.01,
    n_pulses: int = 20,
    set_amplitude_V: float = 1.0,
    reset_amplitude_V: float = -1.0,
    pulse_width_s: float = 1e-6,
    read_V: float = 0.1,
    read_noise_rel: float = 0.02,
    k_sigma: float = 3.0,
) -> RRAMResult:
    """Measure the DC I-V loop and the LTP/LTD pulse train and extract the figures (all
    arguments in SI units; see the module). ``read_V`` [V] is the read voltage of both the
    R_on/R_off figures and the pulse reads."""
    sweep = iv_setpoints(v_max_V, v_min_V, step_V)
    read = finite(read_V, "read_V")
    if not 0.0 < read < min(v_max_V, -v_min_V):
        raise MeasurementError(
            f"read_V = {read!r} V must be > 0 and below both |v_max_V| and |v_min_V|"
        )
    if not finite(set_amplitude_V, "set_amplitude_V") > 0.0:
        raise MeasurementError(f"set_amplitude_V = {set_amplitude_V!r} V must be > 0 (SET)")
    if not finite(reset_amplitude_V, "reset_amplitude_V") < 0.0:
        raise MeasurementError(
            f"reset_amplitude_V = {reset_amplitude_V!r} V must be < 0 (RESET), e.g. -1.0"
        )
    if isinstance(n_pulses, bool) or not isinstance(n_pulses, int) or not 0 <= n_pulses <= 1000:
        raise MeasurementError(
            f"n_pulses = {n_pulses!r} must be an integer in [0, 1000] (0: the I-V sweep only)"
        )
    for name, value in (
        ("compliance_A", compliance_A),
        ("pulse_width_s", pulse_width_s),
        ("read_noise_rel", read_noise_rel),
        ("k_sigma", k_sigma),
    ):
        if not finite(value, name) > 0.0:
            raise MeasurementError(f"{name} = {value!r} must be > 0")

    amplitudes = ltp_ltd_amplitudes(set_amplitude_V, reset_amplitude_V, n_pulses)
    setpoints = sweep["voltage_V"].to_numpy()
    backend.check_limits(
        "rram", np.concatenate([setpoints, amplitudes, [read]]), compliance_A, pulse_width_s
    )
    iv = backend.rram_dc_sweep(setpoints, compliance_A, params)
    iv["branch"] = sweep["branch"].to_numpy()
    figures = iv_figures(iv, v_max_V, v_min_V, compliance_A, read)
    if n_pulses == 0:
        return RRAMResult(iv=iv, iv_figures=figures, pulses=None, pulse_figures=None)

    pulses = backend.rram_pulses(amplitudes, pulse_width_s, read, params, compliance_A)
    pulses["phase"] = ["initial"] + ["LTP"] * n_pulses + ["LTD"] * n_pulses
    g = pulses["conductance_S"].to_numpy()
    pulse_figs = PulseFigures(
        n_pulses=n_pulses,
        set_amplitude_V=float(set_amplitude_V),
        reset_amplitude_V=float(reset_amplitude_V),
        pulse_width_s=float(pulse_width_s),
        g_initial_S=float(g[0]),
        g_after_set_S=float(g[n_pulses]),
        g_after_reset_S=float(g[-1]),
        read_noise_rel=float(read_noise_rel),
        k_sigma=float(k_sigma),
        levels=distinguishable_levels(g[: n_pulses + 1], read_noise_rel, k_sigma),
    )
    return RRAMResult(iv=iv, iv_figures=figures, pulses=pulses, pulse_figures=pulse_figs)


__all__ = [
    "IVFigures",
    "PulseFigures",
    "RRAMResult",
    "characterize_rram",
    "distinguishable_levels",
    "iv_figures",
]
