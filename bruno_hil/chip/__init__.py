"""The chip: what runs the network's layers outside torch, behind one interface.

* :mod:`~bruno_hil.chip.interface`: :class:`Chip`, the protocol every backend implements;
* :mod:`~bruno_hil.chip.layers`: the layer names, defined once;
* :mod:`~bruno_hil.chip.recording`: what a chip returns and its running totals;
* :mod:`~bruno_hil.chip.fidelity`: chip vs surrogate;
* :mod:`~bruno_hil.chip.settings`: the ``hil`` settings a chip is built from;
* :mod:`~bruno_hil.chip.spec` and :mod:`~bruno_hil.chip.open`: what a chip setting may
  say, and :func:`open_chip`, the one place a backend is built;
* backends: :mod:`~bruno_hil.chip.ngspice_chip` (circuits in ngspice: neurons,
  :mod:`~bruno_hil.chip.neuron_circuit`; crossbars, :mod:`~bruno_hil.chip.crossbar_chip`
  and :mod:`~bruno_hil.chip.crossbar_circuit`; jobs fanned out by
  :mod:`~bruno_hil.chip.jobs` and :mod:`~bruno_hil.chip.fanout`) and
  :mod:`~bruno_hil.chip.visa_chip` (a neuron bench through pyvisa).

Nothing here imports the torch layers or the trainer: a chip takes and returns numpy
arrays in SI units.
"""

from bruno_hil.chip.fidelity import Fidelity
from bruno_hil.chip.interface import Chip, ChipProgress
from bruno_hil.chip.layers import (
    CHIP_LAYERS,
    NEURON_LAYERS,
    SYNAPSE_LAYERS,
    SYNAPSE_OF,
    LayerName,
    NeuronLayer,
    SynapseLayer,
)
from bruno_hil.chip.open import open_chip
from bruno_hil.chip.recording import ChipStats, CrossbarRecording, LayerRecording
from bruno_hil.chip.settings import HilConfig
from bruno_hil.chip.spec import parse_chip

__all__ = [
    "CHIP_LAYERS",
    "NEURON_LAYERS",
    "SYNAPSE_LAYERS",
    "SYNAPSE_OF",
    "Chip",
    "ChipProgress",
    "ChipStats",
    "CrossbarRecording",
    "Fidelity",
    "HilConfig",
    "LayerName",
    "LayerRecording",
    "NeuronLayer",
    "SynapseLayer",
    "open_chip",
    "parse_chip",
]
