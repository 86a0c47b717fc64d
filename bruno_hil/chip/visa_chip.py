"""The visa chip: neuron layers of the network measured on a neuron bench through pyvisa.

:class:`VisaChip` is the fine-forward source of ``--chip visa://<VISA resource>``, with the
interface of :class:`~bruno_hil.chip.ngspice_chip.NgspiceChip`: for each neuron layer it
was asked to run (``hidden``, ``output``), :meth:`VisaChip.fine` plays every (sample,
neuron)'s input currents [A] into the bench's neuron, one after another (a bench has one
neuron), through a :class:`~bruno_hil.instruments.NeuronTester`, and returns what the
bench recorded at the network-step boundaries: the spike count of each step and the
membrane voltage at its end. Crossbars are not on a visa bench: :meth:`VisaChip.synapse`
returns None and the torch synapses run them.

Polarization is not observable on this bench (a neuron tester senses the membrane
voltage, not the ferroelectric's P), so the P of the returned trace is the surrogate's
fine trajectory for the same currents (``layer.surrogate_fine``); BRUNO's coarse step
then sees the surrogate's P with the chip's V and spikes. The chip-vs-surrogate
:class:`Fidelity` therefore reports V and spike counts only (P: NaN, not measured).

A measurement that fails (a timeout, a dropped link or a garbled reply that the driver's
retries could not overcome, an error in the instrument's queue) is tried once more after
the instrument is brought back to its safe state and reconfigured, as NgspiceChip retries
a simulation; if that fails too, or the currents break the bench's safety limits (checked
before anything is sent), the sample is marked failed (:meth:`VisaChip.failed_samples`),
counted in :attr:`VisaChip.stats`, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from bruno_hil.chip.crossbar_chip import SYNAPSE_LAYERS
from bruno_hil.chip.ngspice_chip import (
    NEURON_LAYERS,
    ChipConfigError,
    ChipStats,
    Fidelity,
    NeuronOutcome,
    record_layer,
)
from bruno_hil.instruments import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentLimitError,
    NeuronLimits,
    NeuronTester,
    RetryPolicy,
)

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
        layers: Sequence[str] = ("output",),
        *,
        limits: NeuronLimits | None = None,
        backend: str = "@py",
        retry: RetryPolicy | None = None,
    ) -> None:
        crossbars = sorted(set(layers) & set(SYNAPSE_LAYERS))
        if crossbars:
            raise ChipConfigError(
                f"chip layers {list(layers)}: the crossbars {crossbars} are not on a visa bench"
                f" (it holds one neuron); run only neuron layers {list(NEURON_LAYERS)} on it,"
                " e.g. --set hil.layers=output"
            )
        unknown = sorted(set(layers) - set(NEURON_LAYERS))
        if unknown or not layers:
            raise ChipConfigError(
                f"chip layers {list(layers)}: choose one or more of {list(NEURON_LAYERS)}"
            )
        self.layers = tuple(layers)
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
                raise ChipConfigError(
                    f"{resource}: {idn!r} is not a neuron tester; --chip visa:// trains on a"
                    " neuron bench (e.g. bruno-hil emulate --device felif)"
                )
            self.tester.configure()
        except BaseException:
            self.tester.close()
            raise
        self.stats = ChipStats()
        self.fidelity = Fidelity()
        """Chip vs surrogate since the last :meth:`reset_fidelity` (V and spike counts)."""
        self.failed: dict[str, np.ndarray] = {}
        """Per neuron layer, the [B] mask of samples that failed in the last forward."""

    def reset_fidelity(self) -> None:
        """Start a new chip-vs-surrogate tally."""
        self.fidelity = Fidelity()

    def weights_updated(self, force: bool = False) -> None:
        """Nothing to reprogram: the bench holds no crossbar."""

    def synapse(
        self, name: str, module: torch.nn.Module, x: torch.Tensor, current: torch.Tensor
    ) -> torch.Tensor | None:
        """None: crossbars run in torch (a visa bench holds one neuron)."""
        return None

    def measure(self, currents_A: np.ndarray, dt_s: float) -> NeuronOutcome:
        """One neuron run on the bench (see the module for the retry); ``p_C_per_m2`` is
        NaN (not observable) and ``cpu_s`` the wall time of the measurement."""
        start = time.perf_counter()
        error = "no attempt"
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
        n = currents_A.size
        return NeuronOutcome(
            spikes=np.zeros(n, dtype=np.int64),
            v_V=np.full(n, np.nan),
            p_C_per_m2=np.full(n, np.nan),
            attempts=attempt,
            error=error,
            cpu_s=time.perf_counter() - start,
        )

    def run_layer(self, currents_A: np.ndarray, dt_s: float, p_C_per_m2: np.ndarray) -> Any:
        """Measure every (sample, neuron) of input currents [T, B, N] [A], steps of
        ``dt_s`` [s]; ``p_C_per_m2`` [T, B, N] is the surrogate's P (taken as the chip's).
        A :class:`LayerRecording` (``cpu_s``: the measurements' wall time); a failed
        sample's V is NaN and its spikes 0."""
        if currents_A.ndim != 3:
            raise ChipConfigError(f"currents_A: expected [T, B, N], got {currents_A.shape}")
        _, batch, n = currents_A.shape
        start = time.perf_counter()
        outcomes = [
            self.measure(currents_A[:, b, k].copy(), dt_s) for b in range(batch) for k in range(n)
        ]
        rec = record_layer(outcomes, currents_A.shape, "", time.perf_counter() - start)
        rec = dataclasses.replace(rec, p_C_per_m2=p_C_per_m2)
        self.stats.add(rec)
        return rec

    def fine(self, name: str, layer: torch.nn.Module, current: torch.Tensor) -> Any:
        """The ``fine=`` override of neuron layer ``name`` (a
        :class:`bruno_hil.neurons.FineTrace`: spikes and V measured, P from the surrogate),
        or None when that layer is not on the bench."""
        if name not in self.layers:
            return None
        from bruno_hil.neurons import FineTrace

        surrogate = layer.surrogate_fine(current.detach())
        sur_v, sur_p, sur_s = (
            a.detach().to("cpu", torch.float64).numpy()
            for a in (surrogate.v_V, surrogate.p_C_per_m2, surrogate.spikes)
        )
        rec = self.run_layer(
            current.detach().to("cpu", torch.float64).numpy(), float(layer.dt_s), sur_p
        )
        self.failed[name] = rec.failed
        v = np.where(rec.failed[None, :, None], sur_v, rec.v_V)
        self.fidelity.add_neurons(
            (v, np.full_like(v, np.nan), rec.spikes), (sur_v, sur_p, sur_s), ~rec.failed
        )

        def as_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(
                device=current.device, dtype=current.dtype
            )

        return FineTrace(
            spikes=as_tensor(np.minimum(rec.spikes, 1).astype(np.float64)),
            v_V=as_tensor(v),
            p_C_per_m2=as_tensor(sur_p),
        )

    def failed_samples(self) -> np.ndarray | None:
        """[B] mask of the last forward's samples that failed on any bench layer."""
        if not self.failed:
            return None
        return np.logical_or.reduce(list(self.failed.values()))

    def close(self) -> None:
        """Output off, reset and close the instrument session."""
        self.tester.close()


__all__ = ["ATTEMPTS", "VisaChip"]
