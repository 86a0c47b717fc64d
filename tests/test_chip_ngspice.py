"""The ngspice chip backend against the real ngspice: recordings, fan-out, failures."""

from __future__ import annotations

import numpy as np
import pytest

from bruno_hil.chip.fanout import DaskCluster, FanoutError, open_fanout
from bruno_hil.chip.neuron_circuit import simulate_neuron
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.settings import SettingsError

DT_S = 1e-3
STEPS = 12


def _currents(batch: int, n: int, amp_A: np.ndarray) -> np.ndarray:
    """[T, B, N] constant currents, amp_A [B, N]."""
    return np.broadcast_to(amp_A, (STEPS, batch, n)).astype(np.float64).copy()


@pytest.fixture(scope="module")
def drive() -> np.ndarray:
    # sample 0: neuron 0 far above threshold, neuron 1 below the I_dsc discharge (10 pA)
    # sample 1: both at 2 nA (first spike at ~5.65 ms)
    return _currents(2, 2, np.array([[6e-9, 5e-12], [2e-9, 2e-9]]))


def test_layer_recording_is_the_ngspice_waveform_at_step_boundaries(drive: np.ndarray) -> None:
    params = FeCapParams()
    chip = NgspiceChip(layers=("output",), workers=1)
    rec = chip.run_neurons("output", drive, DT_S, params)
    assert rec.spikes.shape == rec.v_V.shape == rec.p_C_per_m2.shape == (STEPS, 2, 2)
    assert rec.spikes[:, 0, 0].sum() >= 2, "a neuron driven far above threshold spikes"
    assert rec.spikes[:, 0, 1].sum() == 0, "a neuron below the discharge current never spikes"
    first = np.flatnonzero(rec.spikes[:, 1, 0])[0]
    assert first == 5, "2 nA: first spike in the step 5-6 ms (5.65 ms)"
    assert not rec.failed.any() and rec.errors == []
    # The same neuron simulated alone: the recording is its waveform at t = (k+1)*dt.
    alone = simulate_neuron(params, drive[:, 1, 0], DT_S)
    t_end = (np.arange(STEPS) + 1) * DT_S
    np.testing.assert_allclose(rec.v_V[:, 1, 0], np.interp(t_end, alone.time_s, alone.wave_v_V))
    np.testing.assert_allclose(
        rec.p_C_per_m2[:, 1, 0], np.interp(t_end, alone.time_s, alone.wave_p_C_per_m2)
    )
    # Below threshold V stays near 0 and P near -P_s: only the slow depolarization drift
    # (the interlayer's field at V = 0 is ~9e7 V/m, Merz rate ~1.5/s) moves it.
    assert np.all(np.abs(rec.v_V[:, 0, 1]) < 0.01)
    p_rel = rec.p_C_per_m2[:, 0, 1] / params.p_s_C_per_m2
    assert np.all(p_rel < -0.97) and np.all(np.diff(p_rel) > 0)
    assert chip.stats.samples == 2 and chip.stats.neuron_runs == 4


def test_process_pool_gives_the_in_process_result(drive: np.ndarray) -> None:
    params = FeCapParams()
    serial = NgspiceChip(workers=1).run_neurons("output", drive, DT_S, params)
    chip = NgspiceChip(workers=2)
    try:
        pooled = chip.run_neurons("output", drive, DT_S, params)
    finally:
        chip.close()
    np.testing.assert_array_equal(pooled.spikes, serial.spikes)
    np.testing.assert_allclose(pooled.v_V, serial.v_V, rtol=1e-12)


def test_dask_cluster_gives_the_in_process_result(drive: np.ndarray) -> None:
    from distributed import LocalCluster

    params = FeCapParams()
    serial = NgspiceChip(workers=1).run_neurons("output", drive, DT_S, params)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        chip = NgspiceChip(scheduler=cluster.scheduler_address)
        try:
            assert "1 workers" in chip.fanout.description
            remote = chip.run_neurons("output", drive, DT_S, params)
        finally:
            chip.close()
    np.testing.assert_array_equal(remote.spikes, serial.spikes)
    np.testing.assert_allclose(remote.p_C_per_m2, serial.p_C_per_m2, rtol=1e-12)


def test_a_sample_that_does_not_converge_is_retried_reported_and_skipped() -> None:
    params = FeCapParams()
    # 1 mA into a 0.57 pF membrane does not converge, even with robust options.
    currents = _currents(2, 1, np.array([[1e-3], [2e-9]]))
    chip = NgspiceChip(workers=1)
    rec = chip.run_neurons("output", currents, DT_S, params)
    assert rec.failed.tolist() == [True, False]
    assert len(rec.errors) == 1 and "sample 0" in rec.errors[0]
    assert "ConvergenceError" in rec.errors[0]
    assert rec.spikes[:, 0].sum() == 0  # and nothing of it was observed:
    assert np.isnan(rec.v_V[:, 0]).all() and np.isnan(rec.p_C_per_m2[:, 0]).all()
    assert rec.spikes[:, 1].sum() >= 1, "the good sample of the batch still ran"
    assert chip.stats.failed_samples == 1
    assert chip.stats.as_dict()["chip_failed_samples"] == 1


def test_chip_devices_vary_once_per_neuron_and_follow_the_seed() -> None:
    nominal = FeCapParams()
    chip = NgspiceChip(variability_cv=0.1, seed=3, workers=1)
    devices = chip.devices("hidden", 50, nominal)
    assert chip.devices("hidden", 50, nominal) is devices, "drawn once, then kept"
    e_a = np.array([d.e_a_V_per_m for d in devices]) / nominal.e_a_V_per_m
    assert 0.05 < e_a.std() < 0.15 and abs(e_a.mean() - 1) < 0.05
    again = NgspiceChip(variability_cv=0.1, seed=3, workers=1).devices("hidden", 50, nominal)
    assert again == devices
    other = NgspiceChip(variability_cv=0.1, seed=4, workers=1).devices("hidden", 50, nominal)
    assert other != devices
    ideal = NgspiceChip(workers=1).devices("output", 3, nominal)
    assert all(d == nominal for d in ideal)
    assert set(FECAP_VARIABLE_FIELDS) <= set(FeCapParams.names())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": ("input",)}, "hil.layers = 'input': expected one of"),
        ({"layers": ()}, "name at least one of"),
        ({"variability_cv": -0.1}, "variability_cv"),
        ({"timeout_s": 0.0}, "timeout_s"),
    ],
)
def test_bad_chip_settings_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        NgspiceChip(workers=1, **kwargs)


def test_fanout_settings_are_checked() -> None:
    with pytest.raises(FanoutError, match="not both"):
        open_fanout(workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(FanoutError, match="at least 1"):
        open_fanout(workers=0)
    with pytest.raises(FanoutError, match="cannot reach"):
        DaskCluster("tcp://127.0.0.1:9", timeout_s=1.0)


def test_a_neuron_that_stalls_at_a_spike_runs_on_a_retry() -> None:
    """Output neuron 4 of a 10 %-variability chip (seed 0), its threshold set to 3.055 V,
    stops with "timestep too small" under the default and robust options at ~1 nA; the
    retry with a 1 fA current tolerance runs it, and the sample is not lost. (Such stalls
    are rare and chaotic in the parameters: before the stack's terminal charge the same
    neuron at its drawn threshold, 3.26 V, stalled; found again by scanning the threshold.)"""
    varied = NgspiceChip(workers=1, variability_cv=0.1, seed=0)
    params = varied.devices("output", 27, FeCapParams())[4].replace(v_thr_V=3.055)
    drive = np.clip(np.random.default_rng(0).normal(1e-9, 1e-9, 50), -1e-6, 1e-6)
    chip = NgspiceChip(workers=1, params=params)
    rec = chip.run_neurons("output", drive[:, None, None], DT_S, params)
    assert not rec.failed.any() and rec.retried == 1
    assert rec.spikes.sum() == 6
