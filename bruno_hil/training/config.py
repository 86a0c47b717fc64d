"""The training configuration: dataclasses with defaults, loaded from YAML with strict keys.

A config file is a mapping with the optional sections ``data``, ``network``, ``training``
and the top-level keys ``seed`` and ``chip``; every key not given keeps its default, and
every unknown key or badly typed value is an error naming the key and the file. The
resolved config (all keys) is written into each run folder, so a run can be resumed and
reproduced from its folder alone.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from bruno_hil.devices import FeCapParams, LIFParams, ParameterError, RRAMParams
from bruno_hil.errors import BrunoHilError


class ConfigError(BrunoHilError, ValueError):
    """A training config file or ``--set`` override is malformed."""


@dataclass(frozen=True)
class DataConfig:
    """Which data set, how big, and the subset used for training.

    The defaults of every section are the README's main job: a small Braille run whose
    output layer runs on the ngspice chip in a few minutes on 2 cores; the full software
    experiments set their sizes in ``experiments/*.yaml``."""

    name: str = "braille"
    """``braille`` (27 classes, 128 inputs) or ``randman``."""
    seed: int = 0
    """Seed of the data generation, split and input encoding."""
    samples_per_class: int = 20
    n_steps: int = 50
    """Time steps per sample (each ``dt_s``)."""
    dt_s: float = 1e-3
    test_fraction: float = 0.2
    max_train: int | None = None
    """Train on a class-balanced subset of at most this many samples (None: all)."""
    max_test: int | None = 27
    n_tiles: int = 32
    """Braille: copies of each taxel channel (4 x 32 = 128 inputs)."""
    noise_std: float = 0.05
    """Braille: additive sensor noise [pressure units]."""
    randman_classes: int = 10
    randman_units: int = 32
    randman_alpha: float = 2.0
    randman_manifold_dim: int = 1

    def check(self) -> None:
        _choice("data.name", self.name, ("braille", "randman"))
        _positive("data.samples_per_class", self.samples_per_class)
        _positive("data.n_steps", self.n_steps)
        _positive("data.dt_s", self.dt_s)
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
    """``felif`` (ferroelectric LIF) or ``lif`` (the baseline)."""
    mode: str = "bruno"
    """FeLIF gradient: ``bruno`` (fine forward, coarse-step Jacobian), ``nobruno`` (coarse
    forward and backward) or ``bptt`` (backprop through every inner step)."""
    n_hidden: int = 32
    bits: int | None = None
    """RRAM weight resolution: None (full precision) or 8, 4, 3 bits."""
    n_inner: int = 20
    """FeLIF fine inner Euler steps per network step (1000 = 1 us steps)."""
    surrogate_beta: float = 10.0
    variability_cv: float = 0.0
    """Device-to-device variability (relative std) of the RRAM conductances and neurons."""
    read_noise: float = 0.0
    """RRAM read noise (relative std, redrawn every read)."""
    input_scale_A: float = 20e-9
    """FeLIF: current of a unit weight at a unit input, first crossbar [A]."""
    hidden_scale_A: float = 20e-9
    """FeLIF: current of a unit weight per hidden spike, second crossbar [A]."""
    lif_input_scale: float = 1.0
    """LIF: the same for the normalised LIF input [1]."""
    lif_hidden_scale: float = 1.0
    """LIF: the same per hidden spike [1]."""
    count_scale: float = 0.3
    """Logits = count_scale * output spike counts."""
    fecap: dict[str, float] = field(default_factory=dict)
    """FeCapParams overrides of the surrogate's neurons, ``{field: value}`` in SI units."""
    lif: dict[str, float] = field(default_factory=dict)
    """LIFParams overrides."""

    def check(self) -> None:
        _choice("network.neuron", self.neuron, ("felif", "lif"))
        _choice("network.mode", self.mode, ("bruno", "nobruno", "bptt"))
        _choice("network.bits", self.bits, (None, 8, 4, 3))
        _positive("network.n_hidden", self.n_hidden)
        _positive("network.n_inner", self.n_inner)
        _positive("network.count_scale", self.count_scale)

    def fecap_params(self, source: str) -> FeCapParams:
        return FeCapParams().replace(source=f"{source}: network.fecap", **self.fecap)

    def lif_params(self, source: str) -> LIFParams:
        return LIFParams().replace(source=f"{source}: network.lif", **self.lif)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation: Adamax on the cross-entropy of output spike counts."""

    epochs: int = 9
    batch_size: int = 27
    lr: float = 5e-3
    """Adamax learning rate (the peak, with a schedule)."""
    lr_schedule: str = "cosine"
    """``cosine``: the rate falls as a half cosine from ``lr`` to 0 over the run (after
    the warm-up); or ``constant``. On the main job (3 seeds, 108 test samples) a constant
    5e-3 made the loss jump by up to 1.0 in epochs 2-7 and ended at 0.191 accuracy,
    constant 2e-3 at 0.194; warm-up + cosine at 5e-3 fell smoothly to the lowest loss and
    0.219 (1e-2 with it diverged on one seed)."""
    warmup_epochs: float = 1.0
    """Epochs over which the rate rises linearly from 0 to ``lr`` at the start (at most a
    quarter of the run: a short run is not all warm-up)."""
    eval_every: int = 1
    """Evaluate on the test set every this many epochs (and after the last)."""
    progress: bool = True
    """Show a tqdm progress bar on stderr."""

    def check(self) -> None:
        _positive("training.epochs", self.epochs)
        _positive("training.batch_size", self.batch_size)
        _positive("training.lr", self.lr)
        _choice("training.lr_schedule", self.lr_schedule, ("constant", "cosine"))
        if not (math.isfinite(self.warmup_epochs) and self.warmup_epochs >= 0.0):
            raise ConfigError(f"training.warmup_epochs = {self.warmup_epochs}: must be >= 0")
        _positive("training.eval_every", self.eval_every)

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
class HilConfig:
    """Chip-in-the-loop settings (used when ``chip`` is not ``surrogate``)."""

    layers: str = "syn_out,output"
    """What runs on the chip, comma-separated: crossbars ``syn_in`` (inputs -> hidden),
    ``syn_out`` (hidden -> output); neuron layers ``hidden``, ``output``."""
    surrogate_epochs: int = 8
    """Epochs trained in the torch surrogate before the chip takes over the forward pass
    (0: in the loop from the start)."""
    samples_per_epoch: int | None = 27
    """In-the-loop epochs use at most this many training samples (None: all)."""
    variability_cv: float = 0.0
    """Device-to-device variability of the chip's FeCap neurons and RRAM conductances
    (relative std, drawn once per device)."""
    program_every: int = 1
    """Optimizer steps between reprogrammings of the chip's crossbars (they are always
    reprogrammed before an evaluation)."""
    program_bits: int = 4
    """Signed weight resolution of the crossbar programming (4: -7..7)."""
    tile_rows: int = 32
    """Crossbar tile: rows (inputs) per tile."""
    tile_cols: int = 32
    """Crossbar tile: physical columns per tile (two per differential output)."""
    r_wire_ohm: float = 0.0
    """Crossbar wire resistance per segment [ohm] (0: ideal wires; > 0 costs ~80x more
    simulation time)."""
    v_read_V: float = 0.2
    """Crossbar read voltage at full-scale input [V]."""
    input_full_scale: float = 2.5
    """Network input that maps to the full read voltage (the DAC clips above it)."""
    dac_bits: int | None = None
    """Input DAC resolution (None: ideal)."""
    adc_bits: int | None = None
    """Column ADC resolution per tile (None: ideal)."""
    adc_full_scale_A: float | None = None
    """ADC full scale [A] (None with ``adc_bits``: the largest possible tile current,
    ``tile_rows * v_read_V * (G_max - G_min)``)."""
    crossbar_read: str = "transfer"
    """How ngspice reads a programmed crossbar: ``transfer`` (its transfer conductances
    solved once per programming; exact for the linear read path) or ``transient`` (a
    transient per batch of input vectors)."""
    fecap: dict[str, float] = field(default_factory=dict)
    """FeCapParams overrides of the chip's neurons, ``{field: value}`` in SI units: the
    chip is its own device (the compact model's defaults unless set here), while
    ``network.fecap`` is the surrogate's model of it (e.g. from ``calibrate``)."""
    rram: dict[str, float] = field(default_factory=dict)
    """RRAMParams overrides of the crossbar cells, ``{field: value}`` in SI units."""
    workers: int = 2
    """Local ngspice worker processes (ignored with a scheduler)."""
    scheduler: str | None = None
    """Dask scheduler address (``tcp://host:port``) to fan the simulations out to."""
    timeout_s: float = 120.0
    """Time limit of one neuron simulation [s]."""

    def check(self) -> None:
        for name in self.layer_names():
            _choice("hil.layers", name, ("syn_in", "hidden", "syn_out", "output"))
        if self.surrogate_epochs < 0:
            raise ConfigError(f"hil.surrogate_epochs = {self.surrogate_epochs}: must be >= 0")
        if self.samples_per_epoch is not None:
            _positive("hil.samples_per_epoch", self.samples_per_epoch)
        if not 0.0 <= self.variability_cv < 0.5:
            raise ConfigError(f"hil.variability_cv = {self.variability_cv}: must be in [0, 0.5)")
        for key in ("program_every", "tile_rows", "tile_cols", "workers", "timeout_s"):
            _positive(f"hil.{key}", getattr(self, key))
        for key in ("v_read_V", "input_full_scale"):
            _positive(f"hil.{key}", getattr(self, key))
        if self.r_wire_ohm < 0:
            raise ConfigError(f"hil.r_wire_ohm = {self.r_wire_ohm}: must be >= 0 ohm")
        if self.tile_cols % 2:
            raise ConfigError(f"hil.tile_cols = {self.tile_cols}: must be even (two per pair)")
        if not 2 <= self.program_bits <= 12:
            raise ConfigError(f"hil.program_bits = {self.program_bits}: expected 2..12")
        for key in ("dac_bits", "adc_bits"):
            bits = getattr(self, key)
            if bits is not None and not 2 <= bits <= 24:
                raise ConfigError(f"hil.{key} = {bits}: expected 2..24 or null")
        if self.adc_full_scale_A is not None:
            _positive("hil.adc_full_scale_A", self.adc_full_scale_A)
        _choice("hil.crossbar_read", self.crossbar_read, ("transfer", "transient"))

    def layer_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.layers.split(",") if name.strip())

    def rram_params(self, source: str) -> RRAMParams:
        return RRAMParams().replace(source=f"{source}: hil.rram", **self.rram)

    def fecap_params(self, source: str) -> FeCapParams:
        return FeCapParams().replace(source=f"{source}: hil.fecap", **self.fecap)


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
            self.data.check()
            self.network.check()
            self.training.check()
            self.hil.check()
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        try:
            self.network.fecap_params(source)
            self.network.lif_params(source)
            self.hil.rram_params(source)
            self.hil.fecap_params(source)
        except ParameterError as err:  # its message already names the source
            raise ConfigError(str(err)) from None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        """Write the resolved config as YAML."""
        path.write_text(yaml.safe_dump(self.as_dict(), sort_keys=False))


def _choice(key: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} = {value!r}: expected one of {', '.join(map(repr, choices))}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{key} = {value!r}: must be positive")


def _convert(key: str, value: Any, hint: Any, source: str) -> Any:
    """Check ``value`` against the type hint of ``key``; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [h for h in options if h is not type(None)]
        origin = typing.get_origin(hint)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key}: expected a mapping, got {value!r}")
        return {str(k): _convert(f"{key}.{k}", v, float, source) for k, v in value.items()}
    if hint is float and isinstance(value, str):
        # YAML 1.1 reads "5e-9" (no dot) as a string: accept what float() accepts
        try:
            return float(value)
        except ValueError:
            pass
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        raise ConfigError(f"{source}: {key}: expected {hint.__name__}, got {value!r}")
    return float(value) if hint is float else value


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
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, f"{prefix}{name}.", source)
        else:
            values[name] = _convert(prefix + name, value, hint, source)
    return cls(**values)


def parse_sets(sets: Iterable[str]) -> dict[str, Any]:
    """``section.key=value`` strings (values in YAML syntax) -> a nested mapping."""
    nested: dict[str, Any] = {}
    for item in sets:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. training.epochs=5")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: cannot parse the value: {err}") from None
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


def load_config(path: Path | None = None, sets: Iterable[str] = ()) -> RunConfig:
    """Defaults, updated by the YAML file ``path`` (if any), then by ``--set`` overrides."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read the training config: {err}") from None
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: expected a mapping of sections, got {loaded!r}")
        data = dict(loaded or {})
    sets = list(sets)
    if sets:
        data = _merge(data, parse_sets(sets))
        source = f"{source} + --set"
    config = _build(RunConfig, data, "", source)
    config.check(source)
    return config
