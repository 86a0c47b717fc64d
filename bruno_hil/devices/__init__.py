"""Device parameter sets (SI units) shared by the torch surrogate and the compact models."""

from bruno_hil.devices.params import (
    FECAP_VARIABLE_FIELDS,
    NOTE_SECTIONS,
    FeCapParams,
    LIFParams,
    ParameterError,
    RRAMParams,
    bench_quantities,
    load_param_sets,
    parse_overrides,
)

__all__ = [
    "FECAP_VARIABLE_FIELDS",
    "NOTE_SECTIONS",
    "FeCapParams",
    "LIFParams",
    "ParameterError",
    "RRAMParams",
    "bench_quantities",
    "load_param_sets",
    "parse_overrides",
]
