"""The ngspice chip: neuron layers of the network run as FeLIF circuits in ngspice.

:class:`NgspiceChip` is a fine-forward source for :class:`bruno_hil.training.network.Network`:
for each neuron layer it was asked to run (``layers``), :meth:`NgspiceChip.fine` takes the
layer's input currents [T, B, N] (amperes), simulates every (sample, neuron) as its own
one-neuron circuit (:mod:`bruno_hil.chip.neuron_circuit`: spikes and resets happen in the
circuit), and returns what the chip recorded at the network-step boundaries, the
undersampled observation that BRUNO needs: whether each neuron spiked in each step and its
V and P at the end of the step. The layer then uses that as ``x_fine`` of its BRUNO step
and differentiates the coarse step.

The chip has its own devices: FeCap parameters drawn once per neuron with device-to-device
variability (``variability_cv`` on :data:`FECAP_VARIABLE_FIELDS`, seeded), which the
surrogate does not know about; that gap is what in-the-loop training closes.

Simulations are independent, so they are fanned out (:mod:`bruno_hil.chip.fanout`) over
local processes or a Dask cluster. One simulation per neuron is deliberate: a netlist of
many neurons runs at the stiffest neuron's time step (measured 13x slower for 32).
A simulation that fails (no convergence, time limit) is retried once with
:meth:`SimOptions.robust`; if it fails again, its sample is marked failed: the trainer
leaves it out of the loss and counts it, and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bruno_hil.chip.fanout import Fanout, open_fanout
from bruno_hil.chip.neuron_circuit import NeuronCircuitSettings, simulate_neuron
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.errors import BrunoHilError
from bruno_hil.spice.errors import SimulationError
from bruno_hil.spice.options import SimOptions

NEURON_LAYERS: tuple[str, ...] = ("hidden", "output")


class ChipConfigError(BrunoHilError, ValueError):
    """A chip setting is invalid (layer name, variability, time limit)."""


@dataclass(frozen=True)
class NeuronJob:
    """One neuron of one sample: its device, its input currents [A] (one per step of
    ``dt_s`` [s]), the circuit settings and a wall-clock limit per attempt [s]."""

    params: FeCapParams
    currents_A: np.ndarray
    dt_s: float
    settings: NeuronCircuitSettings
    timeout_s: float


@dataclass(frozen=True)
class NeuronOutcome:
    """What the chip recorded for one job: ``spikes`` [T] (spike count per step), ``v_V``
    and ``p_C_per_m2`` [T] at the end of each step; ``attempts`` made; ``error`` (None
    when it succeeded); ``cpu_s`` spent."""

    spikes: np.ndarray
    v_V: np.ndarray
    p_C_per_m2: np.ndarray
    attempts: int
    error: str | None
    cpu_s: float


def run_neuron_job(job: NeuronJob) -> NeuronOutcome:
    """Simulate one neuron; retry once with robust simulator options on failure."""
    start = time.process_time()
    failure: SimulationError | None = None
    for attempt, options in enumerate((None, SimOptions.robust()), start=1):
        try:
            run = simulate_neuron(
                job.params,
                job.currents_A,
                job.dt_s,
                settings=job.settings,
                timeout_s=job.timeout_s,
                options=options,
            )
        except SimulationError as err:
            failure = err
            continue
        return NeuronOutcome(
            spikes=run.spikes,
            v_V=run.v_V[1:],
            p_C_per_m2=run.p_C_per_m2[1:],
            attempts=attempt,
            error=None,
            cpu_s=time.process_time() - start,
        )
    n = job.currents_A.size
    message = str(failure).splitlines()[0] if failure is not None else "unknown failure"
    return NeuronOutcome(
        spikes=np.zeros(n, dtype=np.int64),
        v_V=np.full(n, np.nan),
        p_C_per_m2=np.full(n, np.nan),
        attempts=2,
        error=f"{type(failure).__name__}: {message}",
        cpu_s=time.process_time() - start,
    )


@dataclass(frozen=True)
class LayerRecording:
    """A neuron layer's run on the chip, [T, B, N] arrays in SI units: ``spikes`` (count
    per step), ``v_V``, ``p_C_per_m2`` (end of each step; a failed sample's entries are
    spikes 0 and the layer's reset state), ``failed`` [B] (a simulation of the sample
    failed twice), ``errors`` (one line per failed simulation), ``retried`` (simulations
    that needed the second attempt), ``cpu_s`` (simulation CPU time, all workers) and
    ``wall_s``."""

    spikes: np.ndarray
    v_V: np.ndarray
    p_C_per_m2: np.ndarray
    failed: np.ndarray
    errors: list[str]
    retried: int
    cpu_s: float
    wall_s: float


@dataclass
class ChipStats:
    """Running totals over a chip's life (for the metrics and the report)."""

    samples: int = 0
    neuron_runs: int = 0
    failed_samples: int = 0
    retried_runs: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, rec: LayerRecording) -> None:
        _, b, n = rec.spikes.shape
        self.samples += b
        self.neuron_runs += b * n
        self.failed_samples += int(rec.failed.sum())
        self.retried_runs += rec.retried
        self.cpu_s += rec.cpu_s
        self.wall_s += rec.wall_s
        self.errors.extend(rec.errors[: max(0, 20 - len(self.errors))])  # keep the first 20

    def as_dict(self) -> dict[str, Any]:
        per_sample = self.wall_s / self.samples if self.samples else float("nan")
        return {
            "chip_samples": self.samples,
            "chip_neuron_runs": self.neuron_runs,
            "chip_failed_samples": self.failed_samples,
            "chip_retried_runs": self.retried_runs,
            "chip_cpu_s": round(self.cpu_s, 3),
            "chip_wall_s": round(self.wall_s, 3),
            "chip_wall_s_per_sample": per_sample,
        }


class NgspiceChip:
    """Neuron layers in ngspice behind the fine-forward interface of the network.

    ``layers``: which neuron layers run on the chip (``"hidden"``, ``"output"``); the others
    run the torch surrogate. ``params``: the chip's nominal FeCap (None: each layer's own
    parameters); ``variability_cv``: relative std of :data:`FECAP_VARIABLE_FIELDS` from
    neuron to neuron, drawn once with ``seed``. ``workers``/``scheduler``: see
    :func:`~bruno_hil.chip.fanout.open_fanout`. ``timeout_s``: wall-clock limit per
    simulation attempt [s].
    """

    name = "ngspice"

    def __init__(
        self,
        layers: Sequence[str] = ("output",),
        params: FeCapParams | None = None,
        variability_cv: float = 0.0,
        seed: int = 0,
        workers: int | None = None,
        scheduler: str | None = None,
        settings: NeuronCircuitSettings | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        unknown = sorted(set(layers) - set(NEURON_LAYERS))
        if unknown or not layers:
            raise ChipConfigError(
                f"chip layers {list(layers)}: choose one or more of {list(NEURON_LAYERS)}"
            )
        if not 0.0 <= variability_cv < 0.5:
            raise ChipConfigError(f"chip variability_cv = {variability_cv}: must be in [0, 0.5)")
        if not timeout_s > 0:
            raise ChipConfigError(f"chip timeout_s = {timeout_s}: must be > 0 s")
        self.layers = tuple(layers)
        self.params = params
        self.variability_cv = variability_cv
        self.seed = seed
        self.settings = settings or NeuronCircuitSettings()
        self.timeout_s = timeout_s
        self.fanout: Fanout = open_fanout(workers, scheduler)
        self.stats = ChipStats()
        self.failed: dict[str, np.ndarray] = {}
        """Per chip layer, the [B] mask of samples that failed in the last forward."""
        self._devices: dict[str, list[FeCapParams]] = {}

    def devices(self, name: str, n: int, nominal: FeCapParams) -> list[FeCapParams]:
        """The ``n`` neurons of layer ``name`` on this chip, drawn on first use and kept."""
        if name not in self._devices or len(self._devices[name]) != n:
            base = self.params or nominal
            rng = np.random.default_rng([self.seed, NEURON_LAYERS.index(name)])
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

    def run_layer(
        self, name: str, currents_A: np.ndarray, dt_s: float, nominal: FeCapParams
    ) -> LayerRecording:
        """Run layer ``name`` for input currents [T, B, N] [A] with steps of ``dt_s`` [s]."""
        if currents_A.ndim != 3:
            raise ChipConfigError(f"currents_A: expected [T, B, N], got {currents_A.shape}")
        t_steps, batch, n = currents_A.shape
        devices = self.devices(name, n, nominal)
        jobs = [
            NeuronJob(devices[k], currents_A[:, b, k].copy(), dt_s, self.settings, self.timeout_s)
            for b in range(batch)
            for k in range(n)
        ]
        start = time.perf_counter()
        outcomes = self.fanout.map(run_neuron_job, jobs)
        wall = time.perf_counter() - start
        spikes = np.stack([o.spikes for o in outcomes], axis=1).reshape(t_steps, batch, n)
        v = np.stack([o.v_V for o in outcomes], axis=1).reshape(t_steps, batch, n)
        p = np.stack([o.p_C_per_m2 for o in outcomes], axis=1).reshape(t_steps, batch, n)
        bad = np.array([o.error is not None for o in outcomes]).reshape(batch, n)
        failed = bad.any(axis=1)
        v[:, failed, :] = nominal.v_reset_V
        p[:, failed, :] = -nominal.p_s_C_per_m2
        spikes[:, failed, :] = 0
        rec = LayerRecording(
            spikes=spikes,
            v_V=v,
            p_C_per_m2=p,
            failed=failed,
            errors=[
                f"{name} sample {i // n} neuron {i % n}: {o.error}"
                for i, o in enumerate(outcomes)
                if o.error is not None
            ],
            retried=sum(o.attempts > 1 and o.error is None for o in outcomes),
            cpu_s=sum(o.cpu_s for o in outcomes),
            wall_s=wall,
        )
        self.stats.add(rec)
        return rec

    def fine(self, name: str, layer: torch.nn.Module, current: torch.Tensor) -> Any:
        """The ``fine=`` override of neuron layer ``name`` (a
        :class:`bruno_hil.neurons.FineTrace`), or None when that layer is not on the chip."""
        if name not in self.layers:
            return None
        from bruno_hil.neurons import FineTrace

        rec = self.run_layer(
            name,
            current.detach().to("cpu", torch.float64).numpy(),
            float(layer.dt_s),
            layer.params,
        )
        self.failed[name] = rec.failed

        def as_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(device=current.device, dtype=current.dtype)

        return FineTrace(
            spikes=as_tensor(np.minimum(rec.spikes, 1).astype(np.float64)),
            v_V=as_tensor(rec.v_V),
            p_C_per_m2=as_tensor(rec.p_C_per_m2),
        )

    def failed_samples(self) -> np.ndarray | None:
        """[B] mask of the last forward's samples that failed on any chip layer."""
        if not self.failed:
            return None
        return np.logical_or.reduce(list(self.failed.values()))

    def close(self) -> None:
        """Stop the worker processes (or leave the Dask cluster)."""
        self.fanout.close()


__all__ = [
    "ChipConfigError",
    "ChipStats",
    "LayerRecording",
    "NeuronJob",
    "NeuronOutcome",
    "NgspiceChip",
    "run_neuron_job",
]
