"""What low-bit weights do to a trained network: accuracy, firing and weight resolution.

    .venv/bin/python experiments/quantization_probe.py RUN_DIR [RUN_DIR ...] \
        --bits fp 8 4 3 --csv results/quantization_probe.csv

Each run folder's final weights (trained at whatever resolution its config says) are
evaluated on its test set with both crossbars quantized at each ``--bits`` per tensor,
with the abs-max range and the MSE range (the default), each once with
stochastic rounding (a fresh draw per batch, the training scheme) and once rounded to the
nearest level. Reported per setting: test
accuracy and loss, spikes per neuron of the hidden and output layers, and per crossbar
the fraction of weights on the zero level and the relative RMS quantization error
``|q - w| / |w|`` of one draw. Prints a Markdown table; ``--csv`` also writes the rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from bruno_hil.physics.quantize import QUANT_RANGES, quantize_weights
from bruno_hil.synapses import RRAMLinear
from bruno_hil.training.loop import Trainer

CROSSBARS = ("syn_in", "syn_out")
REPORTED = ("test_acc", "test_loss", "hidden_spikes_per_neuron", "output_spikes_per_neuron")


def weight_stats(synapse: RRAMLinear) -> dict[str, float]:
    """Zero-level fraction and relative RMS error of one quantization of the weights."""
    w = synapse.weight.detach()
    if synapse.bits is None:
        return {"zero_frac": float((w == 0).double().mean()), "rel_rms_err": 0.0}
    q = quantize_weights(w, synapse.bits, None, synapse.stochastic_rounding, synapse.quant_range)
    return {
        "zero_frac": float((q == 0).double().mean()),
        "rel_rms_err": float((q - w).norm() / w.norm()),
    }


def probe(run_dir: Path, bits_list: list[int | None]) -> list[dict]:
    trainer = Trainer.resume(run_dir)
    rows = []
    settings = [(None, True, "abs_max")] + [
        (bits, stochastic, quant_range)
        for bits in bits_list
        if bits is not None
        for quant_range in QUANT_RANGES
        for stochastic in (True, False)
    ]
    for bits, stochastic, quant_range in settings:
        row: dict[str, object] = {
            "run": run_dir.name,
            "neuron": trainer.config.network.neuron,
            "trained_bits": trainer.config.network.bits or "fp",
            "trained_range": trainer.config.network.quant_range,
            "bits": bits or "fp",
            "range": "-" if bits is None else quant_range,
            "rounding": "-" if bits is None else ("stochastic" if stochastic else "nearest"),
        }
        for name in CROSSBARS:
            synapse = getattr(trainer.network, name)
            synapse.bits, synapse.stochastic_rounding = bits, stochastic
            synapse.quant_range = quant_range
            row.update({f"{name}_{k}": v for k, v in weight_stats(synapse).items()})
        torch.manual_seed(0)
        result = trainer.evaluate(None)
        row.update({k: result[k] for k in REPORTED})
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--bits", nargs="+", default=["fp", "8", "4", "3"])
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    bits_list = [None if b == "fp" else int(b) for b in args.bits]
    rows = [row for run in args.runs for row in probe(run, bits_list)]
    results = pd.DataFrame(rows)
    if args.csv:
        results.to_csv(args.csv, index=False)
    keys = ["neuron", "trained_bits", "trained_range", "bits", "range", "rounding"]
    values = [c for c in results.columns if c not in (*keys, "run")]
    summary = results.groupby(keys, sort=False)[values].agg(["mean", "std"])
    print("| " + " | ".join(keys + values) + " |")
    print("|---" * (len(keys) + len(values)) + "|")
    for key, group in summary.iterrows():
        cells = [f"{group[(c, 'mean')]:.3g} ± {group[(c, 'std')]:.2g}" for c in values]
        print("| " + " | ".join([*map(str, key), *cells]) + " |")


if __name__ == "__main__":
    main()
