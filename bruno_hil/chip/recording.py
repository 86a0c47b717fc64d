"""What a chip returns: recordings of its layers, and its running totals.

A chip records what its instruments (or its simulator) observe at the network-step
boundaries, BRUNO's undersampled observation, and nothing else: a quantity it cannot
observe is NaN (a neuron bench senses the membrane voltage, not the polarization), and so is
everything of a sample whose run failed. Filling those in is the model's job, not the
chip's (:meth:`bruno_hil.neurons.FeLIFLayer.complete`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_KEPT_ERRORS = 20
"""Error lines a :class:`ChipStats` keeps (the first ones)."""


@dataclass(frozen=True)
class NeuronOutcome:
    """One neuron of one sample as recorded: ``spikes`` [T] (spike count per step),
    ``v_V`` and ``p_C_per_m2`` [T] at the end of each step (NaN where not observed);
    ``attempts`` made; ``error`` (None when it succeeded); ``cpu_s`` spent."""

    spikes: np.ndarray
    v_V: np.ndarray
    p_C_per_m2: np.ndarray
    attempts: int
    error: str | None
    cpu_s: float

    @classmethod
    def failure(cls, n_steps: int, attempts: int, error: str, cpu_s: float) -> NeuronOutcome:
        """A run that failed: no spikes, nothing observed."""
        return cls(
            spikes=np.zeros(n_steps, dtype=np.int64),
            v_V=np.full(n_steps, np.nan),
            p_C_per_m2=np.full(n_steps, np.nan),
            attempts=attempts,
            error=error,
            cpu_s=cpu_s,
        )


@dataclass(frozen=True)
class LayerRecording:
    """A neuron layer's run on the chip, [T, B, N] arrays in SI units: ``spikes`` (count
    per step), ``v_V``, ``p_C_per_m2`` (end of each step; NaN where not observed and for
    every entry of a failed sample), ``failed`` [B] (a run of the sample failed every
    attempt; its spikes are 0), ``errors`` (one line per failed run), ``retried`` (runs that
    needed more than one attempt), ``cpu_s`` (simulation CPU or measurement time, all
    workers) and ``wall_s``."""

    spikes: np.ndarray
    v_V: np.ndarray
    p_C_per_m2: np.ndarray
    failed: np.ndarray
    errors: list[str]
    retried: int
    cpu_s: float
    wall_s: float


def layer_shape(currents_A: np.ndarray) -> tuple[int, int, int]:
    """``(T, B, N)`` of a layer's input currents; anything but 3-D is a ValueError."""
    if currents_A.ndim != 3:
        raise ValueError(f"currents_A: expected [T, B, N], got shape {currents_A.shape}")
    t_steps, batch, n = currents_A.shape
    return t_steps, batch, n


def record_layer(
    outcomes: Sequence[NeuronOutcome], shape: tuple[int, ...], label: str, wall_s: float
) -> LayerRecording:
    """Stack the outcomes of a layer's runs, (sample, neuron) in sample-major order, into
    a :class:`LayerRecording` of ``shape`` [T, B, N]; a sample with any failed run is
    failed: its spikes are 0 and its V and P NaN. ``label`` prefixes the error lines."""
    t_steps, batch, n = shape

    def stack(key: str) -> np.ndarray:
        return np.stack([getattr(o, key) for o in outcomes], axis=1).reshape(t_steps, batch, n)

    spikes, v, p = stack("spikes"), stack("v_V").astype(np.float64), stack("p_C_per_m2")
    errors = np.array([o.error is not None for o in outcomes]).reshape(batch, n)
    failed = np.asarray(errors.any(axis=1))
    spikes[:, failed, :] = 0
    v[:, failed, :] = np.nan
    p = p.astype(np.float64)
    p[:, failed, :] = np.nan
    return LayerRecording(
        spikes=spikes,
        v_V=v,
        p_C_per_m2=p,
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


@dataclass(frozen=True)
class CrossbarRecording:
    """A crossbar read: ``currents`` [T, B, outputs] in the synapse's output units
    (amperes for FeLIF; NaN for a failed sample) and ``failed`` [B]."""

    currents: np.ndarray
    failed: np.ndarray


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
        """Keep the first :data:`MAX_KEPT_ERRORS` error lines."""
        self.errors.extend(errors[: max(0, MAX_KEPT_ERRORS - len(self.errors))])

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


__all__ = [
    "MAX_KEPT_ERRORS",
    "ChipStats",
    "CrossbarRecording",
    "LayerRecording",
    "NeuronOutcome",
    "layer_shape",
    "record_layer",
]
