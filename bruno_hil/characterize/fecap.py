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
  ``(Q - C_fe*V)/A`` with the stack's dielectric capacitance ``C_fe`` from the
  parameters; with the interlayer in series that is ``k*P``, the device's polarization
  times the stack's charge fraction ``k`` (0.905 at the defaults,
  :mod:`bruno_hil.devices.fecap_stack`), as a tester sees it;
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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.stimulus import pund_waveform, triangle_waveform
from bruno_hil.devices.params import FeCapParams


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
    ``charge_C``) and its pulse table (from
    :func:`~bruno_hil.characterize.stimulus.pund_waveform`)."""
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
    t_p, v_p, pulses = pund_waveform(amplitude_V, frequency_Hz, points_per_cycle)
    backend.check_limits("fecap", np.concatenate([v, v_p]) if pund else v)
    loop = add_polarization(backend.fecap_waveform(t, v, params), params, 1.0 / frequency_Hz)
    figures = loop_figures(loop, amplitude_V, frequency_Hz)
    if not pund:
        return FeCapResult(loop=loop, figures=figures)
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
    "FeCapResult",
    "PELoopFigures",
    "PundFigures",
    "add_polarization",
    "characterize_fecap",
    "loop_figures",
    "pund_figures",
]
