"""The error of a malformed measurement request (waveform, compliance, pulse settings)."""

from __future__ import annotations

from bruno_hil.errors import BrunoHilError


class MeasurementError(BrunoHilError, ValueError):
    """A measurement request is malformed (waveform, compliance, pulse settings)."""


__all__ = ["MeasurementError"]
