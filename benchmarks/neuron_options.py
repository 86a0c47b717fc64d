"""Where the FeLIF neuron circuit's ngspice time goes, and what integration options buy.

Two tables, measured in this one run on ``--drives`` random piecewise-constant drives
(0-6 nA, ``--steps`` steps of 1 ms, like a trained output layer's):

1. **Options** (issue 14.1): for each variant of the circuit settings or the simulator
   options, the median wall time per simulation and its ratio to the default, the median
   number of time points, and the spike-time error against the tight ODE reference
   (:func:`bruno_hil.physics.fecap_ode.ode_reference`: LSODA, instantaneous reset; max and
   median over all spikes, and the drives whose spike count differs).
2. **Where the points go** in the default circuit: per spike, the points in the 1 us
   before it, during the reset (comparator on) and in the 1 us after; per input edge,
   the points in the 20 us after a step boundary.

Usage: ``python benchmarks/neuron_options.py [--drives 8] [--steps 50]``. Wall times are
of one process on a shared machine: read the ratios and the point counts, which do not
depend on the load.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np

from bruno_hil.chip.neuron_circuit import NeuronCircuitSettings, NeuronRun, simulate_neuron
from bruno_hil.devices.params import FeCapParams
from bruno_hil.physics.fecap_ode import OdeTrace, ode_reference
from bruno_hil.spice.options import SimOptions

DT_S = 1e-3
DEFAULT = NeuronCircuitSettings()
VARIANTS: dict[str, tuple[NeuronCircuitSettings, SimOptions]] = {
    "default (gear, reltol 1e-6, 1 ns edges)": (DEFAULT, SimOptions()),
    "largest step = network step": (
        dataclasses.replace(DEFAULT, max_step_fraction=1.0),
        SimOptions(),
    ),
    "100 ns input edges": (dataclasses.replace(DEFAULT, t_edge_s=1e-7), SimOptions()),
    "1 us input edges": (dataclasses.replace(DEFAULT, t_edge_s=1e-6), SimOptions()),
    "largest step = network step, 100 ns edges": (
        dataclasses.replace(DEFAULT, max_step_fraction=1.0, t_edge_s=1e-7),
        SimOptions(),
    ),
    "vntol 1e-4 V": (DEFAULT, SimOptions(vntol=1e-4)),
    "trapezoidal": (DEFAULT, SimOptions(method="trap")),
}


def drives_A(n: int, steps: int, seed: int = 1) -> np.ndarray:
    """[n, steps] input currents [A]: 0-6 nA, piecewise constant."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(2.5e-9, 1.5e-9, (n, steps)), 0.0, 6e-9)


def spike_errors_s(runs: list[NeuronRun], refs: list[OdeTrace | None]) -> tuple[np.ndarray, int]:
    """|chip - ODE| of every spike time [s] of the drives with equal counts, and the
    number of drives whose counts differ."""
    errors, mismatched = [], 0
    for run, ref in zip(runs, refs, strict=True):
        if ref is None:
            continue
        if run.spike_times_s.size != ref.spike_times_s.size:
            mismatched += 1
            continue
        errors.append(np.abs(run.spike_times_s - ref.spike_times_s))
    return (np.concatenate(errors) if errors else np.array([])), mismatched


def options_table(drives: np.ndarray, params: FeCapParams) -> None:
    refs: list[OdeTrace | None] = []
    for drive in drives:
        try:
            refs.append(ode_reference(drive, params, DT_S))
        except ValueError:  # left the clip range: no reference
            refs.append(None)
    print(f"\n1. options: {len(drives)} drives x {drives.shape[1]} steps, against the ODE")
    header = f"{'variant':44s} {'ms/sim':>8s} {'ratio':>6s} {'points':>7s}"
    print(header + f" {'max err us':>11s} {'med err us':>11s} {'count off':>9s}")
    base = None
    for name, (settings, options) in VARIANTS.items():
        walls, runs = [], []
        for drive in drives:
            start = time.perf_counter()
            runs.append(simulate_neuron(params, drive, DT_S, settings=settings, options=options))
            walls.append(time.perf_counter() - start)
        wall = statistics.median(walls)
        base = base or wall
        errors, mismatched = spike_errors_s(runs, refs)
        points = statistics.median(run.time_s.size for run in runs)
        worst = errors.max() * 1e6 if errors.size else float("nan")
        typical = np.median(errors) * 1e6 if errors.size else float("nan")
        print(
            f"{name:44s} {wall * 1e3:8.1f} {base / wall:5.2f}x {points:7.0f}"
            f" {worst:11.2f} {typical:11.2f} {mismatched:9d}"
        )


def points_table(drives: np.ndarray, params: FeCapParams) -> None:
    before = during = after = edges = spikes = total = 0
    n_edges = 0
    for drive in drives:
        run = simulate_neuron(params, drive, DT_S)
        t, on = run.time_s, run.wave_fire_V >= 0.5
        total += t.size
        for s in run.spike_times_s:
            window = (t > s - 1e-6) & (t < s + 1e-6)
            before += int(np.sum(window & (t < s) & ~on))
            during += int(np.sum(window & on))
            after += int(np.sum(window & (t > s) & ~on))
        spikes += run.spike_times_s.size
        since_edge = t - np.floor(t / DT_S + 1e-9) * DT_S
        edges += int(np.sum((since_edge < 20e-6) & (t > 0)))
        n_edges += drive.size - 1
    print(f"\n2. where the {total / len(drives):.0f} time points per simulation go (default)")
    print(f"   per spike ({spikes / len(drives):.1f} per simulation):")
    print(f"     1 us before {before / spikes:6.1f}   reset {during / spikes:6.1f}", end="")
    print(f"   1 us after {after / spikes:6.1f}")
    print(f"   per input edge: {edges / n_edges:6.1f} points in the 20 us after it")
    share = (before + during + after) / total
    print(f"   share of all points: spikes {share:.0%}, edges {edges / total:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drives", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    params = FeCapParams()
    drives = drives_A(args.drives, args.steps)
    options_table(drives, params)
    points_table(drives, params)


if __name__ == "__main__":
    main()
