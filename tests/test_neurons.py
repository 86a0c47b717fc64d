"""FeLIF and LIF layers: the BRUNO straight-through contract, its baselines, chip traces."""

from __future__ import annotations

import pytest
import torch

from bruno_hil.devices.params import FeCapParams
from bruno_hil.neurons import FeLIFLayer, FineTrace, LIFLayer
from bruno_hil.physics.fecap import FeCapTensors, FeLIFState, fecap_step


def _currents(t: int = 30, b: int = 3, n: int = 5, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(t, b, n, generator=gen, dtype=torch.float64) * 12e-9).requires_grad_()


def test_bruno_forward_is_the_fine_forward_and_nobruno_is_not() -> None:
    current = _currents()
    bruno = FeLIFLayer(5, mode="bruno", n_inner=100)
    spikes, record = bruno(current)
    fine = FeLIFLayer(5, mode="bptt", n_inner=100)
    with torch.no_grad():
        fine_spikes, fine_record = fine(current)
    # bptt runs the same fine steps forward (the surrogate acts only in the backward);
    # spike times are sensitive to rounding near threshold, so compare up to the first
    # spike and the totals
    first = int(spikes.sum(dim=(1, 2)).nonzero()[0])
    torch.testing.assert_close(
        record["v_V"][:first], fine_record["v_V"][:first], rtol=1e-9, atol=1e-9
    )
    assert fine_spikes.sum().item() == pytest.approx(spikes.sum().item(), rel=0.1)
    assert spikes.sum() > 5
    coarse_spikes, _ = FeLIFLayer(5, mode="nobruno")(current)
    assert not torch.equal(coarse_spikes, spikes)  # one 1 ms Euler step is not the fine forward


def test_bruno_gradient_is_that_of_the_coarse_steps_and_is_finite() -> None:
    current = _currents()
    spikes, _ = FeLIFLayer(5, mode="bruno", n_inner=50)(current)
    (grad,) = torch.autograd.grad(spikes.sum(), current)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # more input current never lowers the spike count's surrogate gradient sign on average
    assert grad.sum() > 0


def test_bruno_gradient_agrees_with_bptt_better_than_nobruno() -> None:
    """Cosine similarity of d(spike count)/d(current) against BPTT on the same batch, the
    mean over 8 batches (seeds): per batch the order is a coin toss at these cosines
    (measured with the stack's terminal charge: BRUNO ahead on 4 of 8, mean 0.179 vs
    0.150; one seed, 1, was the test before and is now behind, 0.133 vs 0.148)."""
    weights = torch.linspace(-1, 1, 8, dtype=torch.float64)
    cos: dict[str, list[float]] = {"bruno": [], "nobruno": []}
    for seed in range(8):
        current = _currents(t=40, b=4, n=8, seed=seed)

        def grad(mode: str, current: torch.Tensor = current) -> torch.Tensor:
            spikes, _ = FeLIFLayer(8, mode=mode, n_inner=20)(current)
            (g,) = torch.autograd.grad((spikes.sum(0) * weights).sum(), current)
            return g.flatten()

        ref = grad("bptt")
        for mode, values in cos.items():
            values.append(torch.nn.functional.cosine_similarity(grad(mode), ref, dim=0).item())
    mean = {mode: sum(values) / len(values) for mode, values in cos.items()}
    assert mean["bruno"] > mean["nobruno"], cos


def test_bptt_checkpointing_gives_the_same_gradient() -> None:
    current = _currents(t=8)
    plain = FeLIFLayer(5, mode="bptt", n_inner=10)
    ckpt = FeLIFLayer(5, mode="bptt", n_inner=10, checkpoint_steps=True)
    g1 = torch.autograd.grad(plain(current)[0].sum(), current)[0]
    g2 = torch.autograd.grad(ckpt(current)[0].sum(), current)[0]
    torch.testing.assert_close(g1, g2)


def test_a_chip_trace_replaces_the_fine_forward() -> None:
    current = _currents(t=10, b=2, n=3)
    layer = FeLIFLayer(3, mode="bruno", n_inner=20)
    trace = FineTrace(
        spikes=torch.zeros(10, 2, 3, dtype=torch.float64).index_fill_(0, torch.tensor([4]), 1.0),
        v_V=torch.full((10, 2, 3), 0.7, dtype=torch.float64),
        p_C_per_m2=torch.full((10, 2, 3), -0.1, dtype=torch.float64),
    )
    spikes, record = layer(current, fine=trace)
    assert torch.equal(spikes, trace.spikes)
    torch.testing.assert_close(record["v_V"], trace.v_V, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(record["p_C_per_m2"], trace.p_C_per_m2, rtol=1e-12, atol=1e-15)
    (grad,) = torch.autograd.grad(spikes.sum(), current)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    with pytest.raises(ValueError, match="mode 'bruno'"):
        FeLIFLayer(3, mode="nobruno")(current, fine=trace)


def test_variability_is_drawn_once_and_resampled_on_request() -> None:
    torch.manual_seed(0)
    layer = FeLIFLayer(64, variability_cv=0.1)
    first = layer.device_factors.clone()
    assert first.std().item() == pytest.approx(0.1, rel=0.2)
    layer(torch.zeros(2, 1, 64, dtype=torch.float64))
    assert torch.equal(layer.device_factors, first)
    layer.resample_variability(torch.Generator().manual_seed(1))
    assert not torch.equal(layer.device_factors, first)
    assert "device_factors" in layer.state_dict()


def test_cycle_noise_changes_spike_times_but_not_the_rate_much() -> None:
    # 6 nA: at 8 nA the neuron (with the stack's terminal charge) fires in lockstep with
    # the network steps, and noise on tau_0 moves no spike across a step boundary
    current = torch.full((200, 1, 16), 6e-9, dtype=torch.float64)
    quiet, _ = FeLIFLayer(16, n_inner=20)(current)
    torch.manual_seed(0)
    noisy, _ = FeLIFLayer(16, n_inner=20, cycle_cv=0.3)(current)
    assert not torch.equal(quiet, noisy)
    assert noisy.sum().item() == pytest.approx(quiet.sum().item(), rel=0.25)


def test_lif_layer_integrates_leaks_and_resets() -> None:
    layer = LIFLayer(2)
    current = torch.zeros(60, 1, 2)
    current[:, 0, 0] = 0.3  # above rheobase: v_ss = I/(1-a) ~ 1.6 > 1
    current[:, 0, 1] = 0.1  # below: v_ss ~ 0.55
    spikes, record = layer(current)
    assert spikes[:, 0, 0].sum() >= 2 and spikes[:, 0, 1].sum() == 0
    assert record["v"][:, 0, 1].max() < 1.0 and record["v"].shape == (60, 1, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "euler"}, "network.mode = 'euler'"),
        ({"surrogate": "relu"}, "surrogate = 'relu'"),
        ({"n_inner": 0}, "n_inner"),
        ({"variability_cv": 0.7}, "variability_cv"),
    ],
)
def test_bad_layer_settings_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeLIFLayer(4, **kwargs)


def test_wrong_input_shape_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"expected \[T, B, 4\]"):
        FeLIFLayer(4)(torch.zeros(3, 4))


def test_the_full_rate_derivative_is_the_exact_gradient_through_switching() -> None:
    """200 inner steps of 1 us while the film switches (P from -P_s to about -0.7 P_s):
    autograd with the Merz rate's derivative (mode ``bptt_full``) equals central finite
    differences of the same steps; with the rate frozen (``bptt``) P's gradient is lost."""
    d = FeCapTensors.from_params(FeCapParams())

    def final_p(current_A: torch.Tensor, freeze_rate: bool) -> torch.Tensor:
        x = FeLIFState.rest(d, (1,))
        for _ in range(200):
            x = fecap_step(x, current_A, 1e-6, d, freeze_rate=freeze_rate)
        return x.p_C_per_m2.sum()

    i_A = torch.tensor([1e-8], dtype=torch.float64, requires_grad=True)
    assert -0.9 < final_p(i_A, False).item() / FeCapParams().p_s_C_per_m2 < -0.5
    (full,) = torch.autograd.grad(final_p(i_A, False), i_A)
    (frozen,) = torch.autograd.grad(final_p(i_A, True), i_A)
    step = 1e-12
    with torch.no_grad():
        fd = (final_p(i_A + step, False) - final_p(i_A - step, False)) / (2 * step)
    torch.testing.assert_close(full, fd.reshape(1), rtol=1e-6, atol=0.0)
    assert frozen.abs().item() < 1e-3 * fd.abs().item()


def test_bptt_full_trains_through_the_network_step_and_differs_from_bptt() -> None:
    current = _currents(t=8)
    grads = {}
    for mode in ("bptt", "bptt_full"):
        spikes, _ = FeLIFLayer(5, mode=mode, n_inner=10)(current)
        (grads[mode],) = torch.autograd.grad(spikes.sum(), current)
    assert torch.isfinite(grads["bptt_full"]).all()
    assert not torch.allclose(grads["bptt"], grads["bptt_full"])
