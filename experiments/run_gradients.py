"""Gradient agreement of BRUNO, no-BRUNO and the rate-frozen BPTT with the exact gradient.

    .venv/bin/python experiments/run_gradients.py --runs RUN_DIR [RUN_DIR ...] \
        --batch 16 --n-inner 1000 --csv results/gradients.csv

The reference is ``bptt_full``: backpropagation through every inner step with the Merz
switching rate's full derivative, i.e. the exact gradient of the fine forward that BRUNO
trains on (``bptt``, the project's trainable BPTT, freezes the rate in each step's backward
pass and so loses the gradient through polarization switching). Each run folder gives a
trained network (the final weights of its checkpoint and its config), so its layers spike as in
training; ``--seeds`` instead initialises fresh networks from ``--config``. For each
network, the same training batch (the run's own data, full-precision weights, no noise:
every forward is deterministic) goes forward and backward in every mode at ``--n-inner``
inner steps; reported per mode: the cosine similarity of the weight gradient with the
reference per crossbar and for all weights, the norm ratio ``|g| / |g_ref|``, the loss,
the output spikes per neuron in the batch, and the time of forward + backward [s].
Prints a Markdown table (mean ± std over networks); ``--csv`` also writes the rows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bruno_hil.training import Network, batch_loss, build_dataset, load_config
from bruno_hil.training.loop import CHECKPOINT_FILE, CONFIG_FILE, load_checkpoint

MODES = ("bruno", "nobruno", "bptt", "bptt_full")
REFERENCE = "bptt_full"


def mode_gradients(
    config_path: Path | None,
    weights: Path | None,
    sets: list[str],
    seed: int,
    batch: int,
    modes: tuple[str, ...] = MODES,
) -> dict[str, dict[str, torch.Tensor | float]]:
    """Per mode: the gradient of each crossbar's weights, the loss, the output spikes per
    neuron and the time [s], all from the same weights and batch."""
    common = [*sets, "network.neuron=felif", "network.bits=null", "network.read_noise=0.0"]
    base = load_config(config_path, [*common, f"seed={seed}"] if weights is None else common)
    data = build_dataset(base.data)
    inputs, labels = data.batch("train", np.arange(min(batch, len(data.y_train))))
    torch.manual_seed(base.seed)
    reference = Network(base.network, data.n_inputs, data.n_classes, base.data.dt_s, "sweep")
    if weights is not None:
        reference.load_state_dict(load_checkpoint(weights)["model"])
    out: dict[str, dict[str, torch.Tensor | float]] = {}
    for mode in modes:
        config = load_config(config_path, [*common, f"network.mode={mode}"])
        net = Network(config.network, data.n_inputs, data.n_classes, base.data.dt_s, "sweep")
        net.load_state_dict(reference.state_dict())
        net.output.checkpoint_steps = True  # BPTT at 1000 inner steps: one step's graph
        t0 = time.perf_counter()
        result = batch_loss(net, inputs, labels, None)
        result.loss.backward()
        grads: dict[str, torch.Tensor | float] = {
            name: p.grad.detach().clone().ravel() for name, p in net.named_parameters()
        }
        grads["time_s"] = time.perf_counter() - t0
        grads["loss"] = result.loss.item()
        grads["output_spikes"] = float(result.records["output"]["spikes"].sum(0).mean())
        out[mode] = grads
    return out


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def compare(grads: dict[str, dict[str, torch.Tensor | float]], label: str) -> list[dict]:
    """One row per mode: cosine and norm ratio against the reference."""
    ref = grads[REFERENCE]
    names = [k for k, v in ref.items() if isinstance(v, torch.Tensor)]
    ref_all = torch.cat([ref[n] for n in names])  # type: ignore[misc]
    rows = []
    for mode, g in grads.items():
        g_all = torch.cat([g[n] for n in names])  # type: ignore[misc]
        row: dict[str, float | str] = {"network": label, "mode": mode, "loss": g["loss"]}
        row.update({f"cos_{n}": cosine(g[n], ref[n]) for n in names})  # type: ignore[arg-type]
        row["cos_all"] = cosine(g_all, ref_all)
        row["norm_ratio"] = float(g_all.norm() / ref_all.norm())
        row["output_spikes"] = g["output_spikes"]
        row["time_s"] = g["time_s"]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="trained run folders")
    parser.add_argument("--config", type=Path, default=None, help="for --seeds")
    parser.add_argument("--seeds", nargs="*", type=int, default=[], help="fresh networks")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--n-inner", type=int, default=1000)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="key=value")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument(
        "--modes", nargs="+", default=list(MODES), choices=MODES, help=f"{REFERENCE} is always run"
    )
    args = parser.parse_args()
    modes = tuple(dict.fromkeys([*args.modes, REFERENCE]))
    if not args.runs and not args.seeds:
        parser.error("give --runs (trained networks) or --seeds (fresh ones)")
    sets = [*args.sets, f"network.n_inner={args.n_inner}"]

    rows = []
    for run in args.runs:
        grads = mode_gradients(run / CONFIG_FILE, run / CHECKPOINT_FILE, sets, 0, args.batch, modes)
        rows += compare(grads, str(run))
    for seed in args.seeds:
        grads = mode_gradients(args.config, None, sets, seed, args.batch, modes)
        rows += compare(grads, f"seed {seed}")
    results = pd.DataFrame(rows)
    if args.csv:
        results.to_csv(args.csv, index=False)
    cols = [c for c in results.columns if c.startswith("cos_")]
    cols += ["norm_ratio", "output_spikes", "time_s"]
    networks = results["network"].nunique()
    print(f"reference: {REFERENCE} at {args.n_inner} inner steps, {networks} networks")
    print("| mode | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for mode, group in results.groupby("mode", sort=False):
        cells = [f"{group[c].mean():.3g} ± {group[c].std(ddof=0):.2g}" for c in cols]
        print(f"| {mode} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
