"""The characterization plots name what they show: legends for both PUND axes, the I-V
branches by meaning, V_set/V_reset and the compliance marked; read off the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bruno_hil.characterize.plots import BRANCH_LABELS, iv_figure, pund_figure


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_pund_has_one_legend_for_voltage_and_charge() -> None:
    t = np.linspace(0.0, 1e-5, 50)
    pund = pd.DataFrame(
        {"time_s": t, "voltage_V": np.sin(t * 1e6), "polarization_C_per_m2": 0.2 * np.cos(t)}
    )
    fig = pund_figure(pund)
    ax_v, ax_p = fig.axes
    assert _legend(ax_v) == ["applied V [V]", "plate charge Q/A [uC/cm$^2$]"]
    assert ax_v.get_xlabel() == "time [us]" and ax_p.get_ylabel() == "Q/A [uC/cm$^2$]"
    assert ax_v.get_lines()[0].get_xdata()[-1] == pytest.approx(10.0)  # us


def test_iv_names_the_branches_and_marks_set_reset_and_compliance() -> None:
    v = np.concatenate([np.linspace(0, 1, 5), np.linspace(1, 0, 5)] * 2) * np.repeat(
        [1, 1, -1, -1], 5
    )
    iv = pd.DataFrame(
        {"voltage_V": v, "current_A": 1e-5 * v + 1e-9, "branch": np.repeat([1, 2, 3, 4], 5)}
    )
    ax = iv_figure(iv, 1e-4, 0.62, -0.8).axes[0]
    assert _legend(ax) == [
        *BRANCH_LABELS.values(),
        "compliance",
        "V_set = 0.62 V",
        "V_reset = -0.80 V",
    ]
    assert BRANCH_LABELS[1].endswith("(SET)") and BRANCH_LABELS[3].endswith("(RESET)")
    v_set, v_reset = ax.get_lines()[-2:]
    assert list(v_set.get_xdata()) == [0.62, 0.62] and list(v_reset.get_xdata()) == [-0.8, -0.8]
    assert ax.get_xlabel() == "V [V]" and ax.get_ylabel() == "|I| [A]"
    # without the extracted voltages (e.g. a NaN from a flat sweep): no lines for them
    assert _legend(iv_figure(iv, None, float("nan")).axes[0]) == list(BRANCH_LABELS.values())
