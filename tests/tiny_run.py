"""The ``--set`` overrides of a tiny training run (seconds on the surrogate)."""

from __future__ import annotations

TINY_SETS: list[str] = [
    "data.samples_per_class=5",
    "data.max_train=27",
    "data.max_test=27",
    "data.n_steps=20",
    "network.n_hidden=6",
    "network.n_inner=10",
    "training.batch_size=27",
]
"""27 training and 27 test samples (one batch), 6 hidden neurons, 20 steps."""
