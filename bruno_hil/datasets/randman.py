"""Randman: random-manifold spike patterns (Zenke & Vogels, Neural Computation 2021).

Each class is a smooth random manifold of dimension ``manifold_dim`` embedded in
``n_units`` dimensions. Coordinate ``i`` of the embedding is a product over the manifold
dimensions of random 1-D Fourier series ``sum_f a_f / (1 + f)**alpha * sin(2*pi*(f*x*b_f +
c_f))`` with ``a, b, c ~ U(0, 1)`` and ``f < f_cutoff``; a sample is a uniform random
point ``x`` on ``[0, 1]**manifold_dim``; each unit's coordinate, min-max standardised over
the class's samples, is the time of that unit's spike (one spike per unit and
sub-manifold, ``n_spikes`` sub-manifolds per class). Smaller ``alpha`` gives rougher
manifolds and a harder task. This is a numpy re-implementation of the reference
construction (``randman`` on GitHub), deterministic in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RandmanSpec:
    """Generation settings; one time step is ``dt_s`` seconds."""

    n_classes: int = 10
    n_units: int = 32
    n_steps: int = 50
    dt_s: float = 1e-3
    samples_per_class: int = 200
    manifold_dim: int = 1
    n_spikes: int = 1
    alpha: float = 2.0
    f_cutoff: int = 32
    """Number of Fourier components (the reference uses ``ceil(prec**(-1/alpha))``)."""


def _manifold(
    points: np.ndarray, n_units: int, alpha: float, f_cutoff: int, rng: np.random.Generator
) -> np.ndarray:
    """Evaluate one random manifold at ``points`` [S, dim] -> [S, n_units]."""
    dim = points.shape[1]
    a, b, c = rng.random((3, n_units, dim, f_cutoff))
    a[:, :, 0] = 0.0  # no constant term (the reference's use_bias=False)
    freq = np.arange(f_cutoff, dtype=np.float64)
    spectrum = 1.0 / (1.0 + freq) ** alpha
    # phase [S, units, dim, f]
    phase = 2 * np.pi * (freq * points[:, None, :, None] * b[None] + c[None])
    per_dim = np.sum(a[None] * spectrum * np.sin(phase), axis=-1)  # [S, units, dim]
    return np.prod(per_dim, axis=-1)


def _standardize(y: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    lo, hi = y.min(axis=0), y.max(axis=0)
    return (y - lo) / (hi - lo + eps)


def make_randman_times(spec: RandmanSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spike times: ``x`` [N, n_units * n_spikes] int16 step indices in ``[0, n_steps)``
    (column ``k * n_units + u`` is unit ``u``'s k-th spike), ``y`` [N] int64 labels, in
    class order. Deterministic in ``(spec, seed)``."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(spec.n_classes):
        points = rng.random((spec.samples_per_class, spec.manifold_dim))
        times = [
            _standardize(_manifold(points, spec.n_units, spec.alpha, spec.f_cutoff, rng))
            for _ in range(spec.n_spikes)
        ]
        steps = np.floor(np.concatenate(times, axis=1) * spec.n_steps)
        xs.append(np.clip(steps, 0, spec.n_steps - 1).astype(np.int16))
        ys.append(np.full(spec.samples_per_class, label, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


class SpikeRasterEncoder:
    """Spike times [..., n_units * n_spikes] -> dense raster [..., n_steps, n_units] of
    0/1 spikes (a unit firing twice in one step counts once)."""

    def __init__(self, n_units: int, n_steps: int) -> None:
        self.n_units = n_units
        self.n_outputs = n_units
        self.n_steps = n_steps

    def __call__(self, times: np.ndarray) -> np.ndarray:
        lead = times.shape[:-1]
        flat = times.reshape(-1, times.shape[-1]).astype(np.int64)
        raster = np.zeros((flat.shape[0], self.n_steps, self.n_units), dtype=np.float32)
        units = np.arange(flat.shape[1]) % self.n_units
        rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
        raster[rows, flat.ravel(), np.tile(units, flat.shape[0])] = 1.0
        return raster.reshape(*lead, self.n_steps, self.n_units)
