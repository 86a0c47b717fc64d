"""Gradient agreement of BRUNO and no-BRUNO with BPTT on the same batch and weights.

    .venv/bin/python experiments/run_gradients.py --config experiments/braille.yaml \
        --seeds 0 1 2 --batch 32

For each seed: one FeLIF network is initialised, its weights copied into a network of
each mode (``bruno``, ``nobruno``, ``bptt``), the same training batch is run forward and
backward (full-precision weights, no noise, so the forward passes are deterministic), and
the cosine similarity of each mode's weight gradient with the BPTT one is reported per
crossbar and for all weights together, with the wall time of forward + backward [s].
Prints a Markdown table; ``--csv`` also writes the per-seed rows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bruno_hil.training import Network, batch_loss, build_dataset, load_config

MODES = ("bruno", "nobruno", "bptt")


def mode_gradients(
    config_path: Path | None, sets: list[str], seed: int, batch: int
) -> dict[str, dict[str, torch.Tensor | float]]:
    """Per mode: the gradient of each crossbar's weights, the loss and the time [s]."""
    common = [*sets, "network.neuron=felif", "network.bits=null", f"seed={seed}"]
    base = load_config(config_path, common)
    data = build_dataset(base.data)
    inputs, labels = data.batch("train", np.arange(min(batch, len(data.y_train))))
    torch.manual_seed(seed)
    reference = Network(base.network, data.n_inputs, data.n_classes, base.data.dt_s, "sweep")
    out: dict[str, dict[str, torch.Tensor | float]] = {}
    for mode in MODES:
        config = load_config(config_path, [*common, f"network.mode={mode}"])
        net = Network(config.network, data.n_inputs, data.n_classes, base.data.dt_s, "sweep")
        net.load_state_dict(reference.state_dict())
        t0 = time.perf_counter()
        loss, *_ = batch_loss(net, inputs, labels, None)
        loss.backward()
        grads: dict[str, torch.Tensor | float] = {
            name: p.grad.detach().clone().ravel() for name, p in net.named_parameters()
        }
        grads["time_s"] = time.perf_counter() - t0
        grads["loss"] = loss.item()
        out[mode] = grads
    return out


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="key=value")
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        grads = mode_gradients(args.config, args.sets, seed, args.batch)
        names = [k for k in grads["bptt"] if k not in ("time_s", "loss")]
        ref_all = torch.cat([grads["bptt"][n] for n in names])
        for mode in MODES:
            row = {"seed": seed, "mode": mode, "loss": grads[mode]["loss"]}
            row.update({f"cos_{n}": cosine(grads[mode][n], grads["bptt"][n]) for n in names})
            row["cos_all"] = cosine(torch.cat([grads[mode][n] for n in names]), ref_all)
            row["time_s"] = grads[mode]["time_s"]
            rows.append(row)
    results = pd.DataFrame(rows)
    if args.csv:
        results.to_csv(args.csv, index=False)
    cols = [c for c in results.columns if c.startswith("cos_")] + ["time_s"]
    print("| mode | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for mode, group in results.groupby("mode", sort=False):
        cells = [f"{group[c].mean():.3f} ± {group[c].std(ddof=0):.3f}" for c in cols]
        print(f"| {mode} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
