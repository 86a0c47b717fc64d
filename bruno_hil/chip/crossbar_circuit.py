"""A network layer's RRAM crossbar as ngspice circuits: differential pairs, wire IR drop,
tiles, DAC and ADC.

Layout of one tile (``rows`` x ``2*pairs`` physical columns): row ``i`` is driven at its
left end by a voltage source (the DAC's read voltage), its wire runs across the columns
with ``r_wire_ohm`` per segment (source -> first cell, then between neighbouring cells).
Column ``k`` runs down the rows with ``r_wire_ohm`` per segment and leaves the last row
through one more segment into a 0 V source: the virtual ground of its sense amplifier,
whose branch current is the column current. Output ``j`` is the differential pair of
physical columns ``2j`` (G+) and ``2j+1`` (G-): ``I_j = I_2j - I_2j+1``. With
``r_wire_ohm = 0`` each row and each column is one node and ``I = (G+ - G-)^T V``.

A layer larger than a tile is partitioned into tiles (all in one netlist: a linear DC
solve has no stiff neighbour to slow it, unlike transients); each tile digitizes its
differential column currents with its own ADC (if set) and the partial sums of the tiles
stacked along the inputs are added, as on a chip. New inputs go in through ``alter`` on
the row sources and a rerun, cheaper than a reload; a sequence of inputs runs as one
transient (costs measured: ``docs/chip.md``).
Cells are linear conductances (a frozen RRAM read at ``v_read_V``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from bruno_hil.devices.params import RRAMParams
from bruno_hil.errors import BrunoHilError
from bruno_hil.physics.quantize import DEFAULT_QUANT_RANGE, grid_step
from bruno_hil.spice.runner import NgspiceRunner, SimResult
from bruno_hil.spice.values import spice_number

SEQUENCE_CHUNK = 128
"""Most input vectors per transient (PWL lookups cost O(points) per evaluation)."""


class CrossbarError(BrunoHilError, ValueError):
    """Bad conductances, inputs or crossbar settings."""


@dataclass(frozen=True)
class CrossbarSettings:
    """Hardware limits of the crossbar (SI units).

    ``tile_rows`` x ``tile_cols`` physical cells per tile (``tile_cols`` even: two per
    differential output); ``r_wire_ohm`` per wire segment; ``v_read_V`` the DAC's full
    scale (input 1 -> ``v_read_V`` on the row); ``dac_bits`` (None: ideal) quantizes inputs
    in [0, 1] to ``2**dac_bits - 1`` steps; ``adc_bits`` (None: ideal) quantizes each
    tile's differential column current symmetrically to ``2**(adc_bits-1) - 1`` steps of
    ``adc_full_scale_A / (2**(adc_bits-1) - 1)``, clipping at ``+-adc_full_scale_A``.
    """

    tile_rows: int = 32
    tile_cols: int = 32
    r_wire_ohm: float = 0.0
    v_read_V: float = 0.2
    dac_bits: int | None = None
    adc_bits: int | None = None
    adc_full_scale_A: float | None = None

    def __post_init__(self) -> None:
        for name in ("tile_rows", "tile_cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CrossbarError(f"CrossbarSettings.{name} = {value!r}: expected an int >= 1")
        if self.tile_cols % 2:
            raise CrossbarError(
                f"CrossbarSettings.tile_cols = {self.tile_cols}: must be even (differential"
                " pairs use two physical columns)"
            )
        _check_real(self.r_wire_ohm, "CrossbarSettings.r_wire_ohm", allow_zero=True)
        _check_real(self.v_read_V, "CrossbarSettings.v_read_V", allow_zero=False)
        for name in ("dac_bits", "adc_bits"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or not 1 <= value <= 24):
                raise CrossbarError(f"CrossbarSettings.{name} = {value!r}: expected 1..24 or None")
        if self.adc_bits is not None:
            if self.adc_bits < 2:
                raise CrossbarError("CrossbarSettings.adc_bits: a signed ADC needs >= 2 bits")
            if self.adc_full_scale_A is None:
                raise CrossbarError("CrossbarSettings: adc_bits needs adc_full_scale_A [A]")
            _check_real(self.adc_full_scale_A, "CrossbarSettings.adc_full_scale_A", False)

    @property
    def pairs_per_tile(self) -> int:
        """Differential outputs per tile."""
        return self.tile_cols // 2


def _check_real(value: float, name: str, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CrossbarError(f"{name} = {value!r}: expected a finite number")
    if value < 0 or (value == 0 and not allow_zero):
        raise CrossbarError(f"{name} = {value!r}: must be {'>= 0' if allow_zero else '> 0'}")


def _check_conductances(g_pos_S: np.ndarray, g_neg_S: np.ndarray) -> tuple[np.ndarray, ...]:
    pos = np.asarray(g_pos_S, dtype=np.float64)
    neg = np.asarray(g_neg_S, dtype=np.float64)
    if pos.ndim != 2 or pos.shape != neg.shape or pos.size == 0:
        raise CrossbarError(
            f"conductances: G+ and G- must be non-empty [inputs, outputs] matrices of the same"
            f" shape, got {pos.shape} and {neg.shape}"
        )
    for name, g in (("G+", pos), ("G-", neg)):
        bad = np.argwhere(~np.isfinite(g) | (g < 0))
        if bad.size:
            i, j = bad[0]
            raise CrossbarError(
                f"conductances: {name}[{i}, {j}] = {float(g[i, j])!r} S; every conductance must be"
                " finite and >= 0"
            )
    return pos, neg


def quantize_dac(x: np.ndarray, bits: int | None) -> np.ndarray:
    """Inputs in [0, 1] rounded to the DAC's ``2**bits - 1`` steps (``None``: unchanged)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)) or np.any((x < 0) | (x > 1)):
        raise CrossbarError("inputs: every input must lie in [0, 1] (1 = full read voltage)")
    if bits is None:
        return x
    levels = 2**bits - 1
    return np.round(x * levels) / levels


def quantize_adc(i_A: np.ndarray, bits: int | None, full_scale_A: float | None) -> np.ndarray:
    """Currents [A] rounded to a signed ADC's steps and clipped to ``+-full_scale_A``."""
    if bits is None or full_scale_A is None:
        return i_A
    levels = 2 ** (bits - 1) - 1
    lsb = full_scale_A / levels
    return np.clip(np.round(i_A / lsb), -levels, levels) * lsb


def conductance_range_S(params: RRAMParams, v_read_V: float) -> tuple[float, float]:
    """(lowest, highest) read conductance [S] of an RRAM cell at ``v_read_V``: the gap at
    ``g_max_m`` and at ``g_min_m`` (chord conductance I/V of the read equation)."""
    _check_real(v_read_V, "v_read_V", allow_zero=False)
    # imported here: the ngspice worker processes that import this module need no torch
    import torch

    from bruno_hil.physics.rram import DTYPE, RRAMTensors, rram_current_A

    d = RRAMTensors.from_params(params)
    gaps = torch.stack([d.g_max_m, d.g_min_m])
    g_lo, g_hi = (rram_current_A(torch.tensor(v_read_V, dtype=DTYPE), gaps, d) / v_read_V).tolist()
    return g_lo, g_hi


def program_conductances(
    weights: np.ndarray,
    g_min_S: float,
    g_max_S: float,
    bits: int,
    cv: float = 0.0,
    rng: np.random.Generator | None = None,
    quant_range: str = DEFAULT_QUANT_RANGE,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Map weights [inputs, outputs] to differential conductances (G+, G-) [S].

    Symmetric quantization to the nearest integer ``q`` in ``[-L, L]``,
    ``L = 2**(bits-1) - 1`` (3 bits: -3..3), on the grid that training used
    (:func:`bruno_hil.physics.quantize.grid_step` with ``quant_range``; weights beyond the
    top level clip); ``G+ = g_min + max(q, 0)*dG``, ``G- = g_min + max(-q, 0)*dG`` with
    ``dG = (g_max - g_min)/L``; device-to-device variability ``G*(1 + cv*N(0, 1))`` drawn
    once per device from ``rng`` (clipped at 0). Also returns the weight per siemens,
    ``w = scale*(G+ - G-)``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        raise CrossbarError("weights: expected a finite [inputs, outputs] matrix")
    if not (isinstance(bits, int) and bits >= 2):
        raise CrossbarError(f"bits = {bits!r}: a signed weight needs an int >= 2")
    if not 0 <= g_min_S < g_max_S or not math.isfinite(g_max_S):
        raise CrossbarError(f"need 0 <= g_min_S < g_max_S, got {g_min_S!r}, {g_max_S!r}")
    _check_real(cv, "cv", allow_zero=True)
    levels = 2 ** (bits - 1) - 1
    w_step = float(grid_step(torch.from_numpy(w), bits, quant_range)) if np.any(w) else 1.0
    q = np.clip(np.round(w / w_step), -levels, levels)
    step = (g_max_S - g_min_S) / levels
    g_pos = g_min_S + np.maximum(q, 0) * step
    g_neg = g_min_S + np.maximum(-q, 0) * step
    if cv > 0:
        rng = rng or np.random.default_rng()
        g_pos = np.maximum(g_pos * (1 + cv * rng.standard_normal(g_pos.shape)), 0.0)
        g_neg = np.maximum(g_neg * (1 + cv * rng.standard_normal(g_neg.shape)), 0.0)
    return g_pos, g_neg, w_step / step


def _offset_row(row_source: Callable[[int], str], offset: int, i: int) -> str:
    """``row_source`` of the layer's row ``offset + i`` (row ``i`` of a tile)."""
    return row_source(offset + i)


def _tile_lines(
    tag: str,
    g_pos: np.ndarray,
    g_neg: np.ndarray,
    r_wire_ohm: float,
    row_source: Callable[[int], str],
) -> list[str]:
    """Netlist lines of one tile; element and node names start with ``tag``; the source of
    the tile's row ``i`` has the value ``row_source(i)`` (already formatted)."""
    rows, pairs = g_pos.shape
    g = np.empty((rows, 2 * pairs))
    g[:, 0::2], g[:, 1::2] = g_pos, g_neg
    wired = r_wire_ohm > 0

    def row_node(i: int, k: int) -> str:
        return f"{tag}r{i}_{k}" if wired else f"{tag}r{i}"

    def col_node(k: int, i: int) -> str:
        return f"{tag}c{k}_{i}" if wired else f"{tag}s{k}"

    r = spice_number(r_wire_ohm, "r_wire_ohm")
    lines = []
    for i in range(rows):
        lines.append(f"V{tag}_{i} {f'{tag}in{i}' if wired else row_node(i, 0)} 0 {row_source(i)}")
        if wired:
            lines.append(f"Rw{tag}in{i} {tag}in{i} {row_node(i, 0)} {r}")
            lines += [
                f"Rw{tag}r{i}_{k} {row_node(i, k)} {row_node(i, k + 1)} {r}"
                for k in range(2 * pairs - 1)
            ]
    for k in range(2 * pairs):
        lines.append(f"Vs{tag}_{k} {tag}s{k} 0 0")
        lines.append(f".save i(Vs{tag}_{k})")
        if wired:
            lines += [
                f"Rw{tag}c{k}_{i} {col_node(k, i)} {col_node(k, i + 1)} {r}"
                for i in range(rows - 1)
            ]
            lines.append(f"Rw{tag}s{k} {col_node(k, rows - 1)} {tag}s{k} {r}")
        lines += [
            f"R{tag}_{i}_{k} {row_node(i, k)} {col_node(k, i)}"
            f" {spice_number(1.0 / g[i, k], f'1/G[{i}, {k}]')}"
            for i in range(rows)
            if g[i, k] > 0
        ]
    return lines


class CrossbarLayer:
    """A layer's differential crossbar over tiles, solved by ngspice (DC operating point).

    ``g_pos_S``, ``g_neg_S``: [inputs, outputs] conductances [S] (finite, >= 0; a 0 is an
    open cell). Tile ``(a, b)`` holds inputs ``a*tile_rows...`` and outputs
    ``b*pairs_per_tile...``; its row sources are ``Vt{a}x{b}_{i}`` and its sense sources
    ``Vst{a}x{b}_{k}``. ``row_blocks``, ``col_blocks``: the (start, stop) input and output
    index ranges of the tiles.
    """

    def __init__(
        self, g_pos_S: np.ndarray, g_neg_S: np.ndarray, settings: CrossbarSettings | None = None
    ) -> None:
        self.settings = settings or CrossbarSettings()
        self.g_pos_S, self.g_neg_S = _check_conductances(g_pos_S, g_neg_S)
        n_in, n_out = self.g_pos_S.shape
        s = self.settings
        self.row_blocks = [(i, min(i + s.tile_rows, n_in)) for i in range(0, n_in, s.tile_rows)]
        step = s.pairs_per_tile
        self.col_blocks = [(j, min(j + step, n_out)) for j in range(0, n_out, step)]
        self.netlist = self._netlist(lambda _row: "0", ".op")
        self._transfer_S: np.ndarray | None = None

    def _netlist(self, row_source: Callable[[int], str], analysis: str) -> str:
        """The layer's netlist; ``row_source(layer input index)`` formats a row source's
        value."""
        n_in, n_out = self.shape
        lines = [f"crossbar layer {n_in}x{n_out} on {self.n_tiles} tiles"]
        for a, (r0, r1) in enumerate(self.row_blocks):
            for b, (c0, c1) in enumerate(self.col_blocks):
                lines += _tile_lines(
                    f"t{a}x{b}",
                    self.g_pos_S[r0:r1, c0:c1],
                    self.g_neg_S[r0:r1, c0:c1],
                    self.settings.r_wire_ohm,
                    functools.partial(_offset_row, row_source, r0),
                )
        return "\n".join([*lines, analysis, ".end"])

    @property
    def shape(self) -> tuple[int, int]:
        """(inputs, outputs)."""
        return self.g_pos_S.shape

    @property
    def n_tiles(self) -> int:
        return len(self.row_blocks) * len(self.col_blocks)

    def ideal_currents_A(self, v_rows_V: np.ndarray) -> np.ndarray:
        """``(G+ - G-)^T V`` [A]: the crossbar without wire resistance, DAC or ADC."""
        return (self.g_pos_S - self.g_neg_S).T @ self._check_rows(v_rows_V)

    def _check_rows(self, v_rows_V: np.ndarray) -> np.ndarray:
        """Row voltages [V] as given: [inputs] or [steps, inputs]."""
        v = np.asarray(v_rows_V, dtype=np.float64)
        if v.ndim not in (1, 2) or v.shape[-1] != self.shape[0] or not np.all(np.isfinite(v)):
            raise CrossbarError(
                f"row voltages: expected [{self.shape[0]}] or [steps, {self.shape[0]}] finite"
                f" values [V], got shape {v.shape}"
            )
        return v

    def _read_tiles(self, result: SimResult) -> np.ndarray:
        """Differential column currents [A], [points, row tiles, outputs], of a result."""
        n_points = result["time"].size if "time" in result else 1
        out = np.zeros((n_points, len(self.row_blocks), self.shape[1]))
        for a in range(len(self.row_blocks)):
            for b, (c0, c1) in enumerate(self.col_blocks):
                for j in range(c1 - c0):
                    plus = result[f"vst{a}x{b}_{2 * j}#branch"]
                    minus = result[f"vst{a}x{b}_{2 * j + 1}#branch"]
                    out[:, a, c0 + j] = plus - minus
        return out

    def sequence_netlist(self, v_rows_V: np.ndarray) -> str:
        """The transient that steps the rows through ``v_rows_V`` [steps >= 2, inputs] [V],
        one vector per second of simulated time (PWL row sources)."""
        v = self._check_rows(v_rows_V)
        if v.ndim != 2 or v.shape[0] < 2:
            raise CrossbarError(
                f"a sequence needs [steps >= 2, inputs] row voltages, got {v.shape}"
            )
        return self._netlist(
            lambda row: (
                "PWL("
                + " ".join(
                    f"{k} {spice_number(float(x), 'row voltage')}" for k, x in enumerate(v[:, row])
                )
                + ")"
            ),
            f".tran 1 {v.shape[0] - 1}",
        )

    def tile_currents_A(self, v_rows_V: np.ndarray, reload: bool = False) -> np.ndarray:
        """Differential column currents [A] of every tile, [row tiles, outputs], for row
        voltages ``v_rows_V`` [V] [inputs]; or [steps, row tiles, outputs] for [steps,
        inputs]. One input vector: an ngspice DC solve; the circuit is loaded once and later
        inputs ``alter`` the row sources (``reload=True`` loads it afresh). Several: one
        transient whose PWL row sources step through them, 1 s per step (the circuit is
        resistive, so each time point is a DC solve, and the matrix is ordered once)."""
        v = self._check_rows(v_rows_V)
        runner = NgspiceRunner.shared()
        if v.ndim == 2:
            steps = v.shape[0]
            if steps == 1:
                return self.tile_currents_A(v[0], reload)[None]
            if steps > SEQUENCE_CHUNK:  # ngspice scans PWL points linearly: keep them short
                return np.concatenate(
                    [
                        self.tile_currents_A(v[k : k + SEQUENCE_CHUNK])
                        for k in range(0, steps, SEQUENCE_CHUNK)
                    ]
                )
            result = runner.simulate(self.sequence_netlist(v))
            at = np.searchsorted(result["time"], np.arange(steps) - 1e-9)
            if not np.allclose(result["time"][at], np.arange(steps), rtol=0, atol=1e-9):
                raise CrossbarError("internal: the transient missed a step's time point")
            return self._read_tiles(result)[at]
        # The runner keeps the loaded text; alter only when that is still our circuit.
        if reload or runner.loaded_netlist != self.netlist:
            runner.load(self.netlist)
        for a, (r0, r1) in enumerate(self.row_blocks):
            for b in range(len(self.col_blocks)):
                for i in range(r1 - r0):
                    runner.alter(f"Vt{a}x{b}_{i}", float(v[r0 + i]))
        return self._read_tiles(runner.run())[0]

    def transfer_S(self) -> np.ndarray:
        """The crossbar's transfer conductances [S], [inputs, row tiles, outputs]: the
        differential current of every tile per volt on each row, with the wire IR drop.
        ngspice computes it once (a transient stepping ``v_read_V`` through the rows one at
        a time) and it is kept: the read path is linear (cells at their read conductance),
        so every read is ``V @ transfer`` exactly."""
        if self._transfer_S is None:
            v_read = self.settings.v_read_V
            self._transfer_S = self.tile_currents_A(v_read * np.eye(self.shape[0])) / v_read
        return self._transfer_S

    def column_currents_A(
        self, v_rows_V: np.ndarray, reload: bool = False, via_transfer: bool = False
    ) -> np.ndarray:
        """Layer output currents [A], [outputs] (or [steps, outputs]): the tiles'
        differential currents, each through its ADC, summed over the tiles stacked along the
        inputs. The tile currents come from ngspice for these inputs (see
        :meth:`tile_currents_A`) or, with ``via_transfer``, from the transfer conductances
        ngspice computed once (:meth:`transfer_S`; exact, the circuit is linear)."""
        if via_transfer:
            v = self._check_rows(v_rows_V)
            tiles = np.einsum("...i,iao->...ao", v, self.transfer_S())
        else:
            tiles = self.tile_currents_A(v_rows_V, reload)
        s = self.settings
        return quantize_adc(tiles, s.adc_bits, s.adc_full_scale_A).sum(axis=-2)

    def forward(self, x: np.ndarray, via_transfer: bool = False) -> np.ndarray:
        """Output currents [A] for inputs ``x`` in [0, 1] (spikes: 0 or 1), [inputs] or
        [steps, inputs], through the DAC (``v = v_read_V*quantize(x)``), the circuit and
        the ADCs (see :meth:`column_currents_A`)."""
        s = self.settings
        return self.column_currents_A(
            s.v_read_V * quantize_dac(x, s.dac_bits), via_transfer=via_transfer
        )


__all__ = [
    "CrossbarError",
    "CrossbarLayer",
    "CrossbarSettings",
    "conductance_range_S",
    "program_conductances",
    "quantize_adc",
    "quantize_dac",
]
