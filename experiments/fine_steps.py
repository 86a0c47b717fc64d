"""Spike counts per network step of the fine forward against a tight ODE solution
(issue 15.5), at several inner-step counts.

``--drives`` random single-neuron drives (default FeCap parameters, from rest): each has a
mean current log-uniform in [``--i-min``, ``--i-max``] and, per 1 ms step, a current uniform
in [0, 2*mean]. The reference is :func:`bruno_hil.physics.fecap_ode.ode_reference` (LSODA,
rtol 1e-10, threshold events). Per ``n_inner`` the table counts network steps whose spike
count differs from the reference, drives with any such step, spikes lost or added, and the
largest |V| error at step ends over the steps before a drive's first wrong count; and, for
each wrong count, how far the nearest reference spike lies from a step boundary [us].
Run: ``python experiments/fine_steps.py [--drives 40] [--steps 20] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from bruno_hil.devices import FeCapParams
from bruno_hil.physics import FeCapTensors, FeLIFState, fine_trajectory
from bruno_hil.physics.fecap import DTYPE
from bruno_hil.physics.fecap_ode import OdeTrace, ode_reference

DT_S = 1e-3


def drives(n: int, steps: int, i_min_A: float, i_max_A: float, seed: int) -> np.ndarray:
    """[n, steps] input currents [A] (see the module docstring)."""
    rng = np.random.default_rng(seed)
    means = np.exp(rng.uniform(np.log(i_min_A), np.log(i_max_A), n))
    return rng.uniform(0.0, 2.0, (n, steps)) * means[:, None]


def boundary_distance_us(ref: OdeTrace, step: int) -> float:
    """Distance [us] from the reference spike nearest to the edges of ``step``."""
    edges = np.array([step, step + 1]) * DT_S
    if ref.spike_times_s.size == 0:
        return float("nan")
    return 1e6 * float(np.abs(ref.spike_times_s[:, None] - edges[None, :]).min())


def compare(currents: np.ndarray, refs: list[OdeTrace], n_inner: int) -> dict:
    """The fine forward at ``n_inner`` (all drives as one batch) against the references."""
    d = FeCapTensors.from_params(FeCapParams())
    batch = torch.tensor(currents.T[:, :, None], dtype=DTYPE)
    trace = fine_trajectory(FeLIFState.rest(d, (currents.shape[0], 1)), batch, DT_S, n_inner, d)
    spikes = trace.spikes[:, :, 0].T.numpy()
    v_end = trace.v_V[:, :, 0].T.numpy()
    wrong_steps, wrong_drives, v_err, distances = 0, 0, 0.0, []
    for k, ref in enumerate(refs):
        wrong = np.flatnonzero(spikes[k] != ref.spikes)
        wrong_steps += wrong.size
        wrong_drives += wrong.size > 0
        good = wrong[0] if wrong.size else spikes.shape[1]
        if good:
            v_err = max(v_err, float(np.abs(v_end[k, :good] - ref.v_V[:good]).max()))
        distances += [boundary_distance_us(ref, int(s)) for s in wrong]
    return {
        "n_inner": n_inner,
        "wrong_steps": int(wrong_steps),
        "steps": int(spikes.size),
        "wrong_drives": int(wrong_drives),
        "spikes_lost_or_added": int(np.abs(spikes.sum(1) - [r.spikes.sum() for r in refs]).sum()),
        "max_v_error_V": v_err,
        "wrong_count_boundary_distance_us": distances,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drives", type=int, default=40)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--i-min", type=float, default=2e-9, help="[A]")
    parser.add_argument("--i-max", type=float, default=40e-9, help="[A]")
    parser.add_argument("--n-inner", type=int, nargs="+", default=[20, 50, 100, 200, 500, 1000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    currents = drives(args.drives, args.steps, args.i_min, args.i_max, args.seed)
    refs = [ode_reference(c, FeCapParams(), DT_S) for c in currents]
    n_spikes = sum(int(r.spikes.sum()) for r in refs)
    rows = [compare(currents, refs, n) for n in args.n_inner]
    print(
        f"{args.drives} drives x {args.steps} steps, {args.i_min:.3g}-{args.i_max:.3g} A mean,"
        f" {n_spikes} reference spikes"
    )
    print(
        "| n_inner | wrong steps | drives with a wrong step | spikes lost/added "
        "| max V error before [V] | boundary distance of wrong counts [us] |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        dist = ", ".join(f"{x:.0f}" for x in sorted(r["wrong_count_boundary_distance_us"]))
        print(
            f"| {r['n_inner']} | {r['wrong_steps']}/{r['steps']} | {r['wrong_drives']} "
            f"| {r['spikes_lost_or_added']} | {r['max_v_error_V']:.3g} | {dist or '-'} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, "rows": rows}))


if __name__ == "__main__":
    main()
