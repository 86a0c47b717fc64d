"""The names of what can run on a chip, defined once.

The network is ``inputs -> syn_in -> hidden -> syn_out -> output``: two RRAM crossbars
(synapse layers) and two neuron layers. A chip runs any of them; the rest runs in torch.
Every random draw of a chip's devices is keyed by the layer's *name* through
:data:`DRAW_KEYS`, so reordering or extending these tuples never changes a chip's devices.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast, get_args

from bruno_hil.settings import SettingsError

SynapseLayer = Literal["syn_in", "syn_out"]
NeuronLayer = Literal["hidden", "output"]
LayerName = Literal["syn_in", "hidden", "syn_out", "output"]

SYNAPSE_LAYERS: tuple[SynapseLayer, ...] = get_args(SynapseLayer)
"""The crossbars: ``syn_in`` (inputs -> hidden), ``syn_out`` (hidden -> output)."""
NEURON_LAYERS: tuple[NeuronLayer, ...] = get_args(NeuronLayer)
"""The neuron layers, in data-path order."""
CHIP_LAYERS: tuple[LayerName, ...] = ("syn_in", "hidden", "syn_out", "output")
"""Everything that can run on a chip, in data-path order."""
SYNAPSE_OF: dict[NeuronLayer, SynapseLayer] = {"hidden": "syn_in", "output": "syn_out"}
"""The crossbar that drives each neuron layer."""
SPIKE_INPUTS: frozenset[SynapseLayer] = frozenset({"syn_out"})
"""Crossbars whose inputs are spike counts (read pulses), not analog drives (a DAC)."""
DRAW_KEYS: dict[LayerName, int] = {"hidden": 0, "output": 1, "syn_in": 100, "syn_out": 101}
"""The seed key of each layer's device draws (with the chip's seed)."""
DEFAULT_CHIP_LAYERS: tuple[LayerName, ...] = ("syn_out",)
"""What runs on the chip by default: the output crossbar (cheap enough for whole epochs in
the loop; the neuron circuits cost seconds per sample, ``docs/chip.md``)."""


def parse_layers(key: str, value: str | Iterable[str]) -> tuple[LayerName, ...]:
    """Layer names from a list or a comma-separated string, in data-path order, each once;
    :class:`SettingsError` names ``key`` on an unknown or missing name."""
    names = value.split(",") if isinstance(value, str) else list(value)
    chosen = {str(name).strip() for name in names if str(name).strip()}
    unknown = sorted(chosen - set(CHIP_LAYERS))
    if unknown:
        raise SettingsError(
            f"{key} = {unknown[0]!r}: expected one of {', '.join(map(repr, CHIP_LAYERS))}"
        )
    if not chosen:
        raise SettingsError(f"{key}: name at least one of {', '.join(CHIP_LAYERS)}")
    return tuple(cast(LayerName, name) for name in CHIP_LAYERS if name in chosen)


__all__ = [
    "CHIP_LAYERS",
    "DRAW_KEYS",
    "NEURON_LAYERS",
    "SPIKE_INPUTS",
    "SYNAPSE_LAYERS",
    "SYNAPSE_OF",
    "LayerName",
    "NeuronLayer",
    "SynapseLayer",
    "parse_layers",
]
