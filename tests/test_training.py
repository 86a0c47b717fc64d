"""Training: config loading, the network, the trainer's run folder and exact resume."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import torch

from bruno_hil.chip import ChipStats, CrossbarRecording, LayerRecording
from bruno_hil.errors import BrunoHilError
from bruno_hil.training.config import (
    ConfigError,
    RunConfig,
    TrainingConfig,
    load_config,
    parse_sets,
)

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"

# A tiny run: 2 samples per class, 8 hidden neurons, 20 inner steps, 30 time steps.
TINY = [
    "data.samples_per_class=5",
    "data.max_train=54",
    "data.max_test=27",
    "data.n_steps=30",
    "network.n_hidden=8",
    "network.n_inner=20",
    "training.epochs=3",
    "training.batch_size=27",
    "training.progress=false",
]


@pytest.fixture
def loop() -> ModuleType:
    """The trainer module."""
    from bruno_hil.training import loop

    return loop


# -- config ------------------------------------------------------------------------------
def test_defaults_need_no_file() -> None:
    config = load_config()
    assert config == RunConfig()
    assert config.chip == "ngspice" and config.data.name == "braille"


def test_the_main_job_trains_whole_epochs_in_the_loop_on_a_varied_chip(loop) -> None:
    """The defaults are the demo of issue 18: >= 108 test samples, a deployed test, then at
    least 2 whole training epochs with the chip in the forward pass, and a chip that differs
    from the model (device variability), so that the loop has something to correct."""
    config = load_config()
    data = loop.build_dataset(config.data)
    assert len(data.y_test) >= 108 and len(data.y_train) >= 2000
    hil = config.hil
    assert config.training.epochs - hil.surrogate_epochs >= 2
    assert hil.samples_per_epoch is None and hil.deployed_test
    assert hil.variability_cv > 0 and hil.layers == ("syn_out",)


def test_yaml_file_and_sets_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "seed: 4\nchip: surrogate\n"
        "network:\n  bits: 3\n  fecap: {v_thr_V: 2.0}\ntraining:\n  lr: 1\n"
    )
    config = load_config(path, ["training.epochs=7", "network.neuron=lif"])
    assert config.seed == 4 and config.network.bits == 3 and config.training.lr == 1.0
    assert config.training.epochs == 7 and config.network.neuron == "lif"
    assert config.network.fecap_params("x").v_thr_V == 2.0
    assert config.data == RunConfig().data  # untouched section keeps its defaults


def test_saved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(None, ["network.bits=4", "data.max_train=10"])
    config.save(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("network:\n  n_hiden: 3\n", ["network.n_hiden", "n_hidden"]),
        ("bogus: 1\n", ["bogus", "top level"]),
        ("training:\n  epochs: two\n", ["training.epochs", "expected int", "'two'"]),
        ("network:\n  bits: 5\n", ["network.bits = 5"]),
        ("network:\n  quant_range: max\n", ["network.quant_range", "'max'", "mse"]),
        ("network:\n  weight_rounding: up\n", ["network.weight_rounding", "nearest"]),
        ("network:\n  mode: bptt_ful\n", ["network.mode", "bptt_full"]),
        ("network:\n  fecap: {v_thr: 2}\n", ["network.fecap", "'v_thr'"]),
        ("network:\n  fecap: {v_thr_V: 50}\n", ["v_thr_V", "outside"]),
        ("data: [1, 2]\n", ["data", "expected a mapping"]),
        ("training:\n  lr_schedule: step\n", ["training.lr_schedule", "'step'"]),
        ("training:\n  warmup_epochs: -1\n", ["training.warmup_epochs = -1", ">= 0"]),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path: Path, text: str, fragments: list) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_learning_rate_schedules() -> None:
    constant = TrainingConfig(epochs=4, lr=1e-2, lr_schedule="constant", warmup_epochs=0.0)
    assert [constant.lr_at(p) for p in (0.0, 1.5, 4.0)] == [1e-2] * 3
    short = TrainingConfig(epochs=2, lr=1e-2, lr_schedule="constant", warmup_epochs=1.0)
    assert short.lr_at(0.5) == pytest.approx(1e-2)  # the warm-up is a quarter of the run
    cosine = TrainingConfig(epochs=4, lr=1e-2, lr_schedule="cosine", warmup_epochs=1.0)
    assert cosine.lr_at(0.0) < 1e-4  # the warm-up starts near 0 ...
    assert cosine.lr_at(0.5) == pytest.approx(5e-3, rel=1e-2)  # ... rises linearly ...
    assert cosine.lr_at(1.0) == pytest.approx(1e-2)  # ... to the peak,
    assert cosine.lr_at(2.5) == pytest.approx(5e-3)  # then half a cosine
    assert cosine.lr_at(4.0) == pytest.approx(0.0, abs=1e-12)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_parse_sets_builds_nested_values() -> None:
    assert parse_sets(["a.b=3", "a.c=null", "d=x"]) == {"a": {"b": 3, "c": None}, "d": "x"}
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_sets(["epochs"])


def test_chip_selection() -> None:
    assert load_config(None, ["chip=surrogate"]).open_chip() is None
    with pytest.raises(BrunoHilError, match="not on a visa bench"):
        load_config(None, ["chip=visa://TCPIP::1.2.3.4::INSTR"])
    with pytest.raises(ConfigError, match="unknown chip"):
        load_config(None, ["chip=fpga"])
    with pytest.raises(ConfigError, match=r"network\.neuron = 'lif'"):
        load_config(None, ["network.neuron=lif", "hil.layers=syn_out,output"])
    assert load_config(None, ["network.neuron=lif"]).hil.layers == ("syn_out",)  # crossbar only


def test_build_dataset_applies_the_subset(loop: ModuleType) -> None:
    config = load_config(None, TINY)
    data = loop.build_dataset(config.data)
    assert len(data.y_train) == 54 and len(data.y_test) == 27
    assert data.n_inputs == 128 and data.n_steps == 30


def test_experiment_configs_are_valid() -> None:
    files = sorted(EXPERIMENTS.glob("*.yaml"))
    assert files, "no experiment configs"
    for path in files:
        load_config(path)


# -- trainer -----------------------------------------------------------------------------
def _weights(trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.network.state_dict().items()}


def test_resumed_run_ends_with_bitwise_identical_weights(loop: ModuleType, tmp_path: Path) -> None:
    # 3-bit weights: stochastic rounding draws from the torch RNG on every forward pass.
    config = load_config(
        None,
        [*TINY, "network.bits=3", "network.read_noise=0.05", "training.lr_schedule=cosine",
         "training.warmup_epochs=0.5"],
    )  # fmt: skip
    full = loop.Trainer.create(config, tmp_path / "full")
    full.fit()
    part = loop.Trainer.create(config, tmp_path / "part")
    summary = part.fit(stop_after=1)  # "killed" after epoch 1
    assert summary["epochs_done"] == 1 and not summary["complete"]
    del part
    torch.manual_seed(12345)  # whatever the process did in between must not matter
    resumed = loop.Trainer.resume(tmp_path / "part")
    assert resumed.epoch == 1
    resumed.fit()
    expected, got = _weights(full), _weights(resumed)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    m_full = pd.read_csv(tmp_path / "full" / "metrics.csv")
    m_res = pd.read_csv(tmp_path / "part" / "metrics.csv")
    cols = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(m_full[cols], m_res[cols])


def test_run_folder_contents(loop: ModuleType, tmp_path: Path) -> None:
    config = load_config(None, TINY)
    trainer = loop.Trainer.create(config, tmp_path / "run")
    summary = trainer.fit()
    run = tmp_path / "run"
    for name in ("config.yaml", "metrics.csv", "checkpoint.pt", "best.pt"):
        assert (run / name).is_file(), name
    for name in ("curves.png", "raster.png", "traces.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG", name
    assert not list(run.glob("*.tmp"))
    assert load_config(run / "config.yaml") == config
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2, 3]
    assert summary["test_acc"] == pytest.approx(metrics["test_acc"].iloc[-1])
    assert summary["best_test_acc"] == pytest.approx(metrics["test_acc"].max())
    assert summary["complete"] and summary["chance"] == pytest.approx(1 / 27)


def test_fresh_run_refuses_a_used_folder_and_resume_needs_one(
    loop: ModuleType, tmp_path: Path
) -> None:
    config = load_config(None, [*TINY, "training.epochs=1"])
    loop.Trainer.create(config, tmp_path / "run").fit()
    with pytest.raises(loop.RunFolderError, match="--resume"):
        loop.Trainer.create(config, tmp_path / "run")
    with pytest.raises(loop.RunFolderError, match=r"cannot resume, config\.yaml is missing"):
        loop.Trainer.resume(tmp_path / "empty")
    (tmp_path / "no_ckpt").mkdir()
    config.save(tmp_path / "no_ckpt" / "config.yaml")
    with pytest.raises(loop.RunFolderError, match=r"cannot resume, checkpoint\.pt is missing"):
        loop.Trainer.resume(tmp_path / "no_ckpt")


def test_training_changes_the_weights_and_uses_adamax(loop: ModuleType, tmp_path: Path) -> None:
    config = load_config(None, [*TINY, "training.epochs=1", "training.lr_schedule=cosine"])
    trainer = loop.Trainer.create(config, tmp_path / "run")
    before = _weights(trainer)
    trainer.fit()
    after = _weights(trainer)
    assert isinstance(trainer.optimizer, torch.optim.Adamax)
    (group,) = trainer.optimizer.param_groups  # the last step's rate, on the schedule
    n_batches = len(trainer.data.y_train) // config.training.batch_size
    assert group["lr"] == pytest.approx(config.training.lr_at(1 - 1 / n_batches))
    assert group["lr"] < config.training.lr
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "no weight changed"


def test_smoke_training_beats_chance(loop: ModuleType, tmp_path: Path) -> None:
    """The documented smoke config (FeLIF, BRUNO) trains clearly above chance (1/27)."""
    config = load_config(EXPERIMENTS / "smoke.yaml")
    t0 = time.perf_counter()
    summary = loop.Trainer.create(config, tmp_path / "run").fit()
    elapsed = time.perf_counter() - t0
    print(f"smoke: {summary['best_test_acc']:.3f} in {elapsed:.1f} s")
    assert summary["best_test_acc"] > 3 * summary["chance"], summary
    assert np.isfinite(summary["train_loss"])


def test_ties_are_scored_as_wrong(loop: ModuleType) -> None:
    """Only a label with the single highest score is correct: all-silent outputs and a
    label that shares the top score with another class are both wrong."""
    scores = torch.tensor([[0.0, 0.0, 0.0], [2.0, 2.0, 1.0], [1.0, 3.0, 2.0], [0.5, 0.0, 0.4]])
    labels = torch.tensor([0, 0, 1, 0])
    assert loop.unique_argmax_correct(scores, labels).tolist() == [False, False, True, True]


def test_forward_asks_the_chip_for_each_layer(loop: ModuleType) -> None:
    """A chip is asked once per layer it holds, crossbars with their inputs and neuron layers
    with their input currents, in data-path order; a chip whose recordings are the
    surrogate's own leaves the forward pass unchanged, and a chip that holds no layer is
    never asked."""
    sets = [*TINY, "network.bits=null", "network.hidden_neuron=null"]  # FeLIF hidden too
    config = load_config(None, sets)
    data = loop.build_dataset(config.data)
    torch.manual_seed(0)
    net = loop.Network(config.network, data.n_inputs, data.n_classes, config.data.dt_s, "t")
    inputs, _ = data.batch("train", np.arange(3))
    calls = []

    class MirrorChip:
        """Records what it is asked and answers with the torch model's own values."""

        name = "mirror"
        stats = ChipStats()

        def __init__(self, layers):
            self.layers = layers

        def read_crossbar(self, name, weight, current_scale, x):
            calls.append((name, x.shape))
            # the synapse's own float32 product, so that the currents are bitwise its own
            xs, ws = (torch.from_numpy(a).float() for a in (x, weight))
            currents = (current_scale * (xs @ ws.T)).double().numpy()
            return CrossbarRecording(currents, np.zeros(x.shape[1], dtype=bool))

        def run_neurons(self, name, currents_A, dt_s, nominal):
            calls.append((name, currents_A.shape))
            model = getattr(net, name).surrogate_fine(torch.from_numpy(currents_A))
            v, p, s = (a.numpy() for a in model[1:] + model[:1])
            return LayerRecording(s, v, p, np.zeros(s.shape[1], dtype=bool), [], 0, 0.0, 0.0)

    with torch.no_grad():
        plain = loop.forward(net, inputs, None)
        idle = loop.forward(net, inputs, MirrorChip(()))
        assert calls == [] and torch.equal(plain.spikes, idle.spikes)
        chipped = loop.forward(net, inputs, MirrorChip(("syn_in", "hidden", "syn_out", "output")))
    assert calls == [
        ("syn_in", (30, 3, data.n_inputs)),
        ("hidden", (30, 3, 8)),
        ("syn_out", (30, 3, 8)),
        ("output", (30, 3, 27)),
    ]
    assert torch.equal(plain.spikes, chipped.spikes)
    assert chipped.records["hidden"]["spikes"].shape == (30, 3, 8)
    assert chipped.chip.failed().tolist() == [False, False, False]
