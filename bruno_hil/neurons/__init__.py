"""Neuron layers (thin torch modules over :mod:`bruno_hil.physics`): the FeLIF layer with
its BRUNO, no-BRUNO and BPTT gradients, and the LIF baseline.

Both take input currents ``[T, B, N]`` and return ``(spikes [T, B, N], record)``, where
``record`` maps state names to detached ``[T, B, N]`` traces at the step boundaries."""

from bruno_hil.neurons.felif import FELIF_MODES, FeLIFLayer
from bruno_hil.neurons.lif import LIFLayer
from bruno_hil.physics.fecap import FineTrace

__all__ = ["FELIF_MODES", "FeLIFLayer", "FineTrace", "LIFLayer"]
