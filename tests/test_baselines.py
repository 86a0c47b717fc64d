"""The simple classifiers a trained network is compared with, on data where the answer is known."""

from __future__ import annotations

import numpy as np

from bruno_hil.datasets import Dataset
from bruno_hil.datasets.baselines import (
    baseline_accuracies,
    logistic_regression_acc,
    nearest_class_mean_acc,
    nearest_neighbour_acc,
)


def _blobs(separation: float, seed: int = 0) -> Dataset:
    """Two Gaussian classes in 6-D, 50 train / 50 test samples each."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * 6, [separation] * 6])

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat([0, 1], n)
        return centres[y] + rng.standard_normal((2 * n, 6)), y

    x_tr, y_tr = draw(50)
    x_te, y_te = draw(50)
    return Dataset("blobs", x_tr, y_tr, x_te, y_te, 2, 6, 1, 1e-3, lambda x: x)


def test_separable_classes_are_found_by_every_baseline() -> None:
    data = _blobs(separation=4.0)
    for acc in baseline_accuracies(data).values():
        assert acc > 0.97


def test_identical_classes_give_chance() -> None:
    data = _blobs(separation=0.0)
    for acc in (nearest_neighbour_acc(data), nearest_class_mean_acc(data)):
        assert 0.3 < acc < 0.7


def test_logistic_regression_beats_the_class_mean_on_an_xor_free_linear_task() -> None:
    """Two classes that differ in one of 6 dimensions only: the standardised logistic
    regression finds it; the nearest class mean is diluted by the 5 noise dimensions."""
    rng = np.random.default_rng(1)
    y_tr, y_te = np.repeat([0, 1], 100), np.repeat([0, 1], 100)
    x_tr, x_te = rng.standard_normal((200, 6)) * 3, rng.standard_normal((200, 6)) * 3
    x_tr[:, 0], x_te[:, 0] = (
        y_tr + 0.2 * rng.standard_normal(200),
        y_te + 0.2 * rng.standard_normal(200),
    )
    data = Dataset("one-dim", x_tr, y_tr, x_te, y_te, 2, 6, 1, 1e-3, lambda x: x)
    assert logistic_regression_acc(data) > 0.95
    assert nearest_class_mean_acc(data) < logistic_regression_acc(data)
