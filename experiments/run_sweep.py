"""Sweep driver: train every (neuron, mode, bits, seed) combination of a base config and
tabulate the test accuracy (mean and std over seeds).

    .venv/bin/python experiments/run_sweep.py --config experiments/braille.yaml \
        --neurons felif lif --bits fp 8 4 3 --seeds 0 1 2 --out runs/sweep

Each combination trains into its own run folder under ``--out``; an interrupted sweep is
continued by running the same command again (finished runs are read back, unfinished ones
resumed). The per-run figures go to ``<out>/results.csv`` and the table to stdout
(Markdown).
"""

from __future__ import annotations

import argparse
import itertools
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from bruno_hil.neurons.felif import FeLIFLayer
from bruno_hil.training import Trainer, load_config
from bruno_hil.training.loop import CHECKPOINT_FILE
from bruno_hil.training.report import BASELINE_LABELS


def run_one(base: Path | None, sets: list[str], run_dir: Path) -> dict:
    """Train (or resume, or read back) one run; its summary figures, plus
    ``fine_test_acc``: the test accuracy of the final weights with the FeLIF layers on
    the fine integrator (the device's dynamics), whatever forward they trained with."""
    if (run_dir / CHECKPOINT_FILE).exists():
        trainer = Trainer.resume(run_dir)
    else:
        trainer = Trainer.create(load_config(base, sets), run_dir)
    summary = trainer.fit()
    felif_layers = [
        layer
        for layer in (trainer.network.hidden, trainer.network.output)
        if isinstance(layer, FeLIFLayer)
    ]
    for layer in felif_layers:
        layer.mode = "bruno"  # forward = the fine integrator
    summary["fine_test_acc"] = (
        trainer.evaluate(None)["test_acc"] if felif_layers else summary["test_acc"]
    )
    summary.update(summary.pop("baselines"))  # one column per simple classifier
    return summary


def table(results: pd.DataFrame) -> str:
    """Markdown table: test accuracy mean +- std over seeds per (neuron, mode, bits)."""
    results = results.assign(
        bits=[("FP" if pd.isna(b) else str(int(b))) for b in results["bits"]],
        mode=[
            ("-" if n == "lif" else m)
            for n, m in zip(results["neuron"], results["mode"], strict=True)
        ],
    )
    lines = [
        "| neuron | mode | bits | seeds | final test acc | on the fine (device) forward"
        " | best test acc | train acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (neuron, mode, bits), group in results.groupby(["neuron", "mode", "bits"], sort=False):
        cells = [
            f"{group[c].mean():.3f} ± {group[c].std(ddof=0):.3f}"
            for c in ("test_acc", "fine_test_acc", "best_test_acc", "train_acc")
        ]
        lines.append(f"| {neuron} | {mode} | {bits} | {len(group)} | " + " | ".join(cells) + " |")
    same_split = ", ".join(
        f"{label} {results[key].mean():.3f}"
        for key, label in BASELINE_LABELS.items()
        if key in results
    )
    return "\n".join([*lines, "", f"Simple classifiers on the same splits: {same_split}."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="base YAML config")
    parser.add_argument("--neurons", nargs="+", default=["felif", "lif"])
    parser.add_argument("--modes", nargs="+", default=["bruno"])
    parser.add_argument("--bits", nargs="+", default=["fp", "8", "4", "3"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="sets", action="append", default=[], help="key=value")
    parser.add_argument("--out", type=Path, default=Path("runs/sweep"))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    args = parser.parse_args()

    combos = list(itertools.product(args.neurons, args.modes, args.bits, args.seeds))
    jobs = []
    for neuron, mode, bits, seed in combos:
        if neuron == "lif" and mode != args.modes[0]:
            continue  # the LIF baseline has no BRUNO/BPTT variants
        bits_value = "null" if bits == "fp" else bits
        sets = [
            *args.sets,
            f"seed={seed}",
            f"network.neuron={neuron}",
            f"network.mode={mode}",
            f"network.bits={bits_value}",
            "training.progress=false",
        ]
        jobs.append((args.config, sets, args.out / f"{neuron}-{mode}-{bits}-seed{seed}"))
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run_one, *zip(*jobs, strict=True)))
    results = pd.DataFrame(rows).assign(seed=[int(j[2].name.split("seed")[-1]) for j in jobs])
    args.out.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out / "results.csv", index=False)
    print(table(results))


if __name__ == "__main__":
    main()
