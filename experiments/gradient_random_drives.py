"""BRUNO, no-BRUNO and the rate-frozen BPTT against the exact gradient on random drives.

    .venv/bin/python experiments/gradient_random_drives.py --steps 30 --n-inner 1000

One FeLIF layer (4 neurons, batch 2) driven by currents uniform in [0, 12 nA] for
``--steps`` network steps of 1 ms; the objective is a signed sum of the spike counts. For
each mode: the cosine similarity of d(objective)/d(current) with ``bptt_full`` (the
exact gradient of the fine forward), the norm ratio and the spikes per neuron. The
untrained counterpart of ``run_gradients.py``.
"""

from __future__ import annotations

import argparse

import torch

from bruno_hil.neurons import FeLIFLayer

MODES = ("bruno", "nobruno", "bptt", "bptt_full")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--n-inner", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(args.seed)
    current = torch.rand(args.steps, 2, 4, generator=gen, dtype=torch.float64) * 12e-9
    current.requires_grad_()
    signs = torch.linspace(-1, 1, 4, dtype=torch.float64)
    grads = {}
    for mode in MODES:
        layer = FeLIFLayer(4, mode=mode, n_inner=args.n_inner, surrogate_beta=2.0)
        spikes, _ = layer(current)
        (grads[mode],) = torch.autograd.grad((spikes.sum(0) * signs).sum(), current)
        print(f"{mode}: {float(spikes.detach().sum(0).mean()):.2f} spikes per neuron")
    ref = grads["bptt_full"].flatten()
    print("| mode | cosine | norm ratio |\n|---|---|---|")
    for mode, g in grads.items():
        cos = float(torch.nn.functional.cosine_similarity(g.flatten(), ref, dim=0))
        print(f"| {mode} | {cos:.3f} | {float(g.norm() / ref.norm()):.3g} |")


if __name__ == "__main__":
    main()
