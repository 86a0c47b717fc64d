"""The one stimulus vocabulary of characterization and calibration: waveforms, sweeps and
pulse trains, the checks every drive passes before it reaches a backend, and named stimuli.

Every function returns plain arrays in SI units (times [s], voltages [V]); a malformed
request is a :class:`~bruno_hil.characterize.errors.MeasurementError` naming the field.

* checks: :func:`finite`, :func:`positive`, :func:`vector`, :func:`positive_values`,
  :func:`waveform_points` (piecewise-linear points);
* FeCap drives: :func:`triangle_waveform` (P-E loops), :func:`pund_waveform` (PUND),
  :func:`switching_kinetics_waveform` (poling + positive pulses of several widths);
* RRAM drives: :func:`iv_setpoints` (the DC I-V loop), :func:`reset_setpoints` (a
  conditioning RESET), :class:`PulseShape` + :func:`pulse_train_waveform` (programming
  pulses with reads) and :func:`ltp_ltd_amplitudes`;
* named stimuli for the live calibration loop: :class:`Stimulus` (a waveform or sweep),
  :class:`PulseStimulus` (a pulse train), their builders and :func:`concatenate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bruno_hil.characterize.errors import MeasurementError


# -- checks -------------------------------------------------------------------------------
def finite(value: float, name: str) -> float:
    """``value`` as a float; a non-number or a non-finite one is an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MeasurementError(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise MeasurementError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def positive(value: float, name: str, unit: str = "") -> float:
    """``value`` as a float > 0 (finite); ``unit`` is named in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MeasurementError(f"{name}: expected a number, got {value!r}")
    if not (math.isfinite(value) and value > 0.0):
        shown = f"{value!r} {unit}" if unit else f"{value!r}"
        raise MeasurementError(f"{name} = {shown} must be a positive finite number")
    return float(value)


def vector(values: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    """A non-empty 1-D array of finite numbers."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise MeasurementError(f"{name}: expected a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MeasurementError(f"{name}: every value must be finite")
    return array


def waveform_points(
    time_s: np.ndarray | Sequence[float], voltage_V: np.ndarray | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Checked PWL points: times [s] from 0, strictly increasing; finite voltages [V]."""
    t = vector(time_s, "time_s")
    v = vector(voltage_V, "voltage_V")
    if t.size != v.size or t.size < 2:
        raise MeasurementError(
            f"time_s and voltage_V: need two or more points of equal length, got"
            f" {t.size} and {v.size}"
        )
    if t[0] != 0.0 or not np.all(np.diff(t) > 0.0):
        raise MeasurementError("time_s: must start at 0 s and increase strictly")
    return t, v


def positive_values(name: str, values: Sequence[float]) -> np.ndarray:
    """A non-empty 1-D array of positive finite numbers."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MeasurementError(f"{name}: expected a sequence of numbers, got {values!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise MeasurementError(f"{name}: expected a non-empty 1-D sequence, got {values!r}")
    if not np.all(np.isfinite(array) & (array > 0.0)):
        raise MeasurementError(f"{name}: every value must be a positive finite number")
    return array


# -- FeCap drives ----------------------------------------------------------------
PUND_PULSES: tuple[str, ...] = ("preset", "P", "U", "N", "D")
"""The PUND sequence: a negative preset, then positive P, U and negative N, D."""
_PUND_SIGNS: tuple[float, ...] = (-1.0, 1.0, 1.0, -1.0, -1.0)


def _check_drive(amplitude_V: float, frequency_Hz: float, points_per_cycle: int) -> None:
    positive(amplitude_V, "amplitude_V")
    positive(frequency_Hz, "frequency_Hz")
    if not (20 <= points_per_cycle <= 100_000 and points_per_cycle % 4 == 0):
        raise MeasurementError(
            f"points_per_cycle = {points_per_cycle!r} must be a multiple of 4 in [20, 1e5]"
            " (so the waveform's corners are samples)"
        )


def triangle_waveform(
    amplitude_V: float, frequency_Hz: float, n_cycles: int = 2, points_per_cycle: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """``n_cycles`` periods of 0 -> +V_a -> -V_a -> 0: sample times [s] and voltages [V]
    (``points_per_cycle`` samples per period)."""
    _check_drive(amplitude_V, frequency_Hz, points_per_cycle)
    if not 2 <= n_cycles <= 1000:
        raise MeasurementError(
            f"n_cycles = {n_cycles!r} must lie in [2, 1000] (the last period is the loop)"
        )
    period = 1.0 / frequency_Hz
    t = np.arange(n_cycles * points_per_cycle + 1) * (period / points_per_cycle)
    phase = (np.arange(t.size) % points_per_cycle) / points_per_cycle
    v = amplitude_V * np.interp(phase, [0.0, 0.25, 0.75, 1.0], [0.0, 1.0, -1.0, 0.0])
    return t, v


def pund_waveform(
    amplitude_V: float, frequency_Hz: float, points_per_cycle: int = 400
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The PUND sequence (see the module): sample times [s], voltages [V] and a table of
    the pulses (``pulse``, ``start_s``, ``peak_s``, ``end_s``)."""
    _check_drive(amplitude_V, frequency_Hz, points_per_cycle)
    half = 0.5 / frequency_Hz
    n_half = points_per_cycle // 2
    t_knots, v_knots, rows = [0.0], [0.0], []
    t = half  # a delay of half a period at 0 V before each pulse
    for name, sign in zip(PUND_PULSES, _PUND_SIGNS, strict=True):
        rows.append({"pulse": name, "start_s": t, "peak_s": t + half / 2, "end_s": t + half})
        t_knots += [t, t + half / 2, t + half]
        v_knots += [0.0, sign * amplitude_V, 0.0]
        t += 2 * half
    t_end = t - half
    n = round(t_end / half) * n_half
    time = np.linspace(0.0, t_end, n + 1)
    return time, np.interp(time, t_knots, v_knots), pd.DataFrame(rows)


class _Samples:
    """A waveform built sample by sample: times [s] and voltages [V], from (0 s, 0 V)."""

    def __init__(self, edge_s: float, edge_step_V: float, points_per_decade: int) -> None:
        self.t, self.v = [0.0], [0.0]
        self.edge_s, self.edge_step_V, self.per_decade = edge_s, edge_step_V, points_per_decade

    def edge(self, v_to_V: float) -> None:
        """A linear edge from the last voltage, ``edge_s`` long, sampled every
        ``edge_step_V`` at most."""
        t0, v0 = self.t[-1], self.v[-1]
        n = max(1, math.ceil(abs(v_to_V - v0) / self.edge_step_V))
        frac = np.arange(1, n + 1) / n
        self.t += (t0 + frac * self.edge_s).tolist()
        self.v += (v0 + frac * (v_to_V - v0)).tolist()

    def hold(self, duration_s: float) -> None:
        """The last voltage for ``duration_s``, sampled at times growing geometrically,
        ``points_per_decade`` per decade, from the last edge's sample interval (so the
        switching that an edge starts is followed from its own time scale)."""
        first = min(self.t[-1] - self.t[-2], duration_s)
        n = math.ceil(self.per_decade * math.log10(duration_s / first))
        t0 = self.t[-1]
        self.t += (t0 + np.geomspace(first, duration_s, n + 1)).tolist()
        self.v += [self.v[-1]] * (n + 1)


def switching_kinetics_waveform(
    amplitudes_V: Sequence[float],
    widths_s: Sequence[float],
    *,
    poling_V: float = -4.0,
    poling_s: float = 1e-6,
    pause_s: float = 1e-6,
    edge_s: float = 2e-9,
    edge_step_V: float = 0.1,
    points_per_decade: int = 8,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Switching-kinetics (nucleation-limited switching) pulses. For each amplitude (outer
    loop) and width (inner loop): a poling pulse held at ``poling_V`` [V] (< 0) for
    ``poling_s`` [s], which resets P to -P_s; ``pause_s`` [s] at 0 V; a positive pulse held
    at the amplitude [V] for the width [s]; ``pause_s`` at 0 V. A last poling pulse and
    pause leave the device negatively poled, as the other stimuli do (a real device keeps
    its state for the next measurement). Every edge is linear,
    ``edge_s`` [s] long (not part of the hold times) and sampled every ``edge_step_V`` [V]
    at most; holds and pauses are sampled at times growing geometrically from ``edge_s``
    after their start, ``points_per_decade`` per decade, which resolves P's switching (it
    proceeds in log(time)) at every width with few samples.

    Returns the sample times [s] (from 0), voltages [V] and a table of the positive pulses:
    ``amplitude_V``, ``width_s``, ``poled_s`` (the end of the pause before the pulse, where
    its rising edge starts), ``end_s`` (the end of its falling edge) and ``settled_s`` (the
    end of the pause after it). ``Q(settled_s) - Q(poled_s)`` is the pulse's switched
    charge, both ends at 0 V (plus the leak's charge over the pulse)."""
    amplitudes = positive_values("amplitudes_V", amplitudes_V)
    widths = positive_values("widths_s", widths_s)
    if isinstance(poling_V, bool) or not isinstance(poling_V, (int, float)):
        raise MeasurementError(f"poling_V: expected a number, got {poling_V!r}")
    if not (math.isfinite(poling_V) and poling_V < 0.0):
        raise MeasurementError(
            f"poling_V = {poling_V!r} must be a negative finite voltage (it resets P to -P_s)"
        )
    for name, value in (
        ("poling_s", poling_s),
        ("pause_s", pause_s),
        ("edge_s", edge_s),
        ("edge_step_V", edge_step_V),
    ):
        positive(value, name)
    if isinstance(points_per_decade, bool) or points_per_decade not in range(1, 101):
        raise MeasurementError(
            f"points_per_decade = {points_per_decade!r} must be an integer in [1, 100]"
        )
    w = _Samples(edge_s, edge_step_V, points_per_decade)
    rows = []
    for amplitude in amplitudes:
        for width in widths:
            w.edge(poling_V)
            w.hold(poling_s)
            w.edge(0.0)
            w.hold(pause_s)
            poled = w.t[-1]
            w.edge(amplitude)
            w.hold(width)
            w.edge(0.0)
            end = w.t[-1]
            w.hold(pause_s)
            rows.append(
                {
                    "amplitude_V": amplitude,
                    "width_s": width,
                    "poled_s": poled,
                    "end_s": end,
                    "settled_s": w.t[-1],
                }
            )
    w.edge(poling_V)
    w.hold(poling_s)
    w.edge(0.0)
    w.hold(pause_s)
    return np.array(w.t), np.array(w.v), pd.DataFrame(rows)


# -- RRAM drives -----------------------------------------------------------------
MAX_SWEEP_POINTS = 100_000
"""Most setpoints of an I-V sweep (checked before any is made: a 1e-9 V step over +-1 V
would be 4e9 points)."""


def iv_setpoints(v_max_V: float, v_min_V: float, step_V: float = 0.01) -> pd.DataFrame:
    """Setpoints 0 -> v_max_V -> 0 -> v_min_V -> 0 [V] in steps of about ``step_V`` [V]
    (each branch is divided evenly), with their ``branch`` number 1-4."""
    v_max, v_min, step = (
        finite(v_max_V, "v_max_V"),
        finite(v_min_V, "v_min_V"),
        finite(step_V, "step_V"),
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
    n_points = 2 * (v_max - v_min) / step
    if n_points > MAX_SWEEP_POINTS:
        raise MeasurementError(
            f"step_V = {step!r} V makes {n_points:.3g} setpoints; an I-V sweep may have"
            f" {MAX_SWEEP_POINTS} (a step of at least {step * n_points / MAX_SWEEP_POINTS:.3g} V)"
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
            value = finite(getattr(self, name), f"PulseShape.{name}")
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
    width = finite(width_s, "width_s")
    if not width > 0.0:
        raise MeasurementError(f"width_s = {width!r} s must be > 0")
    if finite(read_V, "read_V") == 0.0:
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


RESET_V = -1.2
"""Default conditioning RESET [V] of the RRAM live loop (see :func:`reset_setpoints`)."""


def reset_setpoints(reset_V: float = RESET_V, step_V: float = 0.02) -> np.ndarray:
    """A conditioning RESET sweep 0 -> ``reset_V`` -> 0 V [V] in steps of ``step_V``: at
    the bench's sweep rate (1 V/s) it resets a cell fully (gap at ``g_max_m``) even behind
    a 100 uA compliance, where a RESET pulse of microseconds does not."""
    if not reset_V < 0.0:
        raise MeasurementError(f"reset_V = {reset_V!r} V must be < 0 (a RESET)")
    n = max(round(-reset_V / step_V), 2)
    return np.concatenate(
        [np.linspace(0.0, reset_V, n + 1)[1:], np.linspace(reset_V, 0.0, n + 1)[1:]]
    )


# -- named stimuli ---------------------------------------------------------------
@dataclass(frozen=True)
class Stimulus:
    """A named drive: FeCap waveform (``time_s`` [s], ``voltage_V`` [V]) or RRAM sweep
    setpoints (``voltage_V`` only; the backend's ramp sets the times)."""

    name: str
    voltage_V: np.ndarray
    time_s: np.ndarray | None = None


def pv_loop(
    amplitude_V: float, frequency_Hz: float, n_cycles: int = 2, points_per_cycle: int = 400
) -> Stimulus:
    """Triangular P-V loop (see :func:`triangle_waveform`)."""
    t, v = triangle_waveform(amplitude_V, frequency_Hz, n_cycles, points_per_cycle)
    return Stimulus(f"loop {amplitude_V:g} V {frequency_Hz:g} Hz", v, t)


def pund(amplitude_V: float, frequency_Hz: float, points_per_cycle: int = 400) -> Stimulus:
    """PUND sequence (see :func:`pund_waveform`)."""
    t, v, _ = pund_waveform(amplitude_V, frequency_Hz, points_per_cycle)
    return Stimulus(f"PUND {amplitude_V:g} V {frequency_Hz:g} Hz", v, t)


def switching_kinetics(amplitudes_V: Sequence[float], widths_s: Sequence[float]) -> Stimulus:
    """Switching-kinetics pulses (see :func:`switching_kinetics_waveform`): they pin down
    the Merz law, which loops cannot."""
    t, v, _ = switching_kinetics_waveform(amplitudes_V, widths_s)
    amps = "/".join(f"{a:g}" for a in amplitudes_V)
    widths = "/".join(f"{w:g}" for w in widths_s)
    return Stimulus(f"kinetics {amps} V x {widths} s", v, t)


def iv_sweep(v_max_V: float, v_min_V: float, step_V: float = 0.01) -> Stimulus:
    """DC I-V loop setpoints (see :func:`iv_setpoints`)."""
    v = iv_setpoints(v_max_V, v_min_V, step_V)["voltage_V"].to_numpy()
    return Stimulus(f"I-V {v_min_V:g}..{v_max_V:g} V", v)


@dataclass(frozen=True)
class PulseStimulus:
    """An RRAM programming pulse train: one pulse of ``width_s`` [s] per ``amplitude_V``
    [V], each followed by a read at ``read_V`` [V]."""

    name: str
    amplitude_V: np.ndarray
    width_s: float
    read_V: float = 0.1


def ltp_ltd(set_V: float, reset_V: float, n_pulses: int, width_s: float) -> PulseStimulus:
    """A reference read, ``n_pulses`` SET pulses of ``set_V`` [V] and as many RESET pulses
    of ``reset_V`` [V], each ``width_s`` [s] long (see :func:`ltp_ltd_amplitudes`)."""
    return PulseStimulus(
        f"LTP/LTD {set_V:g}/{reset_V:g} V {width_s:g} s",
        ltp_ltd_amplitudes(set_V, reset_V, n_pulses),
        width_s,
    )


RRAMStimulus = Stimulus | PulseStimulus
"""A stimulus of the RRAM live loop: DC sweep setpoints or a pulse train."""


def concatenate(stimuli: Sequence[Stimulus]) -> tuple[Stimulus, np.ndarray]:
    """One stimulus running the given ones back to back, and the per-sample label of the
    stimulus each sample belongs to."""
    if not stimuli:
        raise MeasurementError("no stimulus to concatenate")
    volts, times, labels = [], [], []
    t_end = 0.0
    for k, s in enumerate(stimuli):
        skip = 1 if k else 0  # waveforms start at 0 V; the junction sample is shared
        volts.append(s.voltage_V[skip:])
        labels += [s.name] * (s.voltage_V.size - skip)
        if s.time_s is not None:
            times.append(s.time_s[skip:] + t_end)
            t_end = float(times[-1][-1])
    t = np.concatenate(times) if times else None
    name = " + ".join(s.name for s in stimuli)
    return Stimulus(name, np.concatenate(volts), t), np.asarray(labels)


__all__ = [
    "PUND_PULSES",
    "RESET_V",
    "PulseShape",
    "PulseStimulus",
    "PulseTrainWaveform",
    "RRAMStimulus",
    "Stimulus",
    "concatenate",
    "finite",
    "iv_setpoints",
    "iv_sweep",
    "ltp_ltd",
    "ltp_ltd_amplitudes",
    "positive",
    "positive_values",
    "pulse_train_waveform",
    "pund",
    "pund_waveform",
    "pv_loop",
    "reset_setpoints",
    "switching_kinetics",
    "switching_kinetics_waveform",
    "triangle_waveform",
    "vector",
    "waveform_points",
]
