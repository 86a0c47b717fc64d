"""FeCap characterization: P-E hysteresis loops and PUND, and the figures read from them.

Drive (bottom plate at ground, top plate driven):

* **triangle**: ``n_cycles`` periods of 0 -> +V_a -> -V_a -> 0 at ``frequency_Hz``; the
  figures come from the **last** period (the first starts from the virgin state P = -P_s);
* **PUND**: triangular pulses of the same rise rate (each 1/(2f) long, separated by 1/(2f)
  at 0 V): a negative preset, then P (+, switching), U (+, non-switching), N (-, switching),
  D (-, non-switching).

Conventions (SI units throughout):

* ``E = V / t_hzo_m`` [V/m] is the nominal applied field (the interlayer and the
  depolarization field are *not* removed);
* ``polarization_C_per_m2`` is the **total** plate charge per area, ``Q/A``: switched plus
  dielectric (plus the small leakage integrated over time), as a ferroelectric tester
  reports it; ``switched_polarization_C_per_m2`` removes the linear dielectric part,
  ``(Q - C_fe*V)/A`` with ``C_fe = eps0*eps_hzo*A/t_hzo`` from the parameters;
* the charge's zero is arbitrary (it counts from t = 0), so both are **centred**: one
  offset, chosen so that the switched polarization of the last period has max = -min, is
  subtracted from both (the usual "centre the loop" of a tester);
* P_r: P where E crosses 0 on the last period (+: falling E, -: rising E); the dielectric
  part is zero there, so P_r is the same for the switched and the total P. E_c: E where
  the **switched** P crosses 0 (+: rising P, -: falling P). P_s: max |switched P| on the
  last period; ``p_max_total_C_per_m2`` is max |total P|. Several crossings of one kind
  (the period's start and end) are averaged;
* loop area: the closed integral of E dP over the last period [J/m^3], the energy
  dissipated per cycle per volume (the dielectric part integrates to zero; positive for a
  loop whose P lags E).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bruno_hil.characterize.backend import MeasurementBackend, MeasurementError
from bruno_hil.devices.params import FeCapParams

PUND_PULSES: tuple[str, ...] = ("preset", "P", "U", "N", "D")
"""The PUND sequence: a negative preset, then positive P, U and negative N, D."""
_PUND_SIGNS: tuple[float, ...] = (-1.0, 1.0, 1.0, -1.0, -1.0)


@dataclass(frozen=True)
class PELoopFigures:
    """Figures of merit of the last period of a triangular P-E loop (SI units)."""

    amplitude_V: float
    frequency_Hz: float
    p_r_pos_C_per_m2: float
    p_r_neg_C_per_m2: float
    e_c_pos_V_per_m: float
    e_c_neg_V_per_m: float
    p_s_C_per_m2: float
    p_max_total_C_per_m2: float
    loop_area_J_per_m3: float
    closure_C_per_m2: float
    """Switched P at the end minus at the start of the last period (0 for a closed loop)."""

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PundFigures:
    """PUND charges [C]: each pulse's charge from its start to its peak (switched +
    dielectric), and the switched charges P - U and N - D (``~ +-2*P_r*A``)."""

    q_p_C: float
    q_u_C: float
    q_n_C: float
    q_d_C: float
    switched_pos_C: float
    switched_neg_C: float
    p_sw_pos_C_per_m2: float
    """(P - U) / (2A): the remanent polarization seen by PUND [C/m^2]."""
    p_sw_neg_C_per_m2: float
    """(N - D) / (2A) [C/m^2] (negative)."""

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FeCapResult:
    """A FeCap characterization: the loop data, its figures and the optional PUND."""

    loop: pd.DataFrame
    figures: PELoopFigures
    pund: pd.DataFrame | None = None
    pund_figures: PundFigures | None = None

    def as_dict(self) -> dict[str, float]:
        """All figures in one flat mapping (PUND ones prefixed ``pund_``)."""
        out = self.figures.as_dict()
        if self.pund_figures is not None:
            out.update({f"pund_{k}": v for k, v in self.pund_figures.as_dict().items()})
        return out


def _check_drive(amplitude_V: float, frequency_Hz: float, points_per_cycle: int) -> None:
    for name, value in (("amplitude_V", amplitude_V), ("frequency_Hz", frequency_Hz)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MeasurementError(f"{name}: expected a number, got {value!r}")
        if not (math.isfinite(value) and value > 0.0):
            raise MeasurementError(f"{name} = {value!r} must be a positive finite number")
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


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MeasurementError(f"{name}: expected a number, got {value!r}")
    if not (math.isfinite(value) and value > 0.0):
        raise MeasurementError(f"{name} = {value!r} must be a positive finite number")


def _positive_values(name: str, values: Sequence[float]) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MeasurementError(f"{name}: expected a sequence of numbers, got {values!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise MeasurementError(f"{name}: expected a non-empty 1-D sequence, got {values!r}")
    if not np.all(np.isfinite(array) & (array > 0.0)):
        raise MeasurementError(f"{name}: every value must be a positive finite number")
    return array


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
    amplitudes = _positive_values("amplitudes_V", amplitudes_V)
    widths = _positive_values("widths_s", widths_s)
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
        _check_positive(name, value)
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


def add_polarization(data: pd.DataFrame, params: FeCapParams, period_s: float) -> pd.DataFrame:
    """Add ``field_V_per_m``, ``polarization_C_per_m2`` (total) and
    ``switched_polarization_C_per_m2``, centred on the last ``period_s`` [s] (see the
    module for the conventions)."""
    t = data["time_s"].to_numpy()
    v = data["voltage_V"].to_numpy()
    q = data["charge_C"].to_numpy()
    p_total = q / params.area_m2
    p_sw = (q - params.c_fe_F * v) / params.area_m2
    last = t >= t[-1] - period_s * (1 + 1e-9)
    offset = 0.5 * (p_sw[last].max() + p_sw[last].min())
    out = data.copy()
    out["field_V_per_m"] = v / params.t_hzo_m
    out["polarization_C_per_m2"] = p_total - offset
    out["switched_polarization_C_per_m2"] = p_sw - offset
    return out


def _crossings(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``y`` interpolated where ``x`` crosses 0 upwards and downwards."""
    k_up = np.flatnonzero((x[:-1] < 0.0) & (x[1:] >= 0.0))
    k_dn = np.flatnonzero((x[:-1] > 0.0) & (x[1:] <= 0.0))

    def at(k: np.ndarray) -> np.ndarray:
        w = -x[k] / (x[k + 1] - x[k])
        return y[k] + w * (y[k + 1] - y[k])

    return at(k_up), at(k_dn)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def loop_figures(data: pd.DataFrame, amplitude_V: float, frequency_Hz: float) -> PELoopFigures:
    """The figures of the last period of a loop (``data`` from :func:`add_polarization`).
    A figure whose crossing does not occur (e.g. no negative drive) is NaN."""
    period = 1.0 / frequency_Hz
    t = data["time_s"].to_numpy()
    # the last period plus the sample before it, so a crossing at its start is seen
    start = int(np.searchsorted(t, t[-1] - period * (1 + 1e-9)))
    k0 = max(start - 1, 0)
    e = data["field_V_per_m"].to_numpy()[k0:]
    p_sw = data["switched_polarization_C_per_m2"].to_numpy()[k0:]
    p_tot = data["polarization_C_per_m2"].to_numpy()[k0:]
    pr_neg, pr_pos = _crossings(e, p_sw)
    ec_pos, ec_neg = _crossings(p_sw, e)
    own = start - k0  # the last period proper starts here
    e1, p1 = e[own:], p_tot[own:]
    area = float(np.sum(0.5 * (e1[1:] + e1[:-1]) * np.diff(p1)))
    return PELoopFigures(
        amplitude_V=float(amplitude_V),
        frequency_Hz=float(frequency_Hz),
        p_r_pos_C_per_m2=_mean(pr_pos),
        p_r_neg_C_per_m2=_mean(pr_neg),
        e_c_pos_V_per_m=_mean(ec_pos),
        e_c_neg_V_per_m=_mean(ec_neg),
        p_s_C_per_m2=float(np.abs(p_sw[own:]).max()),
        p_max_total_C_per_m2=float(np.abs(p1).max()),
        loop_area_J_per_m3=area,
        closure_C_per_m2=float(p_sw[-1] - p_sw[own]),
    )


def pund_figures(data: pd.DataFrame, pulses: pd.DataFrame, params: FeCapParams) -> PundFigures:
    """PUND charges from a measured PUND waveform (``data`` with ``time_s``,
    ``charge_C``) and its pulse table (from :func:`pund_waveform`)."""
    t = data["time_s"].to_numpy()
    q = data["charge_C"].to_numpy()
    rise = {
        row.pulse: float(np.interp(row.peak_s, t, q) - np.interp(row.start_s, t, q))
        for row in pulses.itertuples()
    }
    two_a = 2.0 * params.area_m2
    return PundFigures(
        q_p_C=rise["P"],
        q_u_C=rise["U"],
        q_n_C=rise["N"],
        q_d_C=rise["D"],
        switched_pos_C=rise["P"] - rise["U"],
        switched_neg_C=rise["N"] - rise["D"],
        p_sw_pos_C_per_m2=(rise["P"] - rise["U"]) / two_a,
        p_sw_neg_C_per_m2=(rise["N"] - rise["D"]) / two_a,
    )


def characterize_fecap(
    backend: MeasurementBackend,
    params: FeCapParams,
    amplitude_V: float = 3.0,
    frequency_Hz: float = 1e3,
    *,
    n_cycles: int = 2,
    pund: bool = True,
    points_per_cycle: int = 400,
) -> FeCapResult:
    """Measure the P-E loop (triangle at ``amplitude_V`` [V] and ``frequency_Hz`` [Hz],
    ``n_cycles`` periods) and, with ``pund``, the PUND sequence, and extract the figures.
    The PUND data's ``polarization_C_per_m2`` is ``Q/A`` counted from t = 0 (not centred:
    PUND reads charge differences)."""
    t, v = triangle_waveform(amplitude_V, frequency_Hz, n_cycles, points_per_cycle)
    loop = add_polarization(backend.fecap_waveform(t, v, params), params, 1.0 / frequency_Hz)
    figures = loop_figures(loop, amplitude_V, frequency_Hz)
    if not pund:
        return FeCapResult(loop=loop, figures=figures)
    t_p, v_p, pulses = pund_waveform(amplitude_V, frequency_Hz, points_per_cycle)
    pund_data = backend.fecap_waveform(t_p, v_p, params)
    pund_data["field_V_per_m"] = pund_data["voltage_V"] / params.t_hzo_m
    pund_data["polarization_C_per_m2"] = pund_data["charge_C"] / params.area_m2
    return FeCapResult(
        loop=loop,
        figures=figures,
        pund=pund_data,
        pund_figures=pund_figures(pund_data, pulses, params),
    )


__all__ = [
    "PUND_PULSES",
    "FeCapResult",
    "PELoopFigures",
    "PundFigures",
    "add_polarization",
    "characterize_fecap",
    "loop_figures",
    "pund_figures",
    "pund_waveform",
    "switching_kinetics_waveform",
    "triangle_waveform",
]
