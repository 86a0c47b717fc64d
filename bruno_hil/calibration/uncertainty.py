"""Uncertainties of a least-squares fit at its optimum, in the fit's (scaled) space.

* **Local** (:func:`local_covariance`): ``s^2 (J^T J)^+``, the Gauss-Newton curvature
  scaled by the residual variance. It is right when the residuals are independent and
  alike (white noise of one size) and the model is the one that made the data.
* **Jackknife** (:func:`jackknife_covariance`): the linearised delete-a-block jackknife.
  The data are cut into contiguous blocks of ``block`` points; deleting block ``k``
  moves the least-squares solution by ``d_k = (J^T J)^+ J_k^T (I - H_kk)^-1 r_k`` (exact
  for a linear model; ``H = J (J^T J)^+ J^T``, the hat matrix) and the covariance is
  ``(K-1)/K sum_k (d_k - mean d)(d_k - mean d)^T``. It needs no refit (a few ms) and
  holds where the local one does not: residuals of different sizes in different parts
  of the data, residuals correlated over up to ``block`` points, and a few influential
  points that disagree with the rest (leverage ``H_kk`` near 1: a point that alone
  pins a parameter down, such as the first read after a SET of an RRAM pulse train,
  where the bench's cell node differs most from the ideal compliance the model plays).
  On white noise from the model itself it equals the local one (within its own
  scatter, ~``sqrt(2/K)``).

The block length (:func:`block_length`) is the residual's integrated autocorrelation
time, rounded up: 1 for white residuals, longer where neighbouring points of a sweep
share an error.

What neither covers: a model error that the parameters absorb (a discrepancy in the span
of ``J`` leaves no trace in the residuals). Both are first order: where the model's
response has a kink at the optimum (the RRAM pulse model's last RESET reads), the
jackknife's predicted moves are not what refits do (``calibration/README.md``).
"""

from __future__ import annotations

import math

import numpy as np

MIN_BLOCKS = 20
"""The fewest blocks a jackknife uses (the block length is capped so that ``N/block``
is at least this)."""
MIN_KEEP = 1e-6
"""Floor of the eigenvalues of ``I - H_kk``: a block that alone determines a direction
(eigenvalue 0) gets a huge, not an infinite, influence."""


def _pseudo_inverse_normal(jac: np.ndarray) -> np.ndarray:
    """``(J^T J)^+`` by SVD of ``J`` (rank-deficient directions get huge entries)."""
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    tiny = sv.max() * np.finfo(float).eps * max(jac.shape) if sv.size else 0.0
    inv = np.where(sv > tiny, 1.0 / np.maximum(sv, tiny) ** 2, 1.0 / tiny**2 if tiny else 0.0)
    return (vt.T * inv) @ vt


def local_covariance(jac: np.ndarray, residual: np.ndarray, n_free: int) -> np.ndarray:
    """``s^2 (J^T J)^+``, ``s^2 = r.r / (N - n_free)`` (see the module)."""
    dof = max(residual.size - n_free, 1)
    return float(residual @ residual) / dof * _pseudo_inverse_normal(jac)


def autocorrelation(residual: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation ``rho_1 .. rho_max_lag`` of the residual (mean not removed: a
    least-squares residual has none worth removing)."""
    r = np.asarray(residual, dtype=np.float64)
    power = float(r @ r)
    lags = range(1, min(max_lag, r.size - 1) + 1)
    return np.array([float(r[k:] @ r[:-k]) / power if power else 0.0 for k in lags])


def block_length(residual: np.ndarray) -> int:
    """Integrated autocorrelation time ``1 + 2 sum rho_k`` of the residual, summed while
    ``rho_k`` exceeds its noise ``2/sqrt(N)``, rounded up; at most ``N/MIN_BLOCKS``."""
    n = residual.size
    cap = max(n // MIN_BLOCKS, 1)
    rho = autocorrelation(residual, cap)
    significant = rho > 2.0 / math.sqrt(n)
    run = int(np.argmin(significant)) if not significant.all() else rho.size
    tau = 1.0 + 2.0 * float(rho[:run].sum())
    return int(min(max(math.ceil(tau - 1e-9), 1), cap))


def jackknife_covariance(jac: np.ndarray, residual: np.ndarray, block: int) -> np.ndarray:
    """The linearised delete-a-block jackknife covariance (see the module) for blocks of
    ``block`` contiguous points (the last one takes the remainder)."""
    n, p = jac.shape
    if block < 1:
        raise ValueError(f"block = {block!r}: a jackknife block needs at least one point")
    a = _pseudo_inverse_normal(jac)
    starts = list(range(0, n - block + 1, block)) or [0]
    ends = [*starts[1:], n]
    moves = np.empty((len(starts), p))
    for k, (i, j) in enumerate(zip(starts, ends, strict=True)):
        jk = jac[i:j]
        keep = np.eye(j - i) - jk @ a @ jk.T
        w, v = np.linalg.eigh(keep)
        scaled = v @ ((v.T @ residual[i:j]) / np.maximum(w, MIN_KEEP))
        moves[k] = a @ (jk.T @ scaled)
    k_blocks = moves.shape[0]
    centred = moves - moves.mean(axis=0)
    return (k_blocks - 1) / k_blocks * centred.T @ centred


__all__ = [
    "MIN_BLOCKS",
    "autocorrelation",
    "block_length",
    "jackknife_covariance",
    "local_covariance",
]
