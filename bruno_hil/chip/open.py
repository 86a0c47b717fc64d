"""Open the chip named by one setting: ``surrogate``, ``ngspice`` or ``visa://<resource>``.

:func:`open_chip` builds the chip from the setting (parsed and checked by
:mod:`bruno_hil.chip.spec`) and the ``hil`` settings. A new backend plugs in here and in
:class:`~bruno_hil.chip.spec.ChipSpec`.
"""

from __future__ import annotations

from bruno_hil.chip.interface import Chip
from bruno_hil.chip.settings import HilConfig
from bruno_hil.chip.spec import check_backend_layers, parse_chip
from bruno_hil.physics.quantize import DEFAULT_QUANT_RANGE


def open_chip(
    spec: str,
    hil: HilConfig,
    seed: int = 0,
    network_bits: int | None = None,
    quant_range: str = DEFAULT_QUANT_RANGE,
) -> Chip | None:
    """The chip named by ``spec`` holding ``hil.layers``.

    None for ``surrogate`` (the torch integrator inside the layers); for ``ngspice``,
    crossbars and FeLIF neuron layers as circuits (devices drawn with ``seed``;
    ``network_bits``: the network's training resolution, the default programming
    resolution; ``quant_range``: its weight grid's range, which the programming follows);
    for ``visa://<resource>``, neuron layers measured on a neuron bench."""
    chip = parse_chip(spec)
    check_backend_layers(chip, hil.layers)
    if chip.backend == "surrogate":
        return None
    if chip.backend == "ngspice":
        return _open_ngspice(hil, seed, network_bits, quant_range)
    from bruno_hil.chip.visa_chip import VisaChip
    from bruno_hil.instruments import RetryPolicy

    # hil.timeout_s bounds each reply of the bench (at most the driver's default)
    timeout_s = min(hil.timeout_s, RetryPolicy().timeout_s)
    return VisaChip(
        chip.resource,
        layers=hil.layers,
        backend=chip.library,
        retry=RetryPolicy(timeout_s=timeout_s),
    )


def _open_ngspice(hil: HilConfig, seed: int, network_bits: int | None, quant_range: str) -> Chip:
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
        quant_range=quant_range,
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
        workers=None if hil.scheduler else hil.workers,  # hil.workers: local processes only
        scheduler=hil.scheduler,
        timeout_s=hil.timeout_s,
        crossbars=crossbars,
    )


__all__ = ["open_chip"]
