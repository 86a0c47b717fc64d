"""Simple classifiers on a data set's raw samples: the bar a trained network must clear.

Each is fitted on the training split and scored on the test split of the same
:class:`~bruno_hil.datasets.Dataset`, so a network's accuracy can be reported next to them
from the same run: 1-nearest-neighbour (Euclidean), logistic regression (standardised
features, L2, L-BFGS) and the nearest class mean. The features are the raw samples
flattened (Braille: taxel pressures x time steps; Randman: spike times), not the encoded
crossbar drives.
"""

from __future__ import annotations

import numpy as np
import torch

from bruno_hil.datasets import Dataset

BASELINES: tuple[str, ...] = ("nearest_neighbour", "logistic_regression", "nearest_class_mean")


def _features(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    flat = [x.reshape(len(x), -1).astype(np.float64) for x in (data.x_train, data.x_test)]
    return flat[0], flat[1]


def nearest_neighbour_acc(data: Dataset, chunk: int = 256) -> float:
    """Test accuracy of the 1-nearest-neighbour classifier (Euclidean distance)."""
    train, test = _features(data)
    sq_train = (train**2).sum(1)
    pred = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), chunk):
        block = test[start : start + chunk]
        dist = sq_train[None, :] - 2.0 * block @ train.T  # + |test|^2, the same per row
        pred[start : start + chunk] = data.y_train[dist.argmin(1)]
    return float((pred == data.y_test).mean())


def nearest_class_mean_acc(data: Dataset) -> float:
    """Test accuracy of the nearest-class-mean classifier (Euclidean distance)."""
    train, test = _features(data)
    means = np.stack([train[data.y_train == c].mean(0) for c in range(data.n_classes)])
    dist = (means**2).sum(1)[None, :] - 2.0 * test @ means.T
    return float((dist.argmin(1) == data.y_test).mean())


def logistic_regression_acc(data: Dataset, l2: float = 1e-3, max_iter: int = 500) -> float:
    """Test accuracy of multinomial logistic regression on standardised features, with an
    L2 penalty ``l2`` on the weights, fitted by L-BFGS."""
    train, test = (torch.from_numpy(a) for a in _features(data))
    labels = torch.from_numpy(data.y_train)
    mean, std = train.mean(0), train.std(0) + 1e-6
    x = (train - mean) / std
    weight = torch.zeros(x.shape[1], data.n_classes, dtype=x.dtype, requires_grad=True)
    bias = torch.zeros(data.n_classes, dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = x @ weight + bias
        loss = torch.nn.functional.cross_entropy(logits, labels) + l2 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        pred = (((test - mean) / std) @ weight + bias).argmax(1).numpy()
    return float((pred == data.y_test).mean())


def baseline_accuracies(data: Dataset) -> dict[str, float]:
    """Every baseline's test accuracy on ``data``, keyed ``<name>_acc``."""
    return {
        "nearest_neighbour_acc": nearest_neighbour_acc(data),
        "logistic_regression_acc": logistic_regression_acc(data),
        "nearest_class_mean_acc": nearest_class_mean_acc(data),
    }


__all__ = [
    "BASELINES",
    "baseline_accuracies",
    "logistic_regression_acc",
    "nearest_class_mean_acc",
    "nearest_neighbour_acc",
]
