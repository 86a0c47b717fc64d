"""Quantization and the RRAM synapse layer: levels, unbiased stochastic rounding,
straight-through gradients, device variability and read noise."""

from __future__ import annotations

import pytest
import torch

from bruno_hil.physics.quantize import grid_step, levels, quantize_weights, stochastic_round
from bruno_hil.physics.surrogate import SURROGATES, spike_fn
from bruno_hil.synapses import RRAMLinear


@pytest.mark.parametrize(("bits", "top"), [(3, 3), (4, 7), (8, 127)])
def test_levels_are_symmetric_integers_with_zero(bits: int, top: int) -> None:
    assert levels(bits) == top
    w = torch.linspace(-1, 1, 1001)
    q = quantize_weights(w, bits, torch.Generator().manual_seed(0), quant_range="abs_max")
    codes = torch.unique(torch.round(q / (1.0 / top)))
    assert codes.min() >= -top and codes.max() <= top
    assert len(codes) == 2 * top + 1
    assert q[500] == 0.0  # a zero weight stays exactly zero


def test_stochastic_rounding_is_unbiased() -> None:
    """Mean of 20000 roundings of x is x within 4 standard errors, for fractional parts
    across [0, 1); a biased (nearest) rounding would miss by up to 0.5."""
    gen = torch.Generator().manual_seed(0)
    x = torch.tensor([-2.75, -0.5, -0.1, 0.0, 0.1, 0.3, 0.5, 0.9, 2.25], dtype=torch.float64)
    draws = stochastic_round(x.expand(20000, -1), gen)
    frac = x - x.floor()
    stderr = torch.sqrt(frac * (1 - frac) / 20000).clamp(min=1e-12)
    assert ((draws.mean(0) - x).abs() <= 4 * stderr + 1e-12).all()
    assert set(torch.unique(draws - x.floor()).tolist()) <= {0.0, 1.0}
    assert (draws[:, 3] == 0).all()


def test_quantization_is_redrawn_every_pass_and_passes_gradients_straight_through() -> None:
    w = torch.tensor([0.3, -0.55, 1.0, 0.05], requires_grad=True)
    q1 = quantize_weights(w, 3, quant_range="abs_max")
    samples = torch.stack(
        [quantize_weights(w, 3, quant_range="abs_max").detach() for _ in range(50)]
    )
    assert len(torch.unique(samples[:, 0])) == 2  # 0.3*3 = 0.9 rounds to 0 or 1 step
    (q1 * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_nearest_rounding_is_deterministic_and_within_half_a_step() -> None:
    w = torch.tensor([0.3, -0.55, 1.0, 0.05, 0.2], requires_grad=True)
    grid = {"stochastic": False, "quant_range": "abs_max"}
    draws = torch.stack([quantize_weights(w, 3, **grid).detach() for _ in range(20)])
    assert (draws == draws[0]).all()
    torch.testing.assert_close(draws[0], torch.tensor([1 / 3, -2 / 3, 1.0, 0.0, 1 / 3]))
    assert ((draws[0] - w.detach()).abs() <= 0.5 / 3 + 1e-7).all()
    layer = RRAMLinear(3, 2, bits=3, stochastic_rounding=False, quant_range="abs_max")
    assert torch.equal(layer.effective_weight(), layer.effective_weight())


def test_the_mse_range_has_less_error_than_abs_max_on_heavy_tailed_weights() -> None:
    """Laplace-like weights with a few outliers: at 3 bits the abs-max grid rounds most of
    them to zero; the MSE range clips the outliers and errs less (and never more: abs-max
    is one of its candidates)."""
    gen = torch.Generator().manual_seed(0)
    w = torch.distributions.Laplace(0.0, 0.05).sample((4096,))
    w[:4] = torch.tensor([1.0, -0.9, 0.8, -1.0])
    errors = {}
    for quant_range in ("abs_max", "mse"):
        q = quantize_weights(w, 3, gen, stochastic=False, quant_range=quant_range)
        errors[quant_range] = float((q - w).norm() / w.norm())
        assert len(torch.unique(q)) <= 7
    assert errors["mse"] < 0.6 * errors["abs_max"], errors
    assert float(grid_step(w, 3, "mse")) < float(grid_step(w, 3, "abs_max"))
    with pytest.raises(ValueError, match="quant_range"):
        grid_step(w, 3, "max")


def test_rram_linear_scales_to_amperes_and_is_differential() -> None:
    torch.manual_seed(0)
    layer = RRAMLinear(4, 2, current_scale_A=10e-9)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.5, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0]]))
    x = torch.tensor([[1.0, 1.0, 2.0, 0.5]])
    out = layer(x)
    torch.testing.assert_close(out, torch.tensor([[5e-9, -5e-9]]))


def test_device_variability_is_fixed_and_read_noise_is_fresh() -> None:
    torch.manual_seed(0)
    layer = RRAMLinear(64, 64, variability_cv=0.1, read_noise=0.05)
    gains = layer.device_gains.clone()
    assert gains.std().item() == pytest.approx(0.1, rel=0.1)
    a, b = layer.effective_weight(), layer.effective_weight()
    assert not torch.equal(a, b)
    assert torch.equal(layer.device_gains, gains)
    rel = ((a - b) / layer.weight.detach()).std().item()
    assert rel == pytest.approx(0.05 * 2**0.5 * 1.0, rel=0.3)


def test_quantized_layer_uses_at_most_2L_plus_1_distinct_weights() -> None:
    torch.manual_seed(0)
    layer = RRAMLinear(32, 16, bits=3)
    step = grid_step(layer.weight, 3)
    weight = layer.effective_weight().detach()
    codes = torch.round(weight / step)
    assert len(torch.unique(codes)) <= 7
    torch.testing.assert_close(codes * step, weight, rtol=0, atol=1e-6)


@pytest.mark.parametrize("bits", [5, 1])
def test_unsupported_bits_are_a_clear_error(bits: int) -> None:
    with pytest.raises(ValueError, match=f"network.bits = {bits}"):
        RRAMLinear(4, 4, bits=bits)


@pytest.mark.parametrize("kind", sorted(SURROGATES))
def test_surrogates_peak_at_threshold_and_decay(kind: str) -> None:
    x = torch.tensor([-1.0, -0.1, 0.0, 0.1, 1.0], requires_grad=True)
    out = spike_fn(x, 5.0, kind)
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (g,) = torch.autograd.grad(out.sum(), x)
    assert g[2] == g.max() and g[0] < g[1] and g[4] < g[3]


def test_the_network_settings_reach_both_crossbars() -> None:
    from bruno_hil.training import Network, load_config

    sets = ["network.bits=3", "network.quant_range=mse", "network.weight_rounding=nearest"]
    config = load_config(None, sets)
    net = Network(config.network, 6, 3, 1e-3, "test")
    for synapse in (net.syn_in, net.syn_out):
        assert (synapse.bits, synapse.quant_range) == (3, "mse")
        assert torch.equal(synapse.effective_weight(), synapse.effective_weight())


def test_evaluation_rounds_to_the_nearest_level_as_the_chip_programs() -> None:
    torch.manual_seed(0)
    layer = RRAMLinear(16, 8, bits=3, stochastic_rounding=True)
    nearest = quantize_weights(layer.weight, 3, stochastic=False, quant_range=layer.quant_range)
    training = torch.stack([layer.effective_weight().detach() for _ in range(4)])
    assert not (training == training[0]).all()  # stochastic while training
    layer.eval()
    assert torch.equal(layer.effective_weight(), nearest)
