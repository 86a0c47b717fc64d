"""The crossbar tile circuits in real ngspice against G.V and an independent nodal solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import spsolve

from bruno_hil.chip.crossbar_circuit import (
    CrossbarError,
    CrossbarLayer,
    CrossbarSettings,
    conductance_range_S,
    program_conductances,
    quantize_adc,
    quantize_dac,
)
from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics.quantize import grid_step, quantize_weights

RNG = np.random.default_rng(7)


def _conductances(rows: int, outs: int) -> tuple[np.ndarray, np.ndarray]:
    return RNG.uniform(1e-6, 1e-4, (rows, outs)), RNG.uniform(1e-6, 1e-4, (rows, outs))


def _nodal_solve(g: np.ndarray, v_rows: np.ndarray, r: float) -> np.ndarray:
    """Physical column currents [A] of one tile (cells g [rows, cols]) with wire resistance
    r per segment: row i driven at its left end, column k sensed at its bottom end."""
    rows, cols = g.shape
    n = 2 * rows * cols
    row = lambda i, k: i * cols + k  # noqa: E731
    col = lambda k, i: rows * cols + k * rows + i  # noqa: E731
    a = sp.lil_matrix((n, n))
    b = np.zeros(n)

    def stamp(x: int, y: int | None, gval: float, v_fixed: float = 0.0) -> None:
        a[x, x] += gval
        if y is None:
            b[x] += gval * v_fixed
        else:
            a[y, y] += gval
            a[x, y] -= gval
            a[y, x] -= gval

    gw = 1.0 / r
    for i in range(rows):
        stamp(row(i, 0), None, gw, v_rows[i])
        for k in range(cols - 1):
            stamp(row(i, k), row(i, k + 1), gw)
    for k in range(cols):
        for i in range(rows - 1):
            stamp(col(k, i), col(k, i + 1), gw)
        stamp(col(k, rows - 1), None, gw)
        for i in range(rows):
            stamp(row(i, k), col(k, i), g[i, k])
    x = spsolve(a.tocsr(), b)
    return np.array([x[col(k, rows - 1)] * gw for k in range(cols)])


def test_ideal_wires_give_g_times_v() -> None:
    gp, gn = _conductances(12, 5)
    layer = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=16, tile_cols=16))
    v = RNG.uniform(0.0, 0.2, 12)
    ideal = (gp - gn).T @ v
    got = layer.column_currents_A(v, reload=True)
    assert np.allclose(got, ideal, rtol=1e-9, atol=1e-9 * np.abs(ideal).max())
    v2 = RNG.uniform(0.0, 0.2, 12)  # the alter-and-rerun path
    assert np.allclose(layer.column_currents_A(v2), (gp - gn).T @ v2, rtol=1e-9, atol=1e-15)


def test_wire_resistance_matches_a_nodal_solve_and_drops_current() -> None:
    rows, outs, r = 8, 4, 5.0
    gp, gn = _conductances(rows, outs)
    gp[:, 0], gn[:, 0] = 1e-4, 1e-6  # a strongly positive output: IR drop shrinks it
    layer = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=8, tile_cols=8, r_wire_ohm=r))
    v = RNG.uniform(0.05, 0.2, rows)
    got = layer.column_currents_A(v, reload=True)
    g = np.empty((rows, 2 * outs))
    g[:, 0::2], g[:, 1::2] = gp, gn
    physical = _nodal_solve(g, v, r)
    expected = physical[0::2] - physical[1::2]
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # IR drop: every physical column carries less than its ideal G.V
    assert np.all(physical < g.T @ v)
    ideal = layer.ideal_currents_A(v)
    assert 0 < got[0] < ideal[0]
    assert 1e-4 < (ideal[0] - got[0]) / ideal[0] < 0.1


def test_a_sequence_in_one_transient_equals_step_by_step_solves() -> None:
    gp, gn = _conductances(10, 3)
    layer = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=8, tile_cols=4, r_wire_ohm=3.0))
    x = RNG.integers(0, 2, (6, 10)).astype(float)
    x[0], x[2] = 1.0, 0.0  # all inputs on; a silent step
    sequence = layer.forward(x)
    assert sequence.shape == (6, 3)
    one_by_one = np.array([layer.forward(row) for row in x])
    assert np.allclose(sequence, one_by_one, rtol=1e-9, atol=1e-15)
    assert np.all(np.abs(sequence[2]) < 1e-18) and np.all(np.abs(sequence[0]) > 1e-8)
    assert not np.allclose(sequence[0], sequence[3])


def test_transfer_reads_equal_transient_reads_with_wires_tiles_and_adc() -> None:
    """The transfer conductances ngspice solves once give the same currents as a transient
    per input vector: wire IR drop, tiling, DAC and ADC included, longer sequences chunked."""
    gp, gn = _conductances(20, 6)
    settings = CrossbarSettings(
        tile_rows=8, tile_cols=8, r_wire_ohm=2.0, dac_bits=4, adc_bits=8, adc_full_scale_A=1e-4
    )
    layer = CrossbarLayer(gp, gn, settings)
    x = RNG.uniform(0.0, 1.0, (300, 20))  # > SEQUENCE_CHUNK: three transients
    assert layer.transfer_S().shape == (20, 3, 6)
    transient = layer.forward(x)
    transfer = layer.forward(x, via_transfer=True)
    assert np.allclose(transfer, transient, rtol=1e-9, atol=1e-12 * np.abs(transient).max())
    # the ADC is active (tile currents on its steps)
    lsb = 1e-4 / 127
    tiles = np.einsum("si,iao->sao", 0.2 * quantize_dac(x, 4), layer.transfer_S())
    assert np.abs(tiles).max() > 10 * lsb
    assert not np.allclose(transfer, tiles.sum(axis=1), rtol=0, atol=0.01 * lsb)
    assert np.allclose(transfer, tiles.sum(axis=1), rtol=0, atol=3 * 0.5 * lsb)
    # ideal wires: the transfer is G+ - G- on each row's own tile, 0 elsewhere; wires change it
    ideal = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=8, tile_cols=8)).transfer_S()
    own = np.array([i // 8 for i in range(20)])
    assert np.allclose(ideal[np.arange(20), own], gp - gn, rtol=1e-9, atol=1e-15)
    ideal[np.arange(20), own] = 0.0
    assert np.all(ideal == 0.0)
    wired = layer.transfer_S()[np.arange(20), own]
    assert not np.allclose(wired, gp - gn, rtol=1e-4, atol=0)


def test_tiling_matches_the_untiled_layer() -> None:
    gp, gn = _conductances(40, 10)
    layer = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=16, tile_cols=16))
    assert layer.n_tiles == 3 * 2
    v = RNG.uniform(0.0, 0.2, 40)
    tiles = layer.tile_currents_A(v, reload=True)
    assert tiles.shape == (3, 10)
    assert np.allclose(tiles.sum(axis=0), (gp - gn).T @ v, rtol=1e-9, atol=1e-15)
    assert np.allclose(tiles[0], (gp[:16] - gn[:16]).T @ v[:16], rtol=1e-9, atol=1e-15)


def test_tiles_with_wire_resistance_match_nodal_solves_per_tile() -> None:
    gp, gn = _conductances(20, 6)
    r = 2.0
    layer = CrossbarLayer(gp, gn, CrossbarSettings(tile_rows=8, tile_cols=8, r_wire_ohm=r))
    v = RNG.uniform(0.0, 0.2, 20)
    tiles = layer.tile_currents_A(v, reload=True)
    for a, (r0, r1) in enumerate(layer.row_blocks):
        for c0, c1 in layer.col_blocks:
            g = np.empty((r1 - r0, 2 * (c1 - c0)))
            g[:, 0::2], g[:, 1::2] = gp[r0:r1, c0:c1], gn[r0:r1, c0:c1]
            physical = _nodal_solve(g, v[r0:r1], r)
            expected = physical[0::2] - physical[1::2]
            scale = np.abs(physical).max()
            assert np.allclose(tiles[a, c0:c1], expected, rtol=1e-6, atol=1e-6 * scale)


def test_dac_and_adc_quantize() -> None:
    assert quantize_dac(np.array([0.0, 0.2, 0.5, 1.0]), 2).tolist() == [0, 1 / 3, 2 / 3, 1]
    with pytest.raises(CrossbarError, match=r"\[0, 1\]"):
        quantize_dac(np.array([1.5]), 2)
    i = np.array([0.0, 0.26e-6, -0.74e-6, 5e-6])
    assert np.allclose(quantize_adc(i, 3, 3e-6), [0.0, 0.0, -1e-6, 3e-6])
    gp, gn = _conductances(20, 3)
    s = CrossbarSettings(tile_rows=8, tile_cols=8, adc_bits=4, adc_full_scale_A=2e-5)
    layer = CrossbarLayer(gp, gn, s)
    x = RNG.integers(0, 2, 20).astype(float)
    tiles = layer.tile_currents_A(s.v_read_V * x, reload=True)
    assert np.allclose(layer.forward(x), quantize_adc(tiles, 4, 2e-5).sum(axis=0), atol=1e-15)


def test_programmed_conductances() -> None:
    g_lo, g_hi = conductance_range_S(RRAMParams(), 0.2)
    assert 0 < g_lo < g_hi
    w = np.array([[1.0, -0.5], [0.0, -1.0]])
    gp, gn, scale = program_conductances(w, g_lo, g_hi, bits=3, quant_range="abs_max")
    assert np.allclose(scale * (gp - gn), np.round(w * 3) / 3)
    assert np.all(np.minimum(gp, gn) == g_lo)
    noisy, _, _ = program_conductances(
        w, g_lo, g_hi, bits=3, cv=0.1, rng=np.random.default_rng(1), quant_range="abs_max"
    )
    assert not np.allclose(noisy, gp) and np.allclose(noisy, gp, rtol=0.5)


def test_programming_follows_the_mse_grid_of_training() -> None:
    """With the MSE range the chip programs the same nearest levels as training's grid:
    the outliers clip to the top level and the small weights keep their resolution."""
    g_lo, g_hi = conductance_range_S(RRAMParams(), 0.2)
    w = np.random.default_rng(3).laplace(0.0, 0.05, (40, 10))
    w[0, :2] = [1.0, -1.0]
    step = float(grid_step(torch.from_numpy(w), 3, "mse"))
    assert step < 0.7 * 1.0 / 3  # abs-max: the step 1/3 puts most small weights on 0
    gp, gn, scale = program_conductances(w, g_lo, g_hi, bits=3, quant_range="mse")
    expected = np.clip(np.round(w / step), -3, 3) * step
    assert np.allclose(scale * (gp - gn), expected)
    trained = quantize_weights(torch.from_numpy(w), 3, stochastic=False, quant_range="mse")
    assert np.allclose(scale * (gp - gn), trained.numpy())
    assert np.count_nonzero(expected) > 2 * np.count_nonzero(np.round(w / (1.0 / 3)))


@pytest.mark.parametrize(
    ("gp", "gn", "match"),
    [
        (np.full((2, 2), np.nan), np.ones((2, 2)), r"G\+\[0, 0\] = nan"),
        (np.ones((2, 2)), -np.ones((2, 2)), r"G-\[0, 0\] = -1.0"),
        (np.ones((2, 2)), np.ones((2, 3)), "same shape"),
    ],
)
def test_bad_conductances_are_refused(gp: np.ndarray, gn: np.ndarray, match: str) -> None:
    with pytest.raises(CrossbarError, match=match):
        CrossbarLayer(gp, gn)


def test_bad_inputs_and_settings_are_refused() -> None:
    layer = CrossbarLayer(np.ones((3, 2)) * 1e-5, np.ones((3, 2)) * 1e-6)
    with pytest.raises(CrossbarError, match=r"expected \[3\]"):
        layer.column_currents_A(np.zeros(4))
    with pytest.raises(CrossbarError, match="even"):
        CrossbarSettings(tile_cols=5)
    with pytest.raises(CrossbarError, match="adc_full_scale_A"):
        CrossbarSettings(adc_bits=4)
