"""For the SCPI emulator tests: a raw pyvisa session on an emulated instrument, its error
queue, a stepped sweep through a pymeasure driver, and a ``bruno-hil emulate`` process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyvisa


@contextmanager
def raw_session(resource: str) -> Iterator[pyvisa.resources.MessageBasedResource]:
    """A pyvisa-py session on ``resource`` (``\\n`` terminations, 5 s timeout)."""
    rm = pyvisa.ResourceManager("@py")
    session = rm.open_resource(
        resource, read_termination="\n", write_termination="\n", timeout=5000
    )
    try:
        yield session
    finally:
        session.close()
        rm.close()


def error_queue(session: pyvisa.resources.MessageBasedResource) -> list[str]:
    """Every entry of the instrument's error queue (``SYST:ERR?`` until ``0``)."""
    out = []
    while (reply := session.query("SYST:ERR?")) != '0,"No error"':
        out.append(reply)
    return out


SWEEP_V = np.concatenate([np.linspace(0.05, 1.2, 25), np.linspace(1.15, 0.05, 24)])
"""A 49-point sweep 0.05 V -> 1.2 V -> 0.05 V: it SETs the emulated RRAM cell."""


def stepped_currents(smu: object) -> np.ndarray:
    """Step a pymeasure SMU driver (``source_voltage``, ``current``) through
    :data:`SWEEP_V` point by point; the current [A] read at each."""
    currents = []
    for v in SWEEP_V:
        smu.source_voltage = float(v)  # type: ignore[attr-defined]
        currents.append(smu.current)  # type: ignore[attr-defined]
    return np.array(currents)


@dataclass
class EmulateProcess:
    """A ``bruno-hil emulate --json`` process: its start line (``info``), then, once it
    has stopped, its ``returncode`` and its last JSON line (``final``)."""

    info: dict
    returncode: int | None = None
    final: dict | None = None


@contextmanager
def emulate_process(*args: str) -> Iterator[EmulateProcess]:
    """Run ``bruno-hil emulate ARGS --json`` in a real process for the block; SIGTERM at
    its end."""
    command = "from bruno_hil.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", command, "emulate", *args, "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    served = EmulateProcess(json.loads(proc.stdout.readline()))
    try:
        yield served
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        served.returncode = proc.returncode
        lines = out.strip().splitlines()
        served.final = json.loads(lines[-1]) if lines else None
