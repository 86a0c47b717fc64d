"""What a chip is built from: the ``hil`` section of a training config.

:class:`HilConfig` is a frozen dataclass with defaults; its :meth:`HilConfig.check` is the
one place where each chip setting is validated. :func:`bruno_hil.chip.open_chip` builds a
chip from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bruno_hil.chip.layers import (
    DEFAULT_CHIP_LAYERS,
    NEURON_LAYERS,
    SYNAPSE_LAYERS,
    LayerName,
    NeuronLayer,
    SynapseLayer,
    parse_layers,
)
from bruno_hil.devices import FeCapParams, RRAMParams
from bruno_hil.settings import (
    SettingsError,
    check_choice,
    check_cv,
    check_int_range,
    check_non_negative,
    check_positive,
)

CROSSBAR_READS: tuple[str, ...] = ("transfer", "transient")
"""How ngspice reads a programmed crossbar (see :mod:`bruno_hil.chip.crossbar_chip`)."""
DEFAULT_PROGRAM_BITS = 4


@dataclass(frozen=True)
class HilConfig:
    """Chip-in-the-loop settings (used when ``chip`` is not ``surrogate``)."""

    layers: tuple[LayerName, ...] = DEFAULT_CHIP_LAYERS
    """What runs on the chip, a list: crossbars ``syn_in`` (inputs -> hidden),
    ``syn_out`` (hidden -> output); neuron layers ``hidden``, ``output`` (a
    comma-separated string is read too: ``--set hil.layers=syn_in,syn_out``)."""
    surrogate_epochs: int = 8
    """Epochs trained in the torch surrogate before the chip takes over the forward pass
    (0: in the loop from the start)."""
    samples_per_epoch: int | None = None
    """In-the-loop epochs use at most this many training samples (None: all; with neuron
    layers on an ngspice chip each sample costs seconds, so a budget is usual there)."""
    deployed_test: bool = True
    """Test the surrogate-trained weights on the chip before the first in-the-loop step
    (the deployment baseline that the in-the-loop epochs are measured against; a whole
    test pass on the chip)."""
    variability_cv: float = 0.1
    """Device-to-device variability of the chip's FeCap neurons and RRAM conductances
    (relative std, drawn once per device; 0: an ideal chip). The default 10 % makes the
    simulated chip differ from the model, as a fabricated one does."""
    program_every: int = 1
    """Optimizer steps between reprogrammings of the chip's crossbars (they are always
    reprogrammed before an evaluation)."""
    program_bits: int | None = None
    """Signed weight resolution of the crossbar programming (4: -7..7); None: the
    network's training resolution ``network.bits`` if it has one, else 4."""
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

    def __post_init__(self) -> None:
        # a comma-separated string (a --set value, an older config file) -> a tuple
        object.__setattr__(self, "layers", parse_layers("hil.layers", self.layers))

    def check(self) -> None:
        """Validate every setting (:class:`~bruno_hil.settings.SettingsError` names it)."""
        check_non_negative("hil.surrogate_epochs", self.surrogate_epochs)
        if self.samples_per_epoch is not None:
            check_positive("hil.samples_per_epoch", self.samples_per_epoch)
        check_cv("hil.variability_cv", self.variability_cv)
        for key in ("program_every", "tile_rows", "tile_cols", "workers", "timeout_s"):
            check_positive(f"hil.{key}", getattr(self, key))
        for key in ("v_read_V", "input_full_scale"):
            check_positive(f"hil.{key}", getattr(self, key))
        check_non_negative("hil.r_wire_ohm", self.r_wire_ohm, "ohm")
        if self.tile_cols % 2:
            raise SettingsError(f"hil.tile_cols = {self.tile_cols}: must be even (two per pair)")
        check_int_range("hil.program_bits", self.program_bits, 2, 12, allow_none=True)
        for key in ("dac_bits", "adc_bits"):
            check_int_range(f"hil.{key}", getattr(self, key), 2, 24, allow_none=True)
        if self.adc_full_scale_A is not None:
            check_positive("hil.adc_full_scale_A", self.adc_full_scale_A)
        check_choice("hil.crossbar_read", self.crossbar_read, CROSSBAR_READS)
        if self.scheduler is not None and not re.fullmatch(
            r"(tcp|tls)://[^\s/]+:\d+", str(self.scheduler)
        ):
            raise SettingsError(
                f"hil.scheduler = {self.scheduler!r}: expected a Dask scheduler address,"
                " tcp://host:port"
            )

    @property
    def neuron_layers(self) -> tuple[NeuronLayer, ...]:
        """The neuron layers on the chip."""
        return tuple(name for name in NEURON_LAYERS if name in self.layers)

    @property
    def synapse_layers(self) -> tuple[SynapseLayer, ...]:
        """The crossbars on the chip."""
        return tuple(name for name in SYNAPSE_LAYERS if name in self.layers)

    def resolved_program_bits(self, network_bits: int | None) -> int:
        """The programming resolution (see :attr:`program_bits`)."""
        if self.program_bits is not None:
            return self.program_bits
        return network_bits if network_bits is not None else DEFAULT_PROGRAM_BITS

    def rram_params(self, source: str) -> RRAMParams:
        return RRAMParams().replace(source=f"{source}: hil.rram", **self.rram)

    def fecap_params(self, source: str) -> FeCapParams:
        return FeCapParams().replace(source=f"{source}: hil.fecap", **self.fecap)


__all__ = ["CROSSBAR_READS", "DEFAULT_PROGRAM_BITS", "HilConfig"]
