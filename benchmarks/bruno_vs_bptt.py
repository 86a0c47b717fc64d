"""Peak memory and time per training step: BRUNO vs BPTT through the FeLIF inner steps.

Each (mode, hidden size) runs in a fresh process on the same batch (Braille inputs ->
RRAM -> hidden FeLIF -> RRAM -> 27 FeLIF), so its peak resident memory (ru_maxrss) is
its own; the table gives the median step time of the repeats and the BRUNO/BPTT ratios.
Run: ``python benchmarks/bruno_vs_bptt.py [--hidden 64 128 256] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def measure(mode: str, hidden: int, repeats: int, n_steps: int, batch: int, n_inner: int) -> dict:
    import numpy as np
    import torch

    from bruno_hil.training import loop
    from bruno_hil.training.config import load_config

    config = load_config(
        None,
        [
            "chip=surrogate",
            f"data.n_steps={n_steps}",
            "data.samples_per_class=2",
            f"network.n_hidden={hidden}",
            f"network.n_inner={n_inner}",
            f"network.mode={mode}",
        ],
    )
    data = loop.build_dataset(config.data)
    torch.manual_seed(0)
    net = loop.Network(config.network, data.n_inputs, data.n_classes, config.data.dt_s, "b")
    inputs, labels = data.batch("train", np.arange(batch))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, *_ = loop.batch_loss(net, inputs, labels, None)
        loss.backward()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    return {
        "mode": mode,
        "hidden": hidden,
        "step_s": statistics.median(times),
        "peak_MiB": peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50, help="network steps of 1 ms")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--inner", type=int, default=20, help="fine steps per network step")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = measure(
            args.one[0], int(args.one[1]), args.repeats, args.steps, args.batch, args.inner
        )
        print(json.dumps(result))
        return
    print(
        f"batch {args.batch}, {args.steps} steps x {args.inner} inner steps, 128 inputs, 27 outputs"
    )
    print(
        f"{'hidden':>6} {'BRUNO s':>9} {'BPTT s':>9} {'time':>7}"
        f" {'BRUNO MiB':>10} {'BPTT MiB':>9} {'memory':>7}"
    )
    for hidden in args.hidden:
        rows = {}
        for mode in ("bruno", "bptt"):
            cmd = [
                sys.executable,
                __file__,
                "--one",
                mode,
                str(hidden),
                "--repeats",
                str(args.repeats),
                "--steps",
                str(args.steps),
                "--batch",
                str(args.batch),
                "--inner",
                str(args.inner),
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rows[mode] = json.loads(out.strip().splitlines()[-1])
        b, p = rows["bruno"], rows["bptt"]
        print(
            f"{hidden:>6} {b['step_s']:>9.3f} {p['step_s']:>9.3f} {b['step_s'] / p['step_s']:>7.2f}"
            f" {b['peak_MiB']:>10.1f} {p['peak_MiB']:>9.1f}"
            f" {b['peak_MiB'] / max(p['peak_MiB'], 1e-9):>7.3f}"
        )


if __name__ == "__main__":
    main()
