"""Chip-vs-surrogate fidelity and the payoff of chip-in-the-loop training, on ngspice.

For each seed:

1. train the main-job network (``bruno-hil train`` defaults) in software for
   ``--software-epochs``;
2. **deploy** it on an ideal chip (no variability: the fidelity figures) and on a chip with
   device-to-device variability ``--cv`` on its FeCap neurons and RRAM conductances;
3. **in the loop**: continue training for ``--loop-epochs`` epochs of ``--loop-samples``
   samples with that variable chip in the forward pass (BRUNO gradients), then test on it;
4. **control**: continue training for the same number of epochs in software (on the full
   training set: more data than the in-the-loop arm), then deploy on the variable chip.

The chip runs ``hil.layers`` (default: the output crossbar; ``--set
hil.layers=syn_out,output`` adds the output neurons). The test set is ``--max-test``
samples. Prints a Markdown table (mean and std over seeds) and
writes ``<out>/payoff.csv``::

    .venv/bin/python experiments/run_hil_payoff.py --seeds 0 1 2 --out runs/payoff
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

import pandas as pd

from bruno_hil.training import Trainer, load_config

FIDELITY_KEYS = (
    "chip_surrogate_agreement",
    "spike_count_mae",
    "fidelity_v_median_abs_V",
    "fidelity_v_rmse_V",
    "fidelity_p_median_abs_C_per_m2",
    "fidelity_neuron_count_mae",
    "fidelity_crossbar_rel_err",
)


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """All four arms of one seed; their test accuracies and the ideal chip's fidelity."""
    total = args.software_epochs + args.loop_epochs
    config = load_config(
        None,
        [
            f"seed={seed}",
            f"data.max_test={args.max_test}",
            f"training.epochs={total}",
            f"training.eval_every={total}",
            "training.progress=false",
            f"hil.surrogate_epochs={args.software_epochs}",
            f"hil.samples_per_epoch={args.loop_samples or 'null'}",
            f"hil.variability_cv={args.cv}",
            *args.sets,
        ],
    )
    run_dir = args.out / f"seed{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    ideal_config = dataclasses.replace(
        config, hil=dataclasses.replace(config.hil, variability_cv=0.0)
    )
    ideal, variable = ideal_config.open_chip(), config.open_chip()
    try:
        trainer = Trainer.create(config, run_dir / "in_the_loop", variable)
        trainer.fit(stop_after=args.software_epochs)
        shutil.copytree(run_dir / "in_the_loop", run_dir / "software_more")
        row: dict[str, float] = {"seed": seed}
        row["software_surrogate_acc"] = trainer.evaluate(None)["test_acc"]
        deployed = trainer.evaluate(ideal)
        row["deploy_ideal_chip_acc"] = deployed["test_acc"]
        row.update({f"ideal_{key}": deployed[key] for key in FIDELITY_KEYS})
        row["deploy_variable_chip_acc"] = trainer.evaluate(variable)["test_acc"]
        row["in_the_loop_acc"] = trainer.fit()["test_acc"]
        control = Trainer.resume(run_dir / "software_more", None)
        control.fit()
        row["software_more_variable_chip_acc"] = control.evaluate(variable)["test_acc"]
        row["chip_wall_s"] = sum(
            chip.stats.wall_s + chip.stats.crossbar_wall_s for chip in (ideal, variable)
        )
        row["chip_failed_samples"] = variable.stats.failed_samples + ideal.stats.failed_samples
        for error in [*ideal.stats.errors, *variable.stats.errors]:
            print(f"seed {seed}: chip error: {error}", flush=True)
        return row
    finally:
        ideal.close()
        variable.close()


def table(results: pd.DataFrame) -> str:
    """Markdown: mean ± std over seeds of every figure."""
    lines = ["| figure | mean ± std over seeds |", "|---|---|"]
    for column in results.columns.drop("seed"):
        values = results[column]
        lines.append(f"| {column} | {values.mean():.4g} ± {values.std(ddof=0):.2g} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cv", type=float, default=0.1, help="device variability (rel. std)")
    parser.add_argument("--software-epochs", type=int, default=8)
    parser.add_argument("--loop-epochs", type=int, default=4)
    parser.add_argument(
        "--loop-samples", type=int, default=54, help="samples per loop epoch (0: all)"
    )
    parser.add_argument("--max-test", type=int, default=54)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="key=value")
    parser.add_argument("--out", type=Path, default=Path("runs/payoff"))
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args, seed))
        print(pd.DataFrame(rows).tail(1).T.to_string(header=False), flush=True)
    results = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out / "payoff.csv", index=False)
    print(table(results))


if __name__ == "__main__":
    main()
