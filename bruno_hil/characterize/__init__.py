"""Characterization testbenches: FeCap P-E loops and PUND, RRAM I-V loops and pulse
programming, on the ngspice compact models or (later) real instruments.

A :class:`MeasurementBackend` applies waveforms and records data; :mod:`.fecap` and
:mod:`.rram` build the waveforms and extract the figures of merit; :mod:`.plots` draws
them. ``bruno-hil characterize fecap|rram`` is the command line (:mod:`bruno_hil.cli.
characterize`).
"""

from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.fecap import (
    FeCapResult,
    PELoopFigures,
    PundFigures,
    characterize_fecap,
)
from bruno_hil.characterize.open import BackendUnavailableError, open_backend
from bruno_hil.characterize.rram import (
    IVFigures,
    PulseFigures,
    RRAMResult,
    characterize_rram,
    distinguishable_levels,
)

__all__ = [
    "BackendUnavailableError",
    "FeCapResult",
    "IVFigures",
    "MeasurementBackend",
    "MeasurementError",
    "PELoopFigures",
    "PulseFigures",
    "PundFigures",
    "RRAMResult",
    "characterize_fecap",
    "characterize_rram",
    "distinguishable_levels",
    "open_backend",
]
