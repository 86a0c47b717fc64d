"""The training configuration: dataclasses with defaults, loaded from YAML with strict keys.

A config file is a mapping with the optional sections ``data``, ``network``, ``training``
and the top-level keys ``seed`` and ``chip``; every key not given keeps its default, and
every unknown key or badly typed value is an error naming the key and the file. The
resolved config (all keys) is written into each run folder, so a run can be resumed and
reproduced from its folder alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from bruno_hil.chip.interface import Chip
from bruno_hil.chip.layers import NeuronLayer
from bruno_hil.chip.open import open_chip
from bruno_hil.chip.settings import HilConfig
from bruno_hil.chip.spec import check_backend_layers, parse_chip
from bruno_hil.devices import FeCapParams, LIFParams, ParameterError
from bruno_hil.physics.fine_kernel import FINE_KERNELS
from bruno_hil.physics.quantize import DEFAULT_QUANT_RANGE, QUANT_RANGES, WEIGHT_ROUNDINGS
from bruno_hil.settings import (
    FELIF_MODES,
    WEIGHT_BITS,
    SettingsError,
    check_choice,
    check_count,
    check_cv,
    check_finite,
    check_non_negative,
    check_positive,
    check_seed,
    load_yaml,
    read_yaml_file,
)

NEURONS: tuple[str, ...] = ("felif", "lif")
"""The neuron kinds of a layer."""
DATASETS: tuple[str, ...] = ("braille", "randman", "japanese_vowels")
"""The data sets a run can train on."""
ConfigError = SettingsError
"""A training config file or ``--set`` override is malformed (the settings error)."""


@dataclass(frozen=True)
class DataConfig:
    """Which data set, how big, and the subset used for training.

    The defaults of every section are the README's main job: a Braille run (2160 training
    and 108 test samples) whose output layer runs on the ngspice chip; the full software
    experiments set their sizes in ``experiments/*.yaml``."""

    name: str = "braille"
    """``braille`` (27 classes, 128 inputs), ``randman``, or ``japanese_vowels`` (real
    recordings: 9 speakers, the published 270/370 split, ``24 * n_tiles`` inputs; needs
    the ``realdata`` extra)."""
    seed: int = 0
    """Seed of the data generation, split and input encoding."""
    samples_per_class: int = 100
    """Braille, Randman: samples generated per class."""
    n_steps: int = 100
    """Time steps per sample (each ``dt_s``)."""
    dt_s: float = 1e-3
    test_fraction: float = 0.2
    """Braille, Randman: share of each class held out for the test (JapaneseVowels keeps
    its published split)."""
    max_train: int | None = None
    """Train on a class-balanced subset of at most this many samples (None: all)."""
    max_test: int | None = 108
    n_tiles: int = 32
    """Copies of each input channel: Braille's 4 taxels (4 x 32 = 128 inputs),
    JapaneseVowels' 24 signed coefficient rows (24 x 5 = 120 inputs)."""
    noise_std: float = 0.05
    """Braille: additive sensor noise [pressure units]."""
    randman_classes: int = 10
    randman_units: int = 32
    randman_alpha: float = 2.0
    randman_manifold_dim: int = 1

    def check(self) -> None:
        check_choice("data.name", self.name, DATASETS)
        check_seed("data.seed", self.seed)
        check_count("data.max_train", self.max_train, allow_none=True)
        check_count("data.max_test", self.max_test, allow_none=True)
        check_non_negative("data.noise_std", self.noise_std)
        check_positive("data.samples_per_class", self.samples_per_class)
        check_positive("data.n_steps", self.n_steps)
        check_positive("data.dt_s", self.dt_s)
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"data.test_fraction = {self.test_fraction}: must be in (0, 1)")


@dataclass(frozen=True)
class NetworkConfig:
    """inputs -> RRAM -> hidden neurons -> RRAM -> output neurons.

    The inputs (normalised row drives, 0-~2) enter the first crossbar directly; its column
    currents are ``input_scale_A * x @ W^T`` [A] with |W| <= ~1. For the FeLIF neuron
    (C_tot ~0.57 pF, V_thr 2.5 V, 2 nA -> first spike at ~6 ms) the scales are nA; for
    the LIF baseline the layers work on normalised currents (``lif_*_scale``, unitless).
    """

    neuron: str = "felif"
    """``felif`` (ferroelectric LIF) or ``lif`` (the baseline): the output layer's neuron,
    and the hidden layer's unless ``hidden_neuron`` says otherwise."""
    hidden_neuron: str | None = "lif"
    """The hidden layer's neuron if it differs from ``neuron``: ``lif`` under FeLIF
    outputs is the BRUNO reference's Braille network (and learns: experiments/README.md);
    None: ``neuron``."""
    mode: str = "bruno"
    """FeLIF gradient: ``bruno`` (fine forward, coarse-step Jacobian), ``nobruno`` (coarse
    forward and backward), ``bptt`` (backprop through every inner step, the Merz rate frozen
in each step's backward pass) or ``bptt_full`` (the same with the rate's full derivative:
the exact gradient, for gradient studies)."""
    n_hidden: int = 128
    bits: int | None = None
    """RRAM weight resolution: None (full precision) or 8, 4, 3 bits."""
    quant_range: str = DEFAULT_QUANT_RANGE
    """Range of each crossbar's weight grid at ``bits``: ``mse`` (the range of least
    quantization error; the largest weights clip) or ``abs_max`` (the largest weight is the
    top level; at 3 bits most trained weights then round to 0):
    :mod:`bruno_hil.physics.quantize`. The chip programs with the same range."""
    weight_rounding: str = "stochastic"
    """Training-time rounding onto the grid: ``stochastic`` (unbiased, redrawn every pass)
    or ``nearest``. Evaluation rounds to the nearest level, as the chip programs
    (write-verify)."""
    n_inner: int = 100
    """FeLIF fine inner Euler steps per network step (1000 = 1 us steps). Against a tight
    ODE reference (experiments/fine_steps.md) 100 steps get 86 % of the per-step spike
    counts right on moderate drives, 1000 steps 99.5 %, at 10x the cost; the chip (ngspice)
    is the device itself whatever this is."""
    fine_kernel: str = "auto"
    """How the FeLIF fine forward runs: ``compiled`` (the C++ kernel), ``eager`` (the torch
    loop) or ``auto`` (compiled where it can be built, else eager); the same values."""
    surrogate_beta: float = 10.0
    """LIF: slope of the surrogate spike derivative [1 / normalised V] (threshold 1)."""
    felif_surrogate_beta_per_V: float = 2.0
    """FeLIF: slope of the surrogate spike derivative on ``V - V_thr`` [1/V]."""
    variability_cv: float = 0.0
    """Device-to-device variability (relative std) of the RRAM conductances and neurons."""
    read_noise: float = 0.0
    """RRAM read noise (relative std, redrawn every read)."""
    input_scale_A: float = 20e-9
    """FeLIF: current of a unit weight at a unit input, first crossbar [A]."""
    hidden_scale_A: float = 10e-9
    """FeLIF: current of a unit weight per hidden spike, second crossbar [A]."""
    lif_input_scale: float = 8.0
    """LIF: the same for the normalised LIF input [1] (4: 43 % of the hidden neurons
    silent)."""
    lif_hidden_scale: float = 4.0
    """LIF: the same per hidden spike [1]."""
    count_scale: float = 0.3
    """Logits = count_scale * output spike counts."""
    fecap: dict[str, float] = field(default_factory=dict)
    """FeCapParams overrides of the surrogate's neurons, ``{field: value}`` in SI units."""
    lif: dict[str, float] = field(default_factory=dict)
    """LIFParams overrides."""

    def check(self) -> None:
        check_choice("network.neuron", self.neuron, NEURONS)
        check_choice("network.hidden_neuron", self.hidden_neuron, (None, *NEURONS))
        check_choice("network.mode", self.mode, FELIF_MODES)
        check_choice("network.bits", self.bits, WEIGHT_BITS)
        check_choice("network.quant_range", self.quant_range, QUANT_RANGES)
        check_choice("network.weight_rounding", self.weight_rounding, WEIGHT_ROUNDINGS)
        check_positive("network.n_hidden", self.n_hidden)
        check_positive("network.n_inner", self.n_inner)
        check_choice("network.fine_kernel", self.fine_kernel, FINE_KERNELS)
        check_positive("network.surrogate_beta", self.surrogate_beta)
        check_positive("network.felif_surrogate_beta_per_V", self.felif_surrogate_beta_per_V)
        check_cv("network.variability_cv", self.variability_cv)
        check_cv("network.read_noise", self.read_noise)
        check_positive("network.count_scale", self.count_scale)

    def layer_neuron(self, layer: NeuronLayer) -> str:
        """The neuron kind of neuron layer ``layer`` (``felif`` or ``lif``)."""
        if layer == "hidden" and self.hidden_neuron is not None:
            return self.hidden_neuron
        return self.neuron

    def fecap_params(self, source: str) -> FeCapParams:
        return FeCapParams().replace(source=f"{source}: network.fecap", **self.fecap)

    def lif_params(self, source: str) -> LIFParams:
        return LIFParams().replace(source=f"{source}: network.lif", **self.lif)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation: Adamax on the cross-entropy of output spike counts."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-2
    """Adamax learning rate (the peak, with a schedule). 1e-2 with the LIF-hidden recipe
    (experiments/README.md); LIF outputs want 5e-3 (at 1e-2 one seed in three lost its
    outputs in epoch 2)."""
    lr_schedule: str = "cosine"
    """``cosine``: the rate falls as a half cosine from ``lr`` to 0 over the run (after
    the warm-up); or ``constant``. On the main job (3 seeds, 108 test samples) a constant
    5e-3 made the loss jump by up to 1.0 in epochs 2-7 and ended at 0.191 accuracy,
    constant 2e-3 at 0.194; warm-up + cosine at 5e-3 fell smoothly to the lowest loss and
    0.219 (1e-2 with it diverged on one seed), all with the earlier FeLIF-FeLIF network."""
    warmup_epochs: float = 1.0
    """Epochs over which the rate rises linearly from 0 to ``lr`` at the start (at most a
    quarter of the run: a short run is not all warm-up)."""
    eval_every: int = 1
    """Evaluate on the test set every this many epochs (and after the last)."""
    progress: bool = True
    """Show tqdm progress bars on stderr (a line per epoch is printed either way)."""

    def check(self) -> None:
        check_positive("training.epochs", self.epochs)
        check_positive("training.batch_size", self.batch_size)
        check_positive("training.lr", self.lr)
        check_choice("training.lr_schedule", self.lr_schedule, ("constant", "cosine"))
        check_non_negative("training.warmup_epochs", self.warmup_epochs)
        check_positive("training.eval_every", self.eval_every)

    def lr_at(self, progress_epochs: float) -> float:
        """The learning rate after ``progress_epochs`` epochs of training (fractional)."""
        factor = 1.0
        warmup = min(self.warmup_epochs, 0.25 * self.epochs)
        if progress_epochs < warmup:
            factor = (progress_epochs + 1e-3) / warmup  # the first step is not at 0
        elif self.lr_schedule == "cosine":
            done = (progress_epochs - warmup) / (self.epochs - warmup)
            factor = 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0)))
        return self.lr * factor


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; ``source`` names where it came from (for errors)."""

    seed: int = 0
    """Seed of the weight initialisation, shuffling and every stochastic draw in training."""
    chip: str = "ngspice"
    """Where the fine forward runs: ``surrogate``, ``ngspice`` or ``visa://<resource>``."""
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    hil: HilConfig = field(default_factory=HilConfig)

    def check(self, source: str) -> None:
        """Validate every section; errors name ``source``."""
        try:
            check_seed("seed", self.seed)
            self.data.check()
            self.network.check()
            self.training.check()
            self.hil.check()
            self._check_chip()
        except SettingsError as err:
            raise SettingsError(f"{source}: {err}") from None
        try:
            self.network.fecap_params(source)
            self.network.lif_params(source)
            self.hil.rram_params(source)
            self.hil.fecap_params(source)
        except ParameterError as err:  # its message already names the source
            raise ConfigError(str(err)) from None

    def _check_chip(self) -> None:
        """The chip setting, and what its neuron layers need of the network."""
        chip = parse_chip(self.chip)
        if chip.backend == "surrogate":
            return
        check_backend_layers(chip, self.hil.layers)
        neurons = self.hil.neuron_layers
        kinds = {name: self.network.layer_neuron(name) for name in neurons}
        if neurons and (set(kinds.values()) != {"felif"} or self.network.mode != "bruno"):
            raise SettingsError(
                f"chip = {self.chip!r} runs the neuron layers {list(neurons)} as FeLIF"
                f" neurons trained with BRUNO; got {kinds} neurons (network.neuron ="
                f" {self.network.neuron!r}, network.hidden_neuron ="
                f" {self.network.hidden_neuron!r}), network.mode = {self.network.mode!r}"
                " (run only crossbars on the chip with --set hil.layers=syn_in,syn_out)"
            )

    def open_chip(self) -> Chip | None:
        """The chip this run trains with (:func:`bruno_hil.chip.open_chip`; None for
        ``surrogate``)."""
        return open_chip(
            self.chip, self.hil, self.seed, self.network.bits, self.network.quant_range
        )

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hil"]["layers"] = list(self.hil.layers)  # a YAML list
        return data

    def save(self, path: Path) -> None:
        """Write the resolved config as YAML."""
        path.write_text(yaml.safe_dump(self.as_dict(), sort_keys=False))


def _convert(key: str, value: Any, hint: Any, source: str) -> Any:
    """Check ``value`` against the type hint of ``key``; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [h for h in options if h is not type(None)]
        origin = typing.get_origin(hint)
    if origin is tuple:  # tuple[str, ...]: a list, or a comma-separated string
        if isinstance(value, str):
            return value
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: {key}: expected a list of names, got {value!r}")
        return tuple(value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key}: expected a mapping, got {value!r}")
        return {str(k): _convert(f"{key}.{k}", v, float, source) for k, v in value.items()}
    if hint is float and isinstance(value, str):
        # YAML 1.1 reads "5e-9" (no dot) as a string: accept what float() accepts
        with contextlib.suppress(ValueError):
            value = float(value)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        raise ConfigError(f"{source}: {key}: expected {hint.__name__}, got {value!r}")
    if hint is float:
        check_finite(f"{source}: {key}", value)
        return float(value)
    return value


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    """Instantiate dataclass ``cls`` from mapping ``data``, rejecting unknown keys."""
    if not isinstance(data, Mapping):
        where = prefix.rstrip(".") or "the top level"
        raise ConfigError(f"{source}: {where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [str(k) for k in data if k not in names]
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)};"
            f" known in {prefix.rstrip('.') or 'the top level'}: {', '.join(names)}"
        )
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, f"{prefix}{name}.", source)
        else:
            values[name] = _convert(prefix + name, value, hint, source)
    try:
        return cls(**values)
    except SettingsError as err:
        raise SettingsError(f"{source}: {err}") from None


def parse_sets(sets: Iterable[str]) -> dict[str, Any]:
    """``section.key=value`` strings (values in YAML syntax) -> a nested mapping."""
    nested: dict[str, Any] = {}
    for item in sets:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. training.epochs=5")
        value = load_yaml(text, f"--set {item!r}")
        *parents, leaf = key.strip().split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
        node[leaf] = value
    return nested


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def load_config(
    path: Path | None = None,
    sets: Iterable[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Defaults, updated by the YAML file ``path`` (if any), then by ``overrides`` (a nested
    mapping, e.g. from ``--device-params``), then by ``--set`` overrides."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        loaded = read_yaml_file(Path(path), "training config")
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: expected a mapping of sections, got {loaded!r}")
        data = dict(loaded or {})
    if overrides:
        data = _merge(data, overrides)
        source = f"{source} + --device-params"
    sets = list(sets)
    if sets:
        data = _merge(data, parse_sets(sets))
        source = f"{source} + --set"
    config = _build(RunConfig, data, "", source)
    config.check(source)
    return config
