"""The ngspice chip's unit of work: one FeLIF neuron of one sample, retried on failure.

Jobs are independent and picklable, so :mod:`bruno_hil.chip.fanout` can spread them over
local processes or a Dask cluster.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from bruno_hil.chip.neuron_circuit import NeuronCircuitSettings, simulate_neuron
from bruno_hil.chip.recording import NeuronOutcome
from bruno_hil.devices.params import FeCapParams
from bruno_hil.spice.errors import SimulationError
from bruno_hil.spice.options import SimOptions

RETRY_OPTIONS: tuple[SimOptions, ...] = (
    SimOptions.robust(),
    dataclasses.replace(SimOptions.robust(), abstol=1e-15),
)
"""Simulator options of the retries of a failed neuron simulation: more iterations with
gmin/source stepping; then also a current tolerance of 1 fA (``docs/chip.md``: why)."""


@dataclass(frozen=True)
class NeuronJob:
    """One neuron of one sample: its device, its input currents [A] (one per step of
    ``dt_s`` [s]), the circuit settings and a wall-clock limit per attempt [s]."""

    params: FeCapParams
    currents_A: np.ndarray
    dt_s: float
    settings: NeuronCircuitSettings
    timeout_s: float


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
    return NeuronOutcome.failure(
        job.currents_A.size,
        attempts=1 + len(RETRY_OPTIONS),
        error=failure.one_line() if failure is not None else "unknown failure",
        cpu_s=time.process_time() - start,
    )


__all__ = ["RETRY_OPTIONS", "NeuronJob", "run_neuron_job"]
