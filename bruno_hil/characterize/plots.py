"""PNG plots of characterization data (matplotlib, Agg backend: no display needed).

Axes are labelled in the units a device paper uses (uC/cm^2, MV/cm, uA, uS); the data
stay in SI units in the CSV files. Each ``*_figure`` function builds the figure (tests read
its content), each ``plot_*`` writes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

C_PER_M2_TO_UC_PER_CM2 = 100.0
"""1 C/m^2 = 100 uC/cm^2."""
V_PER_M_TO_MV_PER_CM = 1e-8
"""1 V/m = 1e-8 MV/cm."""


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` (laid out tight, 120 dpi) to ``path`` and release it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_pe_loop(loop: pd.DataFrame, path: Path, period_s: float | None = None) -> Path:
    """P-E loop: total and switched polarization [uC/cm^2] vs field [MV/cm]; with
    ``period_s`` [s] only the last period is drawn."""
    data = loop
    if period_s is not None:
        t = loop["time_s"].to_numpy()
        data = loop[t >= t[-1] - period_s * (1 + 1e-9)]
    e = data["field_V_per_m"].to_numpy() * V_PER_M_TO_MV_PER_CM
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot(e, data["polarization_C_per_m2"] * C_PER_M2_TO_UC_PER_CM2, label="total (Q/A)")
    ax.plot(
        e,
        data["switched_polarization_C_per_m2"] * C_PER_M2_TO_UC_PER_CM2,
        "--",
        label="switched (Q - C_fe V)/A",
    )
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.axvline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel("E = V / t_HZO [MV/cm]")
    ax.set_ylabel("P [uC/cm$^2$]")
    ax.set_title("FeCap P-E loop")
    ax.legend(loc="lower right", fontsize=8)
    return save_png(fig, path)


def pund_figure(pund: pd.DataFrame) -> Figure:
    """PUND: the applied voltage [V] and the plate charge per area [uC/cm^2] vs time [us],
    one legend for both axes."""
    t_us = pund["time_s"].to_numpy() * 1e6
    fig, ax_v = plt.subplots(figsize=(6.5, 4.0))
    (v_line,) = ax_v.plot(t_us, pund["voltage_V"], color="tab:gray", label="applied V [V]")
    ax_v.set_xlabel("time [us]")
    ax_v.set_ylabel("V [V]")
    ax_p = ax_v.twinx()
    (p_line,) = ax_p.plot(
        t_us,
        pund["polarization_C_per_m2"] * C_PER_M2_TO_UC_PER_CM2,
        color="tab:blue",
        label="plate charge Q/A [uC/cm$^2$]",
    )
    ax_p.set_ylabel("Q/A [uC/cm$^2$]", color="tab:blue")
    ax_v.set_title("PUND: preset, P, U, N, D")
    ax_v.legend(handles=[v_line, p_line], loc="upper right", fontsize=8)
    return fig


def plot_pund(pund: pd.DataFrame, path: Path) -> Path:
    """:func:`pund_figure` as a PNG."""
    return save_png(pund_figure(pund), path)


BRANCH_LABELS: dict[int, str] = {
    1: "1: 0 → +V_max (SET)",
    2: "2: +V_max → 0 (on state)",
    3: "3: 0 → V_min (RESET)",
    4: "4: V_min → 0 (off state)",
}
"""What each branch of the I-V sweep is (see :mod:`bruno_hil.characterize.rram`)."""


def iv_figure(
    iv: pd.DataFrame,
    compliance_A: float | None = None,
    v_set_V: float | None = None,
    v_reset_V: float | None = None,
) -> Figure:
    """I-V loop: |I| [A] on a log axis vs the setpoint [V], one line per branch (named by
    :data:`BRANCH_LABELS`), the compliance [A] and the extracted V_set/V_reset [V] marked."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for branch, part in iv.groupby("branch"):
        current = np.abs(part["current_A"].to_numpy())
        ax.semilogy(
            part["voltage_V"],
            np.where(current > 0, current, np.nan),
            label=BRANCH_LABELS.get(int(branch), str(branch)),
        )
    if compliance_A is not None:
        ax.axhline(compliance_A, color="tab:red", ls=":", lw=1, label="compliance")
    for value, name, color in (
        (v_set_V, "V_set", "tab:green"),
        (v_reset_V, "V_reset", "tab:purple"),
    ):
        if value is not None and np.isfinite(value):
            ax.axvline(value, color=color, ls="--", lw=1, label=f"{name} = {value:.2f} V")
    ax.set_xlabel("V [V]")
    ax.set_ylabel("|I| [A]")
    ax.set_title("RRAM I-V")
    ax.legend(fontsize=7)
    return fig


def plot_iv(
    iv: pd.DataFrame,
    path: Path,
    compliance_A: float | None = None,
    v_set_V: float | None = None,
    v_reset_V: float | None = None,
) -> Path:
    """:func:`iv_figure` as a PNG."""
    return save_png(iv_figure(iv, compliance_A, v_set_V, v_reset_V), path)


def plot_conductance(pulses: pd.DataFrame, path: Path) -> Path:
    """Conductance [uS] vs pulse number, LTP and LTD marked."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for phase, part in pulses.groupby("phase", sort=False):
        ax.plot(part["pulse"], part["conductance_S"] * 1e6, "o-", ms=3, label=str(phase))
    ax.set_xlabel("pulse number")
    ax.set_ylabel("G [uS]")
    ax.set_title("RRAM conductance vs pulse (LTP / LTD)")
    ax.legend(fontsize=8)
    return save_png(fig, path)


__all__ = [
    "BRANCH_LABELS",
    "iv_figure",
    "plot_conductance",
    "plot_iv",
    "plot_pe_loop",
    "plot_pund",
    "pund_figure",
    "save_png",
]
