"""What a chip is: the one interface every chip backend implements.

A chip runs some of the network's layers (:attr:`Chip.layers`, names from
:mod:`bruno_hil.chip.layers`) and returns recordings of them
(:mod:`bruno_hil.chip.recording`), in SI units and numpy arrays: it knows nothing of torch
layers, gradients or training. The network (:class:`bruno_hil.training.network.Network`)
asks it for each of its layers that the chip holds, fills in what the chip could not
observe from its own model, and applies BRUNO's straight-through step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from bruno_hil.chip.layers import LayerName, NeuronLayer, SynapseLayer
from bruno_hil.chip.recording import ChipStats, CrossbarRecording, LayerRecording
from bruno_hil.devices import FeCapParams

ChipProgress = Callable[[str, int, int], None]
"""Called as a neuron layer runs: (layer name, samples done, samples in the batch)."""


@runtime_checkable
class Chip(Protocol):
    """A chip backend (ngspice circuits, an instrument bench)."""

    name: str
    """The backend's name (``ngspice``, ``visa``)."""
    layers: tuple[LayerName, ...]
    """The layers this chip runs; the network runs the others in torch."""
    stats: ChipStats
    """Running totals: runs, failures, time, error lines."""
    progress: ChipProgress | None
    """Told how far :meth:`run_neurons` is, sample by sample (None: nobody asks)."""

    def read_crossbar(
        self, name: SynapseLayer, weight: np.ndarray, current_scale: float, x: np.ndarray
    ) -> CrossbarRecording:
        """Crossbar ``name`` programmed with ``weight`` [outputs, inputs] (reprogrammed only
        when :meth:`weights_updated` says so), read with inputs ``x`` [T, B, inputs]:
        its column currents in units of ``current_scale`` (the current of a unit weight
        at a unit input; amperes for FeLIF)."""
        ...

    def weights_updated(self, force: bool = False) -> None:
        """The weights changed (one optimizer step); ``force``: reprogram before the next
        read (e.g. before an evaluation)."""
        ...

    def run_neurons(
        self, name: NeuronLayer, currents_A: np.ndarray, dt_s: float, nominal: FeCapParams
    ) -> LayerRecording:
        """Neuron layer ``name`` driven by ``currents_A`` [T, B, N] [A], each held for a
        step of ``dt_s`` [s], from rest. ``nominal``: the model's parameters of the layer
        (a chip without its own device parameters builds its devices from them)."""
        ...

    def close(self) -> None:
        """Release the chip (worker processes, instruments)."""
        ...


__all__ = ["Chip", "ChipProgress"]
