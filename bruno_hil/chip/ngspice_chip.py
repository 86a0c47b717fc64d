"""The ngspice chip: neuron layers of the network run as FeLIF circuits in ngspice, and its
RRAM crossbars as programmed resistive arrays.

:class:`NgspiceChip` is a fine-forward source for :class:`bruno_hil.training.network.Network`:
for each crossbar it was asked to run (``syn_in``, ``syn_out``), :meth:`NgspiceChip.synapse`
programs the layer's weights as conductance pairs and returns the column currents that
ngspice computes (:mod:`bruno_hil.chip.crossbar_chip`); the network uses them in the forward
pass and the torch synapse's gradient in the backward pass (the same straight-through step
as BRUNO's). For each neuron layer it was asked to run (``hidden``, ``output``),
:meth:`NgspiceChip.fine` takes the
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
A simulation that fails (no convergence, time limit) is retried with the options of
:data:`RETRY_OPTIONS`; if every attempt fails, its sample is marked failed: the trainer
leaves it out of the loss and counts it, and the run goes on.

Every chip read is also compared with the surrogate on the same inputs and weights
(:class:`Fidelity`): V and P at the step boundaries, spike counts, crossbar currents.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bruno_hil.chip.crossbar_chip import SYNAPSE_LAYERS, ChipCrossbars, CrossbarChipSettings
from bruno_hil.chip.fanout import Fanout, open_fanout
from bruno_hil.chip.neuron_circuit import NeuronCircuitSettings, simulate_neuron
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.errors import BrunoHilError
from bruno_hil.spice.errors import SimulationError
from bruno_hil.spice.options import SimOptions

NEURON_LAYERS: tuple[str, ...] = ("hidden", "output")
CHIP_LAYERS: tuple[str, ...] = (*SYNAPSE_LAYERS, *NEURON_LAYERS)
SPIKE_INPUTS: tuple[str, ...] = ("syn_out",)
"""Crossbars whose inputs are spike counts (read pulses), not analog drives (DAC)."""
"""Everything that can run on the chip: the two crossbars and the two neuron layers."""


RETRY_OPTIONS: tuple[SimOptions, ...] = (
    SimOptions.robust(),
    dataclasses.replace(SimOptions.robust(), abstol=1e-15),
)
"""Simulator options of the retries of a failed neuron simulation: more iterations with
gmin/source stepping; then also a current tolerance of 1 fA. Measured: a chip neuron
(10 % variability, threshold 3.26 V) driven at ~1 nA stopped at a spike with "timestep too
small" under the default and the robust options, and ran with ``abstol`` 1e-15 A (the
membrane currents are nA; the default abstol is 1 pA)."""


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
    """Simulate one neuron; on failure retry with each of :data:`RETRY_OPTIONS`."""
    start = time.process_time()
    failure: SimulationError | None = None
    for attempt, options in enumerate((None, *RETRY_OPTIONS), start=1):
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
        attempts=1 + len(RETRY_OPTIONS),
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


def record_layer(
    outcomes: Sequence[NeuronOutcome], shape: tuple[int, ...], label: str, wall_s: float
) -> LayerRecording:
    """Stack the outcomes of a layer's runs, (sample, neuron) in sample-major order, into
    a :class:`LayerRecording` of ``shape`` [T, B, N]; a sample with any failed run is
    failed and its spikes are 0 (its V and P are what the outcomes hold). ``label``
    prefixes the error lines."""
    t_steps, batch, n = shape

    def stack(key: str) -> np.ndarray:
        return np.stack([getattr(o, key) for o in outcomes], axis=1).reshape(t_steps, batch, n)

    spikes = stack("spikes")
    failed = np.array([o.error is not None for o in outcomes]).reshape(batch, n).any(axis=1)
    spikes[:, failed, :] = 0
    return LayerRecording(
        spikes=spikes,
        v_V=stack("v_V"),
        p_C_per_m2=stack("p_C_per_m2"),
        failed=failed,
        errors=[
            f"{label}sample {i // n} neuron {i % n}: {o.error}"
            for i, o in enumerate(outcomes)
            if o.error is not None
        ],
        retried=sum(o.attempts > 1 and o.error is None for o in outcomes),
        cpu_s=sum(o.cpu_s for o in outcomes),
        wall_s=wall_s,
    )


@dataclass
class ChipStats:
    """Running totals over a chip's life (for the metrics and the report)."""

    samples: int = 0
    neuron_runs: int = 0
    failed_samples: int = 0
    retried_runs: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    crossbar_reads: int = 0
    crossbar_wall_s: float = 0.0
    programmings: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, rec: LayerRecording) -> None:
        _, b, n = rec.spikes.shape
        self.samples += b
        self.neuron_runs += b * n
        self.failed_samples += int(rec.failed.sum())
        self.retried_runs += rec.retried
        self.cpu_s += rec.cpu_s
        self.wall_s += rec.wall_s
        self.note_errors(rec.errors)

    def note_errors(self, errors: list[str]) -> None:
        self.errors.extend(errors[: max(0, 20 - len(self.errors))])  # keep the first 20

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
            "chip_crossbar_reads": self.crossbar_reads,
            "chip_crossbar_wall_s": round(self.crossbar_wall_s, 3),
            "chip_programmings": self.programmings,
        }


@dataclass
class Fidelity:
    """Chip vs surrogate on the same inputs and weights, collected over chip reads: the
    absolute errors of neuron V [V] and P [C/m^2] at the step boundaries and of the spike
    counts per (sample, neuron) over the whole sample; the crossbars' absolute current
    error and current magnitude. Failed samples are left out."""

    v_abs_V: list[np.ndarray] = field(default_factory=list)
    p_abs_C_per_m2: list[np.ndarray] = field(default_factory=list)
    count_abs: list[np.ndarray] = field(default_factory=list)
    current_abs_err: float = 0.0
    current_abs: float = 0.0

    def add_neurons(self, chip: Any, surrogate: Any, keep: np.ndarray) -> None:
        """Add a layer's [T, B, N] traces, each given as (``v_V``, ``p_C_per_m2``,
        ``spikes``), of the samples ``keep`` [B]."""
        v_c, p_c, s_c = (np.asarray(a)[:, keep] for a in chip)
        v_s, p_s, s_s = (np.asarray(a)[:, keep] for a in surrogate)
        self.v_abs_V.append(np.abs(v_c - v_s).ravel())
        self.p_abs_C_per_m2.append(np.abs(p_c - p_s).ravel())
        self.count_abs.append(np.abs(s_c.sum(0) - s_s.sum(0)).ravel())

    def add_currents(self, chip_A: np.ndarray, surrogate_A: np.ndarray) -> None:
        self.current_abs_err += float(np.abs(chip_A - surrogate_A).sum())
        self.current_abs += float(np.abs(surrogate_A).sum())

    def as_dict(self) -> dict[str, float]:
        """V [V] and P [C/m^2] error at the step boundaries (RMS and median: one spike on
        the other side of a boundary moves V by ~4 V, so the RMS is dominated by such
        boundary cases and the median shows the typical trace error), mean absolute
        spike-count error per neuron and sample, and the crossbars' relative current error
        (sum |chip - surrogate| / sum |surrogate|); NaN where nothing was measured."""
        nan = float("nan")
        out: dict[str, float] = {}
        for key, parts in (("v", self.v_abs_V), ("p", self.p_abs_C_per_m2)):
            unit = "V" if key == "v" else "C_per_m2"
            err = np.concatenate(parts) if parts else np.empty(0)
            out[f"fidelity_{key}_rmse_{unit}"] = (
                float(np.sqrt(np.mean(err**2))) if err.size else nan
            )
            out[f"fidelity_{key}_median_abs_{unit}"] = float(np.median(err)) if err.size else nan
        counts = np.concatenate(self.count_abs) if self.count_abs else np.empty(0)
        out["fidelity_neuron_count_mae"] = float(counts.mean()) if counts.size else nan
        out["fidelity_crossbar_rel_err"] = (
            self.current_abs_err / self.current_abs if self.current_abs else nan
        )
        return out


class NgspiceChip:
    """Crossbars and neuron layers in ngspice behind the fine-forward interface of the
    network.

    ``layers``: what runs on the chip (:data:`CHIP_LAYERS`: crossbars ``syn_in``,
    ``syn_out``; neuron layers ``hidden``, ``output``); the rest runs in torch.
    ``params``: the chip's nominal FeCap (None: each layer's own parameters);
    ``variability_cv``: relative std of :data:`FECAP_VARIABLE_FIELDS` from neuron to
    neuron, drawn once with ``seed``. ``crossbars``: how the crossbars are built and
    programmed (their own ``variability_cv``). ``workers``/``scheduler``: see
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
        crossbars: CrossbarChipSettings | None = None,
    ) -> None:
        unknown = sorted(set(layers) - set(CHIP_LAYERS))
        if unknown or not layers:
            raise ChipConfigError(
                f"chip layers {list(layers)}: choose one or more of {list(CHIP_LAYERS)}"
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
        self.crossbars = ChipCrossbars(crossbars, seed)
        self.fanout: Fanout = open_fanout(workers, scheduler)
        self.stats = ChipStats()
        self.fidelity = Fidelity()
        """Chip vs surrogate since the last :meth:`reset_fidelity`."""
        self.failed: dict[str, np.ndarray] = {}
        """Per chip layer, the [B] mask of samples that failed in the last forward."""
        self._devices: dict[str, list[FeCapParams]] = {}

    def reset_fidelity(self) -> None:
        """Start a new chip-vs-surrogate tally (e.g. at the start of an evaluation)."""
        self.fidelity = Fidelity()

    def weights_updated(self, force: bool = False) -> None:
        """The network's weights changed (one optimizer step); see
        :meth:`ChipCrossbars.weights_updated`."""
        self.crossbars.weights_updated(force)

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
        _, batch, n = currents_A.shape
        devices = self.devices(name, n, nominal)
        jobs = [
            NeuronJob(devices[k], currents_A[:, b, k].copy(), dt_s, self.settings, self.timeout_s)
            for b in range(batch)
            for k in range(n)
        ]
        start = time.perf_counter()
        outcomes = self.fanout.map(run_neuron_job, jobs)
        rec = record_layer(outcomes, currents_A.shape, f"{name} ", time.perf_counter() - start)
        rec.v_V[:, rec.failed, :] = nominal.v_reset_V
        rec.p_C_per_m2[:, rec.failed, :] = -nominal.p_s_C_per_m2
        self.stats.add(rec)
        return rec

    def synapse(
        self, name: str, module: torch.nn.Module, x: torch.Tensor, current: torch.Tensor
    ) -> torch.Tensor | None:
        """The column currents of crossbar ``name`` for inputs ``x`` [T, B, inputs] as the
        chip computes them ([T, B, outputs], the units of ``current``, the surrogate's
        currents for the same inputs), or None when that crossbar is not on the chip. A
        crossbar solve that fails twice marks the whole batch failed and returns the
        surrogate's currents."""
        if name not in self.layers:
            return None
        xs = x.detach().to("cpu", torch.float64).numpy()
        start = time.perf_counter()
        before = self.crossbars.programmings
        programmed = self.crossbars.layer(name, module.weight, float(module.current_scale_A))
        self.stats.programmings += self.crossbars.programmings - before
        chip_A, error = None, None
        for attempt in range(2):
            try:
                chip_A = self.crossbars.currents_A(programmed, xs, name in SPIKE_INPUTS)
                break
            except SimulationError as err:
                error = f"{name} crossbar, attempt {attempt + 1}: {str(err).splitlines()[0]}"
                self.stats.note_errors([error])
        self.stats.crossbar_reads += 1
        self.stats.crossbar_wall_s += time.perf_counter() - start
        if chip_A is None:
            self.failed[name] = np.ones(xs.shape[1], dtype=bool)
            return current
        self.failed[name] = np.zeros(xs.shape[1], dtype=bool)
        self.fidelity.add_currents(chip_A, current.detach().to("cpu", torch.float64).numpy())
        return torch.from_numpy(chip_A).to(device=current.device, dtype=current.dtype)

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
        surrogate = layer.surrogate_fine(current.detach())
        self.fidelity.add_neurons(
            (rec.v_V, rec.p_C_per_m2, rec.spikes),
            tuple(a.cpu().numpy() for a in (surrogate.v_V, surrogate.p_C_per_m2, surrogate.spikes)),
            ~rec.failed,
        )

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
    "CHIP_LAYERS",
    "ChipConfigError",
    "ChipStats",
    "Fidelity",
    "LayerRecording",
    "NeuronJob",
    "NeuronOutcome",
    "NgspiceChip",
    "record_layer",
    "run_neuron_job",
]
