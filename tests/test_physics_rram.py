"""The torch RRAM cell against the compact model's equations (the Verilog-A source
itself, evaluated by verilogae), plus the exact ramp step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import verilogae
from scipy.integrate import quad

from bruno_hil.devices.compact import RRAM_VA
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics import (
    RRAMTensors,
    gap_rate_m_per_s,
    mean_gap_rate_m_per_s,
    rram_current_A,
    rram_step,
)

PARAMS = RRAMParams(i_0_A=3e-5, g_0_m=0.3e-9, v_0_V=0.3, vel_0_m_per_s=40.0, gamma=14.0)
"""Non-default values, so that a swapped or ignored field shows."""
VOLTS = np.linspace(-1.5, 1.5, 31)
GAPS = np.linspace(PARAMS.g_min_m, PARAMS.g_max_m, 7)


def _t(x: np.ndarray | float) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def test_current_and_rate_match_the_verilog_a_model() -> None:
    model = verilogae.load(str(RRAM_VA)).functions
    v, g = np.meshgrid(VOLTS, GAPS)
    voltages = {"br_topbot": v.ravel(), "br_gap": g.ravel() * 1e9}
    fields = PARAMS.as_dict()
    for name, torch_value in (
        ("i_cell_A", rram_current_A(_t(v), _t(g), RRAMTensors.from_params(PARAMS))),
        ("rate_free_m_per_s", gap_rate_m_per_s(_t(v), RRAMTensors.from_params(PARAMS))),
    ):
        fn = model[name]
        kw = {k: fields[k] for k in fn.parameters if k in fields}
        va = np.asarray(fn.eval(temperature=PARAMS.temperature_K, voltages=voltages, **kw))
        np.testing.assert_allclose(torch_value.numpy().ravel(), va, rtol=1e-9, atol=0.0)


@pytest.mark.parametrize(("v0", "v1"), [(0.2, 0.9), (-0.3, -1.1), (0.4, 0.4), (-0.5, 0.5)])
def test_ramp_mean_is_the_time_average(v0: float, v1: float) -> None:
    d = RRAMTensors.from_params(PARAMS)
    mean = mean_gap_rate_m_per_s(_t(v0), _t(v1), d).item()
    expected, _ = quad(lambda s: gap_rate_m_per_s(_t(v0 + (v1 - v0) * s), d).item(), 0.0, 1.0)
    scale = abs(gap_rate_m_per_s(_t(max(abs(v0), abs(v1))), d).item())
    assert mean == pytest.approx(expected, rel=1e-9, abs=1e-12 * scale)


def test_step_is_confined_and_moves_the_right_way() -> None:
    d = RRAMTensors.from_params(PARAMS)
    g = _t(np.full(4, 1.0e-9))
    v = _t([1.5, 0.35, -0.35, -1.5])
    for _ in range(5):
        g = rram_step(g, v, 1e-3, d)
    assert g[0].item() == PARAMS.g_min_m and g[3].item() == PARAMS.g_max_m
    assert PARAMS.g_min_m < g[1].item() < 1.0e-9 < g[2].item() < PARAMS.g_max_m
    # many small ramp steps agree with the exact one-step ramp inside the window
    one = rram_step(_t(1.0e-9), _t(0.2), 0.01, d, v_end_V=_t(0.4)).item()
    fine = _t(1.0e-9)
    for k in range(2000):
        fine = rram_step(fine, _t(0.2 + 0.2 * (k + 0.5) / 2000), 0.01 / 2000, d)
    assert one == pytest.approx(fine.item(), rel=1e-6)
    assert PARAMS.g_min_m < one < 0.9e-9  # the ramp moved the gap, inside the window


def test_gradients_are_finite_in_float64() -> None:
    theta = {k: _t(v).requires_grad_(True) for k, v in PARAMS.as_dict().items()}
    d = RRAMTensors(theta)
    gap = rram_step(_t(1.2e-9), _t(0.7), 1e-4, d, v_end_V=_t(0.7))  # zero-width ramp
    i = rram_current_A(_t(0.1), gap, d)
    assert i.dtype == torch.float64
    i.backward()
    for name in ("i_0_A", "g_0_m", "v_0_V", "vel_0_m_per_s", "gamma", "e_a_eV"):
        grad = theta[name].grad
        assert grad is not None and torch.isfinite(grad) and grad != 0.0, name
