"""The fit's two uncertainties (:mod:`bruno_hil.calibration.uncertainty`): on linear toy
problems whose true scatter is known by Monte Carlo, the jackknife matches it where the
local sigma is wrong (noise of different sizes, correlated noise) and equals the local one
on white noise; on white noise added to the RRAM surrogate's own curve the fit's jackknife
sigma agrees with the local one and covers the truth."""

from __future__ import annotations

import numpy as np
import pytest

from bruno_hil.calibration.fit import FitError
from bruno_hil.calibration.rram import (
    CURRENT_FLOOR_A,
    RRAM_FIT_NAMES,
    Sweep,
    fit_rram_experiments,
    predict_experiment,
)
from bruno_hil.calibration.uncertainty import (
    autocorrelation,
    block_length,
    jackknife_covariance,
    local_covariance,
)
from bruno_hil.characterize.stimulus import iv_sweep
from bruno_hil.devices.params import RRAMParams

N = 400
X = np.linspace(0.0, 1.0, N)
J = np.column_stack([np.ones(N), X, X**2])
"""A smooth design (polynomial in x), as a sweep's Jacobian is."""


def _residual(noise: np.ndarray) -> np.ndarray:
    """The least-squares residual of ``noise`` on :data:`J`."""
    u, _, _ = np.linalg.svd(J, full_matrices=False)
    return noise - u @ (u.T @ noise)


def _monte_carlo_sigma(draw: object, n: int = 2000) -> np.ndarray:
    """The true scatter of the least-squares solution under the noise ``draw(rng)``."""
    rng = np.random.default_rng(1)
    pinv = np.linalg.pinv(J)
    sols = np.array([pinv @ draw(rng) for _ in range(n)])  # type: ignore[operator]
    return sols.std(axis=0)


def _sigmas(noise: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    r = _residual(noise)
    local = np.sqrt(np.diag(local_covariance(J, r, J.shape[1])))
    return local, np.sqrt(np.diag(jackknife_covariance(J, r, block)))


def test_white_noise_jackknife_equals_local() -> None:
    noise = 0.1 * np.random.default_rng(0).standard_normal(N)
    assert block_length(_residual(noise)) == 1
    local, jack = _sigmas(noise, 1)
    truth = _monte_carlo_sigma(lambda rng: 0.1 * rng.standard_normal(N))
    assert np.all(np.abs(local / truth - 1.0) < 0.1)
    assert np.all((jack / local > 0.8) & (jack / local < 1.25))


def test_noise_of_different_sizes_jackknife_matches_the_scatter() -> None:
    """Noise 20x larger at the end of the sweep: the local sigma (one size for all points)
    is wrong by more than 30 %, the jackknife within 20 % of the true scatter."""
    size = 0.01 + 0.2 * X**4

    def draw(rng: np.random.Generator) -> np.ndarray:
        return size * rng.standard_normal(N)

    local, jack = _sigmas(draw(np.random.default_rng(0)), 1)
    truth = _monte_carlo_sigma(draw)
    assert np.max(np.abs(local / truth - 1.0)) > 0.3
    assert np.all(np.abs(jack / truth - 1.0) < 0.2)


def test_correlated_noise_sets_the_block_and_the_jackknife_covers_it() -> None:
    """AR(1) noise (phi 0.8: autocorrelation time 9 points): the block length follows it,
    the local sigma understates the scatter ~3x, the block jackknife is within 30 %."""
    phi = 0.8

    def draw(rng: np.random.Generator) -> np.ndarray:
        e = rng.standard_normal(N)
        out = np.empty(N)
        out[0] = e[0] / np.sqrt(1.0 - phi**2)
        for k in range(1, N):
            out[k] = phi * out[k - 1] + e[k]
        return out

    noise = draw(np.random.default_rng(0))
    r = _residual(noise)
    assert autocorrelation(r, 1)[0] == pytest.approx(phi, abs=0.1)
    block = block_length(r)
    assert 5 <= block <= 15
    local, jack = _sigmas(noise, block)
    truth = _monte_carlo_sigma(draw)
    assert np.all(local < truth / 2.0)
    assert np.all(np.abs(jack / truth - 1.0) < 0.3)


def test_jackknife_rejects_an_empty_block() -> None:
    with pytest.raises(ValueError, match="block = 0"):
        jackknife_covariance(J, _residual(np.ones(N)), 0)


@pytest.fixture(scope="module")
def surrogate_sweep() -> tuple[RRAMParams, Sweep]:
    """An I-V sweep of the RRAM surrogate itself with white noise of 2 % on the fit's
    asinh scale: the model is exact, the noise white and of one size (the shipped
    example's truth and sweep)."""
    truth = RRAMParams(i_0_A=2e-4, g_0_m=0.3e-9, v_0_V=0.3, vel_0_m_per_s=30.0, gamma=14.0)
    voltage_V = iv_sweep(1.2, -1.2, 0.01).voltage_V
    time_s = 0.01 * np.arange(1, voltage_V.size + 1)  # 10 mV steps at 1 V/s
    clean = Sweep(time_s, voltage_V, np.zeros(voltage_V.size))
    current = predict_experiment(truth, clean)
    noise = 0.02 * np.random.default_rng(4).standard_normal(current.size)
    noisy = CURRENT_FLOOR_A * np.sinh(np.arcsinh(current / CURRENT_FLOOR_A) + noise)
    return truth, Sweep(clean.time_s, clean.voltage_V, noisy)


def test_fit_on_white_noise_jackknife_agrees_with_local(
    surrogate_sweep: tuple[RRAMParams, Sweep],
) -> None:
    truth, sweep = surrogate_sweep
    result = fit_rram_experiments([sweep], truth, n_starts=1).result
    assert result.fitted == list(RRAM_FIT_NAMES) and result.jackknife_block == 1
    for name in RRAM_FIT_NAMES:
        local, jack = result.sigma[name], result.sigma_jackknife[name]
        assert 0.5 < jack / local < 2.0, name
        assert result.sigma_honest[name] == max(local, jack)
        assert abs(result.values[name] - getattr(truth, name)) < 3.0 * local, name


def test_fit_rejects_a_jackknife_block_too_long(surrogate_sweep: tuple[RRAMParams, Sweep]) -> None:
    truth, sweep = surrogate_sweep
    n = sweep.current_A.size
    with pytest.raises(
        FitError, match=f"jackknife_block = {n // 10} points: must be 1 to {n // 20}"
    ):
        fit_rram_experiments([sweep], truth, jackknife_block=n // 10)
