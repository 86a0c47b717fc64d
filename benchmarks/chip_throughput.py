"""Throughput of the ngspice chip's forward pass, next to a naive loop and the bare solve.

Three tables, each measured in this one run (medians over ``--repeats``):

1. **Neuron layer** (the chip part of the default network: ``--neurons`` FeLIF output
   neurons x ``--samples`` samples of ``--steps`` 1 ms steps, drives like a trained network's):
   * ``naive``: write each (sample, neuron) netlist to a file and run a fresh
     ``ngspice -b -r out.raw`` on it, one after another;
   * ``bare solve``: the sum of ngspice's own "Total analysis time" of those runs (the
     floor for any way of driving ngspice on one core);
   * ``toolkit, W workers``: :meth:`NgspiceChip.run_neurons` with W local processes.
2. **Presenting samples** to one neuron: one transient per sample (what the chip does)
   vs all samples back to back in one transient (no reset between them: a lower bound on
   the cost of a sequence-with-reset circuit).
3. **Crossbar read** per input vector for 16 to 128 inputs x 32 outputs:
   one DC solve reloaded vs load once + ``alter`` + rerun vs ``ngspice -b``; and a sequence
   of input vectors as transients vs ngspice's own analysis time of the same netlists; and
   reads through the transfer conductances (how training reads by default: solved once per
   programming, then a matrix product per vector).

Usage: ``python benchmarks/chip_throughput.py [--samples 4] [--neurons 8] [--steps 100]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from bruno_hil.chip.crossbar_circuit import CrossbarLayer
from bruno_hil.chip.neuron_circuit import neuron_netlist, simulate_neuron
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.devices.params import FeCapParams
from bruno_hil.spice.options import SimOptions, with_options

DT_S = 1e-3
_ANALYSIS_RE = re.compile(r"Total analysis time \(seconds\) = ([0-9.eE+-]+)")


def drives_A(samples: int, neurons: int, steps: int, seed: int = 0) -> np.ndarray:
    """[T, B, N] input currents [A]: 0-6 nA, piecewise constant, like a trained layer's."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(2.5e-9, 1.5e-9, (steps, samples, neurons)), 0.0, 6e-9)


def median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def naive_loop(netlists: list[str], ngspice: str) -> tuple[float, float]:
    """(wall [s], summed ngspice analysis time [s]) of one fresh ``ngspice -b`` per
    netlist, each written to its own file first."""
    analysis = 0.0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k, text in enumerate(netlists):
            path = Path(tmp) / f"n{k}.cir"
            path.write_text(text)
            out = subprocess.run(
                [ngspice, "-b", "-r", str(Path(tmp) / "out.raw"), str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            found = _ANALYSIS_RE.search(out.stdout + out.stderr)
            analysis += float(found.group(1)) if found else float("nan")
    return time.perf_counter() - start, analysis


def neuron_layer_table(args: argparse.Namespace, ngspice: str) -> None:
    params = FeCapParams()
    currents = drives_A(args.samples, args.neurons, args.steps)
    opts = SimOptions(reltol=1e-6, method="gear")
    netlists = [
        with_options(neuron_netlist(params, currents[:, b, k], DT_S), opts)
        for b in range(args.samples)
        for k in range(args.neurons)
    ]
    runs = [naive_loop(netlists, ngspice) for _ in range(args.repeats)]
    naive = statistics.median(r[0] for r in runs)
    bare = statistics.median(r[1] for r in runs)
    rows = [("naive (file + fresh ngspice -b per run)", naive), ("bare solve (sum)", bare)]
    for workers in sorted({1, 2, os.cpu_count() or 1}):
        chip = NgspiceChip(workers=workers)
        chip.run_neurons("output", currents[:, :1, :1], DT_S, params)  # start the workers
        rows.append(
            (
                f"toolkit, {workers} worker{'s' if workers > 1 else ''}",
                median_s(
                    lambda c=chip: c.run_neurons("output", currents, DT_S, params), args.repeats
                ),
            )
        )
        chip.close()
    print(
        f"\n1. neuron layer: {args.samples} samples x {args.neurons} neurons x {args.steps}"
        f" steps ({args.samples * args.neurons} simulations)"
    )
    print(f"{'method':42s} {'s/sample':>9s} {'samples/s':>10s} {'vs bare':>8s} {'vs naive':>9s}")
    for name, total in rows:
        per = total / args.samples
        print(f"{name:42s} {per:9.3f} {1 / per:10.2f} {total / bare:7.2f}x {naive / total:8.1f}x")


def presentation_table(args: argparse.Namespace) -> None:
    params = FeCapParams()
    currents = drives_A(args.samples, 1, args.steps, seed=1)[:, :, 0]
    per_sample = median_s(
        lambda: [simulate_neuron(params, currents[:, b], DT_S) for b in range(args.samples)],
        args.repeats,
    )
    in_sequence = median_s(
        lambda: simulate_neuron(params, currents.T.reshape(-1), DT_S), args.repeats
    )
    print(f"\n2. presenting {args.samples} samples of {args.steps} steps to one neuron")
    print(f"{'method':42s} {'s/sample':>9s} {'ratio':>8s}")
    print(f"{'one transient per sample':42s} {per_sample / args.samples:9.3f} {1.0:7.2f}x")
    print(
        f"{'back to back in one transient (no reset)':42s}"
        f" {in_sequence / args.samples:9.3f} {in_sequence / per_sample:7.2f}x"
    )


def crossbar_table(args: argparse.Namespace, ngspice: str) -> None:
    rng = np.random.default_rng(2)
    seq = 200
    print(
        "\n3. crossbar read per input vector (32 outputs as pairs on 32x32 tiles): one DC"
        f" solve (reload / alter + rerun / ngspice -b); {seq} vectors as transients (chunks of"
        " 128) vs ngspice -b's own analysis time of them; and via the transfer conductances"
        " (solved once per programming, its cost in the last column)"
    )
    print(
        f"{'inputs':>6s} {'reload ms':>10s} {'alter ms':>9s} {'ngspice -b ms':>14s}"
        f" {'seq ms/vec':>11s} {'bare ms/vec':>12s} {'seq/bare':>9s}"
        f" {'transfer ms/vec':>16s} {'solve transfer ms':>18s}"
    )
    for n_in in (16, 32, 64, 128):
        g = rng.uniform(1e-6, 1e-4, (2, n_in, 32))
        layer = CrossbarLayer(g[0], g[1])
        v = rng.uniform(0, 1, n_in)
        reload = median_s(partial(layer.column_currents_A, v, reload=True), args.repeats * 5)
        layer.column_currents_A(v)
        alter = median_s(partial(layer.column_currents_A, v), args.repeats * 5)
        bare = statistics.median(
            naive_loop([layer.netlist], ngspice)[0] for _ in range(args.repeats * 2)
        )
        vs = rng.uniform(0, 0.2, (seq, n_in))
        in_seq = median_s(partial(layer.column_currents_A, vs), args.repeats) / seq
        chunks = [layer.sequence_netlist(vs[k : k + 128]) for k in range(0, seq, 128)]
        bare_seq = (
            statistics.median(naive_loop(chunks, ngspice)[1] for _ in range(args.repeats)) / seq
        )
        solve = median_s(lambda g=g: CrossbarLayer(g[0], g[1]).transfer_S(), args.repeats)
        layer.transfer_S()
        via = median_s(partial(layer.column_currents_A, vs, via_transfer=True), args.repeats)
        print(
            f"{n_in:6d} {reload * 1e3:10.2f} {alter * 1e3:9.2f} {bare * 1e3:14.2f}"
            f" {in_seq * 1e3:11.3f} {bare_seq * 1e3:12.3f} {in_seq / bare_seq:8.2f}x"
            f" {via / seq * 1e3:16.4f} {solve * 1e3:18.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--neurons", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        raise SystemExit("the ngspice executable is needed for the naive and bare columns")
    print(f"cores: {os.cpu_count()}; medians over {args.repeats} repeats")
    neuron_layer_table(args, ngspice)
    presentation_table(args)
    crossbar_table(args, ngspice)


if __name__ == "__main__":
    main()
