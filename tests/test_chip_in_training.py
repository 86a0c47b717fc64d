"""The chip's crossbars and neurons inside the training loop: programming, currents,
reprogramming, straight-through gradients and chip-vs-surrogate fidelity (real ngspice)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bruno_hil.chip.crossbar_chip import ChipCrossbars, CrossbarChipSettings
from bruno_hil.chip.crossbar_circuit import CrossbarSettings
from bruno_hil.chip.fidelity import Fidelity
from bruno_hil.chip.layers import DEFAULT_CHIP_LAYERS
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.neurons import FeLIFLayer
from bruno_hil.physics.quantize import quantize_weights
from bruno_hil.settings import SettingsError
from bruno_hil.synapses import RRAMLinear
from bruno_hil.training import loop
from bruno_hil.training.config import ConfigError, load_config


def _synapse(n_in: int = 40, n_out: int = 20, seed: int = 0) -> RRAMLinear:
    torch.manual_seed(seed)
    return RRAMLinear(n_in, n_out, current_scale_A=20e-9)


def _w(synapse: RRAMLinear) -> np.ndarray:
    """The synapse's float weights [outputs, inputs], as the network hands them to a chip."""
    return synapse.weight.detach().double().numpy()


def _inputs(shape: tuple[int, ...], high: float = 2.0, seed: int = 1) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(0.0, high, shape))


def test_programmed_crossbar_gives_the_quantized_synapse_currents() -> None:
    """40 inputs x 20 outputs over 2 x 2 tiles of 32 x 32: the chip's currents are
    ``current_scale_A * x @ Wq^T`` with ``Wq`` the weights on training's 4-bit grid rounded
    to the nearest level, to solver precision; and 12-bit programming gets within 0.1 % of
    the float synapse."""
    synapse = _synapse()
    x = _inputs((5, 3, 40))
    w = synapse.weight.detach().double()
    wq = quantize_weights(w, 4, stochastic=False)
    expected = synapse.current_scale_A * x @ wq.T
    crossbars = ChipCrossbars(CrossbarChipSettings(program_bits=4))
    layer = crossbars.layer("syn_in", _w(synapse), synapse.current_scale_A)
    assert layer.circuit.n_tiles == 4
    chip = crossbars.currents_A(layer, x.numpy())
    assert chip.shape == (5, 3, 20)
    np.testing.assert_allclose(chip, expected.numpy(), rtol=1e-6, atol=1e-6 * abs(chip).max())

    fine = ChipCrossbars(CrossbarChipSettings(program_bits=12))
    layer = fine.layer("syn_in", _w(synapse), synapse.current_scale_A)
    chip = fine.currents_A(layer, x.numpy())
    float_currents = (synapse.current_scale_A * x @ w.T).numpy()
    rel = np.abs(chip - float_currents).sum() / np.abs(float_currents).sum()
    assert rel < 1e-3


def test_spike_counts_arrive_as_read_pulses() -> None:
    """Hidden spike counts (several spikes in a step) are not clipped by the DAC: c pulses
    deliver c times the current of one, and 12-bit programming matches the float synapse."""
    synapse = _synapse(16, 6)
    counts = torch.from_numpy(np.random.default_rng(3).integers(0, 5, (4, 2, 16)).astype(float))
    crossbars = ChipCrossbars(CrossbarChipSettings(program_bits=12))
    layer = crossbars.layer("syn_out", _w(synapse), synapse.current_scale_A)
    chip = crossbars.currents_A(layer, counts.numpy(), spike_counts=True)
    expected = synapse(counts.float()).detach().double().numpy()
    assert np.abs(chip - expected).sum() / np.abs(expected).sum() < 1e-3
    as_analog = crossbars.currents_A(layer, counts.numpy())
    assert np.abs(as_analog - expected).sum() / np.abs(expected).sum() > 0.05  # clipped


def test_the_dac_clips_inputs_above_full_scale() -> None:
    synapse = _synapse(8, 4)
    crossbars = ChipCrossbars(CrossbarChipSettings(program_bits=12, input_full_scale=1.0))
    layer = crossbars.layer("syn_out", _w(synapse), synapse.current_scale_A)
    x = np.full((1, 1, 8), 3.0)
    np.testing.assert_allclose(
        crossbars.currents_A(layer, x), crossbars.currents_A(layer, np.ones((1, 1, 8))), rtol=1e-9
    )


def test_reprogramming_follows_program_every_and_keeps_the_devices() -> None:
    synapse = _synapse(8, 4)
    crossbars = ChipCrossbars(CrossbarChipSettings(program_every=3, variability_cv=0.1), seed=5)
    first = crossbars.layer("syn_in", _w(synapse), synapse.current_scale_A)
    for _ in range(2):
        crossbars.weights_updated()
        assert crossbars.layer("syn_in", _w(synapse), synapse.current_scale_A) is first
    crossbars.weights_updated()
    again = crossbars.layer("syn_in", _w(synapse), synapse.current_scale_A)
    assert again is not first and crossbars.programmings == 2
    # the same weights on the same chip give the same conductances: variability is per device
    np.testing.assert_array_equal(again.circuit.g_pos_S, first.circuit.g_pos_S)
    crossbars.weights_updated(force=True)
    assert crossbars.layer("syn_in", _w(synapse), synapse.current_scale_A) is not again
    other_chip = ChipCrossbars(CrossbarChipSettings(variability_cv=0.1), seed=6)
    other = other_chip.layer("syn_in", _w(synapse), synapse.current_scale_A)
    assert not np.allclose(other.circuit.g_pos_S, first.circuit.g_pos_S)


def test_chip_crossbar_forward_with_the_synapse_gradient() -> None:
    """With only the crossbars on the chip (LIF neurons in torch), the forward pass uses the
    chip's currents and the backward pass the torch synapse's gradient."""
    config = load_config(
        None,
        [
            "chip=ngspice",
            "network.neuron=lif",
            "data.name=randman",
            "data.n_steps=20",
            "data.samples_per_class=4",
            "network.n_hidden=8",
            "hil.layers=syn_in,syn_out",
            "hil.program_bits=12",
            "hil.variability_cv=0",
        ],
    )
    data = loop.build_dataset(config.data)
    torch.manual_seed(0)
    net = loop.Network(config.network, data.n_inputs, data.n_classes, config.data.dt_s, "t")
    inputs, labels = data.batch("train", np.arange(6))
    chip = config.open_chip()
    try:
        loss, _, _, reads = loop.batch_loss(net, inputs, labels, chip)
        loss.backward()
        chip_grad = net.syn_in.weight.grad.clone()
        assert chip.stats.crossbar_reads == 2 and chip.stats.programmings == 2
        fidelity = Fidelity()
        loop.tally_fidelity(fidelity, reads, {})
        assert fidelity.as_dict()["fidelity_crossbar_rel_err"] < 1e-3
    finally:
        chip.close()
    net.zero_grad()
    loss_sw, *_ = loop.batch_loss(net, inputs, labels, None)
    loss_sw.backward()
    cos = torch.nn.functional.cosine_similarity(
        chip_grad.flatten(), net.syn_in.weight.grad.flatten(), dim=0
    )
    assert abs(loss.item() - loss_sw.item()) < 0.05 * loss_sw.item()
    assert cos > 0.95


def test_neuron_fidelity_improves_with_the_surrogate_inner_steps() -> None:
    """The chip's V and P at the step boundaries against the surrogate's on the same
    currents: the median error shrinks with the surrogate's inner steps, and at 1 us steps
    it is below 5 mV and 1e-3 C/m^2 with identical spike counts."""
    rng = np.random.default_rng(0)
    current = torch.from_numpy(np.clip(rng.normal(2.5e-9, 1.5e-9, (30, 2, 2)), 0, 6e-9))
    chip = NgspiceChip(layers=("output",), workers=1)
    medians = []
    try:
        for n_inner in (20, 1000):
            layer = FeLIFLayer(2, n_inner=n_inner)
            rec = chip.run_neurons("output", current.numpy(), layer.dt_s, layer.params)
            model = layer.surrogate_fine(current)
            fidelity = Fidelity()
            fidelity.add_neurons(
                (rec.v_V, rec.p_C_per_m2, rec.spikes),
                [a.numpy() for a in (model.v_V, model.p_C_per_m2, model.spikes)],
                ~rec.failed,
            )
            medians.append(fidelity.as_dict())
    finally:
        chip.close()
    coarse, fine = medians
    assert fine["fidelity_v_median_abs_V"] < 5e-3
    assert fine["fidelity_p_median_abs_C_per_m2"] < 1e-3
    assert fine["fidelity_neuron_count_mae"] == 0.0
    assert coarse["fidelity_v_median_abs_V"] > 3 * fine["fidelity_v_median_abs_V"]


def test_hil_settings_reach_the_chip() -> None:
    config = load_config(
        None,
        [
            "hil.tile_rows=16",
            "hil.adc_bits=6",
            "hil.program_every=4",
            "hil.dac_bits=5",
            "hil.fecap={v_thr_V: 2.3}",
            "network.fecap={v_thr_V: 2.4}",
        ],
    )
    chip = config.open_chip()
    try:
        s = chip.crossbars.settings
        g_min, g_max = chip.crossbars.g_range_S
        assert s.circuit.tile_rows == 16 and s.circuit.dac_bits == 5
        assert s.circuit.adc_full_scale_A == pytest.approx(16 * 0.2 * (g_max - g_min))
        assert s.program_every == 4 and s.program_bits == 4
        assert chip.layers == DEFAULT_CHIP_LAYERS == ("syn_out",)
        # the chip's neurons are its own devices; network.fecap is the surrogate's model
        assert chip.params.v_thr_V == 2.3
        assert config.network.fecap_params("t").v_thr_V == 2.4
    finally:
        chip.close()


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["hil.layers=syn_in,axon"], "hil.layers = 'axon'"),
        (["hil.tile_cols=31"], "hil.tile_cols = 31: must be even"),
        (["hil.program_every=0"], "hil.program_every = 0: must be positive"),
        (["hil.r_wire_ohm=-1"], "hil.r_wire_ohm = -1.0"),
        (["hil.rram={g_min_m: -1}"], "g_min_m"),
    ],
)
def test_bad_hil_settings_are_named(sets: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(None, sets)


def test_bad_crossbar_chip_settings_are_named() -> None:
    with pytest.raises(SettingsError, match="program_every"):
        CrossbarChipSettings(program_every=0)
    with pytest.raises(SettingsError, match="input_full_scale"):
        CrossbarChipSettings(input_full_scale=0.0, circuit=CrossbarSettings())
