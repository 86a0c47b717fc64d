"""The ngspice chip: neuron layers of the network run as FeLIF circuits in ngspice, and its
RRAM crossbars as programmed resistive arrays.

For each crossbar it holds (``syn_in``, ``syn_out``), :meth:`NgspiceChip.read_crossbar`
programs the layer's weights as conductance pairs and returns the column currents that
ngspice computes (:mod:`bruno_hil.chip.crossbar_chip`). For each neuron layer it holds
(``hidden``, ``output``), :meth:`NgspiceChip.run_neurons` simulates every (sample, neuron)
as its own one-neuron circuit (:mod:`bruno_hil.chip.neuron_circuit`: spikes and resets
happen in the circuit) and returns what the chip recorded at the network-step boundaries:
the spike count of each step and V and P at its end.

The chip has its own devices: FeCap parameters drawn once per neuron with device-to-device
variability (``variability_cv`` on :data:`FECAP_VARIABLE_FIELDS`, keyed by the layer's
name), which the surrogate does not know about; that gap is what in-the-loop training
closes.

Simulations are independent, so they are fanned out (:mod:`bruno_hil.chip.fanout`) over
local processes or a Dask cluster, one simulation per neuron (docs/chip.md: why). A
simulation that fails is retried (:mod:`bruno_hil.chip.jobs`); if every attempt fails, its
sample is marked failed in the recording and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from bruno_hil.chip.crossbar_chip import ChipCrossbars, CrossbarChipSettings
from bruno_hil.chip.fanout import Fanout, open_fanout
from bruno_hil.chip.interface import ChipProgress
from bruno_hil.chip.jobs import NeuronJob, run_neuron_job
from bruno_hil.chip.layers import DRAW_KEYS, SPIKE_INPUTS, NeuronLayer, SynapseLayer, parse_layers
from bruno_hil.chip.neuron_circuit import NeuronCircuitSettings
from bruno_hil.chip.recording import (
    ChipStats,
    CrossbarRecording,
    LayerRecording,
    layer_shape,
    record_layer,
)
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.settings import check_cv, check_positive
from bruno_hil.spice.errors import SimulationError

CROSSBAR_ATTEMPTS = 2
"""Solves of a crossbar read before its batch is marked failed."""


class NgspiceChip:
    """Crossbars and neuron layers in ngspice (a :class:`~bruno_hil.chip.interface.Chip`).

    ``layers``: what runs on the chip (names of :mod:`bruno_hil.chip.layers`);
    ``params``: the chip's nominal FeCap (None: each layer's nominal parameters);
    ``variability_cv``: relative std of :data:`FECAP_VARIABLE_FIELDS` from neuron to
    neuron, drawn once with ``seed``. ``crossbars``: how the crossbars are built and
    programmed (their own ``variability_cv``). ``workers``/``scheduler``: see
    :func:`~bruno_hil.chip.fanout.open_fanout`. ``timeout_s``: wall-clock limit per
    simulation attempt [s].
    """

    name = "ngspice"

    def __init__(
        self,
        layers: str | Iterable[str] = ("output",),
        params: FeCapParams | None = None,
        variability_cv: float = 0.0,
        seed: int = 0,
        workers: int | None = None,
        scheduler: str | None = None,
        settings: NeuronCircuitSettings | None = None,
        timeout_s: float = 120.0,
        crossbars: CrossbarChipSettings | None = None,
    ) -> None:
        check_cv("hil.variability_cv", variability_cv)
        check_positive("hil.timeout_s", timeout_s)
        self.layers = parse_layers("hil.layers", layers)
        self.params = params
        self.variability_cv = variability_cv
        self.seed = seed
        self.settings = settings or NeuronCircuitSettings()
        self.timeout_s = timeout_s
        self.crossbars = ChipCrossbars(crossbars, seed)
        self.fanout: Fanout = open_fanout(workers, scheduler)
        self.stats = ChipStats()
        self.progress: ChipProgress | None = None
        self._devices: dict[str, list[FeCapParams]] = {}

    def weights_updated(self, force: bool = False) -> None:
        """The network's weights changed (one optimizer step); see
        :meth:`ChipCrossbars.weights_updated`."""
        self.crossbars.weights_updated(force)

    def devices(self, name: NeuronLayer, n: int, nominal: FeCapParams) -> list[FeCapParams]:
        """The ``n`` neurons of layer ``name`` on this chip, drawn on first use and kept."""
        if name not in self._devices or len(self._devices[name]) != n:
            base = self.params or nominal
            rng = np.random.default_rng([self.seed, DRAW_KEYS[name]])
            factors = 1.0 + self.variability_cv * rng.standard_normal(
                (n, len(FECAP_VARIABLE_FIELDS))
            )
            self._devices[name] = [
                base.replace(
                    source=f"chip {name} neuron {k}",
                    **{
                        f: getattr(base, f) * factor
                        for f, factor in zip(FECAP_VARIABLE_FIELDS, row, strict=True)
                    },
                )
                for k, row in enumerate(factors)
            ]
        return self._devices[name]

    def run_neurons(
        self, name: NeuronLayer, currents_A: np.ndarray, dt_s: float, nominal: FeCapParams
    ) -> LayerRecording:
        """Run layer ``name`` for input currents [T, B, N] [A] with steps of ``dt_s`` [s]."""
        _, batch, n = layer_shape(currents_A)
        devices = self.devices(name, n, nominal)
        jobs = [
            NeuronJob(devices[k], currents_A[:, b, k].copy(), dt_s, self.settings, self.timeout_s)
            for b in range(batch)
            for k in range(n)
        ]
        progress = self.progress

        def done(jobs_done: int) -> None:
            if progress is not None and jobs_done % n == 0:
                progress(name, jobs_done // n, batch)

        start = time.perf_counter()
        outcomes = self.fanout.map(run_neuron_job, jobs, done)
        rec = record_layer(outcomes, currents_A.shape, f"{name} ", time.perf_counter() - start)
        self.stats.add(rec)
        return rec

    def read_crossbar(
        self, name: SynapseLayer, weight: np.ndarray, current_scale: float, x: np.ndarray
    ) -> CrossbarRecording:
        """The column currents of crossbar ``name`` for inputs ``x`` [T, B, inputs] as the
        chip computes them ([T, B, outputs], units of ``current_scale``). A solve that fails
        :data:`CROSSBAR_ATTEMPTS` times marks the whole batch failed (currents NaN)."""
        start = time.perf_counter()
        before = self.crossbars.programmings
        programmed = self.crossbars.layer(name, weight, current_scale)
        self.stats.programmings += self.crossbars.programmings - before
        xs = np.asarray(x, dtype=np.float64)
        currents = None
        for attempt in range(1, CROSSBAR_ATTEMPTS + 1):
            try:
                currents = self.crossbars.currents_A(programmed, xs, name in SPIKE_INPUTS)
                break
            except SimulationError as err:
                self.stats.note_errors([f"{name} crossbar, attempt {attempt}: {err.one_line()}"])
        self.stats.crossbar_reads += 1
        self.stats.crossbar_wall_s += time.perf_counter() - start
        batch = xs.shape[1]
        if currents is None:
            shape = (*xs.shape[:2], weight.shape[0])
            return CrossbarRecording(np.full(shape, np.nan), np.ones(batch, dtype=bool))
        return CrossbarRecording(currents, np.zeros(batch, dtype=bool))

    def close(self) -> None:
        """Stop the worker processes (or leave the Dask cluster)."""
        self.fanout.close()


__all__ = ["CROSSBAR_ATTEMPTS", "NgspiceChip"]
