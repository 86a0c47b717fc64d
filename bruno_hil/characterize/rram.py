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

from bruno_hil.characterize.backend import MeasurementBackend, MeasurementError
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
    """An RRAM characterization: the I-V data, the pulse data and their figures."""

    iv: pd.DataFrame
    iv_figures: IVFigures
    pulses: pd.DataFrame
    pulse_figures: PulseFigures

    def as_dict(self) -> dict[str, float]:
        """All figures in one flat mapping."""
        return {**self.iv_figures.as_dict(), **self.pulse_figures.as_dict()}


def _finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MeasurementError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def iv_setpoints(v_max_V: float, v_min_V: float, step_V: float = 0.01) -> pd.DataFrame:
    """Setpoints 0 -> v_max_V -> 0 -> v_min_V -> 0 [V] in steps of about ``step_V`` [V]
    (each branch is divided evenly), with their ``branch`` number 1-4."""
    v_max, v_min, step = (
        _finite(v_max_V, "v_max_V"),
        _finite(v_min_V, "v_min_V"),
        _finite(step_V, "step_V"),
    )
    if not v_max > 0.0:
        raise MeasurementError(f"v_max_V = {v_max!r} V must be > 0 (the SET side)")
    if not v_min < 0.0:
        raise MeasurementError(
            f"v_min_V = {v_min!r} V must be < 0: it is the sweep's most negative voltage"
            " (the RESET side), e.g. -1.0"
        )
    if not 0.0 < step <= min(v_max, -v_min) / 4:
        raise MeasurementError(
            f"step_V = {step!r} V must be > 0 and at most a quarter of each side of the sweep"
        )
    ends = [(0.0, v_max), (v_max, 0.0), (0.0, v_min), (v_min, 0.0)]
    parts, branch = [np.array([0.0])], [np.array([1])]
    for k, (a, b) in enumerate(ends, start=1):
        n = max(round(abs(b - a) / step), 1)
        parts.append(np.linspace(a, b, n + 1)[1:])
        branch.append(np.full(n, k))
    return pd.DataFrame({"voltage_V": np.concatenate(parts), "branch": np.concatenate(branch)})


@dataclass(frozen=True)
class PulseShape:
    """The timing of a programming pulse train (SI units; what a pulse source plays):
    each pulse rises and falls in ``edge_fraction`` of its width, then after ``pause_s``
    [s] at 0 V a read plateau of ``read_s`` [s] (its edges ``edge_fraction*read_s``)
    follows, and another ``pause_s`` at 0 V. The read is sampled at the plateau's end."""

    edge_fraction: float = 0.05
    read_s: float = 1e-6
    pause_s: float = 1e-6

    def __post_init__(self) -> None:
        for name in ("edge_fraction", "read_s", "pause_s"):
            value = _finite(getattr(self, name), f"PulseShape.{name}")
            if not value > 0.0:
                raise MeasurementError(f"PulseShape.{name} = {value!r} must be > 0")
        if not self.edge_fraction < 0.5:
            raise MeasurementError(
                f"PulseShape.edge_fraction = {self.edge_fraction!r} must be < 0.5"
            )


@dataclass(frozen=True)
class PulseTrainWaveform:
    """A pulse train as a piecewise-linear source: ``points`` [n, 2] of (time [s],
    voltage [V]) from (0, 0), and ``read_index`` [pulses], the point at the end of each
    read plateau (where the read is sampled)."""

    points: np.ndarray
    read_index: np.ndarray

    @property
    def read_time_s(self) -> np.ndarray:
        """Times [s] of the reads."""
        return self.points[self.read_index, 0]


def pulse_train_waveform(
    amplitude_V: np.ndarray, width_s: float, read_V: float, shape: PulseShape | None = None
) -> PulseTrainWaveform:
    """The source waveform of a pulse train: per amplitude [V] (0 is a read only) a pause,
    a trapezoidal pulse of ``width_s`` [s] at full amplitude, a pause and a read at
    ``read_V`` [V] (see :class:`PulseShape`), then a final pause."""
    amps = np.asarray(amplitude_V, dtype=np.float64)
    if amps.ndim != 1 or amps.size == 0 or not np.all(np.isfinite(amps)):
        raise MeasurementError("amplitude_V: expected a non-empty 1-D array of finite values")
    width = _finite(width_s, "width_s")
    if not width > 0.0:
        raise MeasurementError(f"width_s = {width!r} s must be > 0")
    if _finite(read_V, "read_V") == 0.0:
        raise MeasurementError("read_V must be nonzero (the conductance is I/V at the read)")
    s = shape or PulseShape()
    edge, read_edge = s.edge_fraction * width, s.edge_fraction * s.read_s
    points: list[tuple[float, float]] = [(0.0, 0.0)]
    reads: list[int] = []
    t = s.pause_s
    for a in amps:
        times = [t, t + edge, t + edge + width, t + 2 * edge + width]
        points += zip(times, (0.0, a, a, 0.0), strict=True)
        t = times[-1] + s.pause_s
        times = [t, t + read_edge, t + read_edge + s.read_s, t + 2 * read_edge + s.read_s]
        points += zip(times, (0.0, read_V, read_V, 0.0), strict=True)
        reads.append(len(points) - 2)
        t = times[-1] + s.pause_s
    points.append((t, 0.0))
    return PulseTrainWaveform(np.asarray(points), np.asarray(reads))


def ltp_ltd_amplitudes(set_V: float, reset_V: float, n_pulses: int) -> np.ndarray:
    """Pulse amplitudes [V] of an LTP/LTD train: a reference read (0 V), ``n_pulses`` SET
    pulses of ``set_V`` and ``n_pulses`` RESET pulses of ``reset_V``."""
    return np.array([0.0] + [float(set_V)] * n_pulses + [float(reset_V)] * n_pulses)


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
    read = _finite(read_V, "read_V")
    if not 0.0 < read < min(v_max_V, -v_min_V):
        raise MeasurementError(
            f"read_V = {read!r} V must be > 0 and below both |v_max_V| and |v_min_V|"
        )
    if not _finite(set_amplitude_V, "set_amplitude_V") > 0.0:
        raise MeasurementError(f"set_amplitude_V = {set_amplitude_V!r} V must be > 0 (SET)")
    if not _finite(reset_amplitude_V, "reset_amplitude_V") < 0.0:
        raise MeasurementError(
            f"reset_amplitude_V = {reset_amplitude_V!r} V must be < 0 (RESET), e.g. -1.0"
        )
    if isinstance(n_pulses, bool) or not isinstance(n_pulses, int) or not 1 <= n_pulses <= 1000:
        raise MeasurementError(f"n_pulses = {n_pulses!r} must be an integer in [1, 1000]")
    for name, value in (
        ("compliance_A", compliance_A),
        ("pulse_width_s", pulse_width_s),
        ("read_noise_rel", read_noise_rel),
        ("k_sigma", k_sigma),
    ):
        if not _finite(value, name) > 0.0:
            raise MeasurementError(f"{name} = {value!r} must be > 0")

    iv = backend.rram_dc_sweep(sweep["voltage_V"].to_numpy(), compliance_A, params)
    iv["branch"] = sweep["branch"].to_numpy()
    figures = iv_figures(iv, v_max_V, v_min_V, compliance_A, read)

    amplitudes = ltp_ltd_amplitudes(set_amplitude_V, reset_amplitude_V, n_pulses)
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
    "PulseShape",
    "PulseTrainWaveform",
    "RRAMResult",
    "characterize_rram",
    "distinguishable_levels",
    "iv_figures",
    "iv_setpoints",
    "ltp_ltd_amplitudes",
    "pulse_train_waveform",
]
