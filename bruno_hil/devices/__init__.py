"""Device parameter sets (SI units) shared by the torch surrogate and the compact models."""

from bruno_hil.devices.params import (
    FeCapParams,
    LIFParams,
    ParameterError,
    RRAMParams,
    parse_overrides,
)

__all__ = ["FeCapParams", "LIFParams", "ParameterError", "RRAMParams", "parse_overrides"]
