"""Choose a chip by one setting: ``surrogate``, ``ngspice`` or ``visa://<VISA resource>``.

:func:`parse_chip` is the one rule for what a chip setting may be; :func:`open_chip`
builds the chip from it and the ``hil`` settings. A new backend plugs in here.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from bruno_hil.chip.interface import Chip
from bruno_hil.chip.layers import NEURON_LAYERS, LayerName
from bruno_hil.chip.settings import HilConfig
from bruno_hil.settings import SettingsError

VISA_PREFIX = "visa://"


class ChipSpec(NamedTuple):
    """A parsed chip setting: the backend and, for ``visa``, the VISA resource."""

    backend: Literal["surrogate", "ngspice", "visa"]
    resource: str = ""


def parse_chip(spec: str) -> ChipSpec:
    """``surrogate`` | ``ngspice`` | ``visa://<resource>``; anything else is a
    :class:`SettingsError`."""
    if spec in ("surrogate", "ngspice"):
        return ChipSpec(spec)  # type: ignore[arg-type]
    if spec.startswith(VISA_PREFIX) and spec.removeprefix(VISA_PREFIX).strip():
        return ChipSpec("visa", spec.removeprefix(VISA_PREFIX))
    raise SettingsError(
        f"chip = {spec!r}: unknown chip; expected surrogate, ngspice or visa://<resource>"
    )


def check_backend_layers(chip: ChipSpec, layers: tuple[LayerName, ...]) -> None:
    """What each backend can hold: a visa bench holds one neuron, so neuron layers only."""
    if chip.backend != "visa":
        return
    crossbars = [name for name in layers if name not in NEURON_LAYERS]
    if crossbars or not layers:
        raise SettingsError(
            f"hil.layers = {list(layers)}: the crossbars {crossbars} are not on a visa bench"
            f" (it holds one neuron); run only neuron layers {list(NEURON_LAYERS)} on it,"
            " e.g. --set hil.layers=output"
        )


def open_chip(
    spec: str, hil: HilConfig, seed: int = 0, network_bits: int | None = None
) -> Chip | None:
    """The chip named by ``spec`` holding ``hil.layers``: None for ``surrogate`` (the
    torch integrator inside the layers); for ``ngspice``, crossbars and FeLIF neuron layers
    as circuits (devices drawn with ``seed``; ``network_bits``: the network's training
    resolution, the default programming resolution); for ``visa://<resource>``, neuron
    layers measured on a neuron bench."""
    chip = parse_chip(spec)
    check_backend_layers(chip, hil.layers)
    if chip.backend == "surrogate":
        return None
    if chip.backend == "ngspice":
        return _open_ngspice(hil, seed, network_bits)
    from bruno_hil.chip.visa_chip import VisaChip
    from bruno_hil.instruments import RetryPolicy

    # hil.timeout_s bounds each reply of the bench (at most the driver's default)
    timeout_s = min(hil.timeout_s, RetryPolicy().timeout_s)
    return VisaChip(chip.resource, layers=hil.layers, retry=RetryPolicy(timeout_s=timeout_s))


def _open_ngspice(hil: HilConfig, seed: int, network_bits: int | None) -> Chip:
    from bruno_hil.chip.crossbar_chip import CrossbarChipSettings
    from bruno_hil.chip.crossbar_circuit import CrossbarSettings, conductance_range_S
    from bruno_hil.chip.ngspice_chip import NgspiceChip

    rram = hil.rram_params("config")
    full_scale = hil.adc_full_scale_A
    if hil.adc_bits is not None and full_scale is None:
        g_min, g_max = conductance_range_S(rram, hil.v_read_V)
        full_scale = hil.tile_rows * hil.v_read_V * (g_max - g_min)
    crossbars = CrossbarChipSettings(
        circuit=CrossbarSettings(
            tile_rows=hil.tile_rows,
            tile_cols=hil.tile_cols,
            r_wire_ohm=hil.r_wire_ohm,
            v_read_V=hil.v_read_V,
            dac_bits=hil.dac_bits,
            adc_bits=hil.adc_bits,
            adc_full_scale_A=full_scale,
        ),
        rram=rram,
        program_bits=hil.resolved_program_bits(network_bits),
        input_full_scale=hil.input_full_scale,
        program_every=hil.program_every,
        variability_cv=hil.variability_cv,
        read=hil.crossbar_read,
    )
    return NgspiceChip(
        layers=hil.layers,
        params=hil.fecap_params("config"),
        variability_cv=hil.variability_cv,
        seed=seed,
        workers=hil.workers,
        scheduler=hil.scheduler,
        timeout_s=hil.timeout_s,
        crossbars=crossbars,
    )


__all__ = ["VISA_PREFIX", "ChipSpec", "check_backend_layers", "open_chip", "parse_chip"]
