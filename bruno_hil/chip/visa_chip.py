"""The visa chip: neuron layers of the network measured on a neuron bench through pyvisa.

:class:`VisaChip` is the chip of ``--chip visa://<VISA resource>``: for each neuron layer it
holds (``hidden``, ``output``), :meth:`VisaChip.run_neurons` plays every (sample, neuron)'s
input currents [A] into the bench's neuron, one after another (a bench has one neuron),
through a :class:`~bruno_hil.instruments.NeuronTester`, and records the spike count of each
network step and the membrane voltage at its end. Crossbars are not on a visa bench: the
torch synapses run them.

Polarization is not observable on this bench (a neuron tester senses the membrane
voltage, not the ferroelectric's P): the recording's P is NaN, and the FeLIF layer fills
it in from its own model.

A measurement that fails (a timeout, a dropped link or a garbled reply that the driver's
retries could not overcome, an error in the instrument's queue) is tried once more after
the instrument is brought back to its safe state and reconfigured, as the ngspice chip
retries a simulation; if that fails too, or the currents break the bench's safety limits
(checked before anything is sent), the sample is marked failed in the recording, counted
in :attr:`VisaChip.stats`, and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from bruno_hil.chip.interface import ChipProgress
from bruno_hil.chip.layers import NeuronLayer, SynapseLayer, parse_layers
from bruno_hil.chip.recording import (
    ChipStats,
    CrossbarRecording,
    LayerRecording,
    NeuronOutcome,
    layer_shape,
    record_layer,
)
from bruno_hil.chip.spec import ChipSpec, check_backend_layers
from bruno_hil.devices import FeCapParams
from bruno_hil.instruments import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentLimitError,
    NeuronLimits,
    NeuronTester,
    RetryPolicy,
)
from bruno_hil.settings import SettingsError

ATTEMPTS = 2
"""Measurements per (sample, neuron) before the sample is marked failed."""


class VisaChip:
    """Neuron layers on a neuron bench at VISA ``resource`` (see the module).

    ``layers``: the neuron layers measured on the bench (:data:`NEURON_LAYERS`);
    ``limits``: the bench's :class:`NeuronLimits`; ``backend``/``retry``: the pyvisa
    backend and the driver's retry policy. An unreachable resource, or an instrument that
    is not a neuron tester, is a clear error naming the resource."""

    name = "visa"

    def __init__(
        self,
        resource: str,
        layers: str | Iterable[str] = ("output",),
        *,
        limits: NeuronLimits | None = None,
        backend: str = "@py",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.layers = parse_layers("hil.layers", layers)
        check_backend_layers(ChipSpec("visa", resource), self.layers)
        self.resource = resource
        self.tester = NeuronTester(resource, limits, backend=backend, retry=retry)
        try:
            try:
                idn = self.tester.identify()
            except InstrumentError as err:  # no link, no reply, or no valid reply
                self.tester.safe_state_commands = ()  # only *IDN? was sent: nothing to undo
                reason = str(err).removeprefix(f"{resource}: ")
                raise InstrumentConnectionError(
                    f"cannot reach the neuron bench at {resource} ({reason})"
                ) from None
            if not NeuronTester.matches(idn):
                raise SettingsError(
                    f"{resource}: {idn!r} is not a neuron tester; --chip visa:// trains on a"
                    " neuron bench (e.g. bruno-hil emulate --device felif)"
                )
            self.tester.configure()
        except BaseException:
            self.tester.close()
            raise
        self.stats = ChipStats()
        self.progress: ChipProgress | None = None

    def weights_updated(self, force: bool = False) -> None:
        """Nothing to reprogram: the bench holds no crossbar."""

    def read_crossbar(
        self, name: SynapseLayer, weight: np.ndarray, current_scale: float, x: np.ndarray
    ) -> CrossbarRecording:
        """Never called: a visa bench holds no crossbar (see ``layers``)."""
        raise SettingsError(f"{name}: a visa bench holds no crossbar")

    def measure(self, currents_A: np.ndarray, dt_s: float) -> NeuronOutcome:
        """One neuron run on the bench (see the module for the retry); ``p_C_per_m2`` is
        NaN (not observable) and ``cpu_s`` the wall time of the measurement."""
        start = time.perf_counter()
        error = "no attempt"
        attempt = 0
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if not self.tester.configured:
                    self.tester.configure()
                with self.tester.guard():
                    run = self.tester.run(currents_A, dt_s)
            except InstrumentLimitError as err:  # not sent; trying again would not help
                error = f"{type(err).__name__}: {err}"
                break
            except InstrumentError as err:
                error = f"{type(err).__name__}: {str(err).splitlines()[0]}"
                continue
            return NeuronOutcome(
                spikes=run.spikes,
                v_V=run.v_V,
                p_C_per_m2=np.full(run.v_V.size, np.nan),
                attempts=attempt,
                error=None,
                cpu_s=time.perf_counter() - start,
            )
        return NeuronOutcome.failure(currents_A.size, attempt, error, time.perf_counter() - start)

    def run_neurons(
        self, name: NeuronLayer, currents_A: np.ndarray, dt_s: float, nominal: FeCapParams
    ) -> LayerRecording:
        """Measure every (sample, neuron) of input currents [T, B, N] [A], steps of
        ``dt_s`` [s], one after another (``cpu_s``: the measurements' wall time). The
        bench's neuron is what it is: ``nominal`` is not used."""
        _, batch, n = layer_shape(currents_A)
        start = time.perf_counter()
        outcomes = []
        for b in range(batch):
            outcomes += [self.measure(currents_A[:, b, k].copy(), dt_s) for k in range(n)]
            if self.progress is not None:
                self.progress(name, b + 1, batch)
        rec = record_layer(outcomes, currents_A.shape, f"{name} ", time.perf_counter() - start)
        self.stats.add(rec)
        return rec

    def close(self) -> None:
        """Output off, reset and close the instrument session."""
        self.tester.close()


__all__ = ["ATTEMPTS", "VisaChip"]
