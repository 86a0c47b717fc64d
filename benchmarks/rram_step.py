"""Cost of the RRAM gap step: the closed form of the plain sinh law against the gap-grid
integrator that the field-gated law needs (``bruno_hil.physics.rram.integrate_gap_m``).

A 1 V/s triangle sweep 0 -> 1.5 -> -1.5 -> 0 V in 10 mV steps (600 steps, one cell, as a
calibration fit's forward pass steps it) behind a 100 uA compliance and without one, for
``RRAMParams()`` (voltage-only law: closed form) and ``RRAMParams.field_gated()``. The
table gives the median wall time per sweep over ``--repeats`` runs and the ratio to the
closed form measured in the same run.

Usage: ``python benchmarks/rram_step.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from bruno_hil.devices.params import RRAMParams
from bruno_hil.physics.rram import DTYPE, RRAMTensors, rram_step, rram_step_in_compliance


def _sweep_s(params: RRAMParams, compliance_A: float | None) -> float:
    """Wall time [s] of one sweep of single-cell steps."""
    n = 150
    v = 0.01 * np.concatenate([np.arange(0, n), n - np.arange(0, 2 * n), np.arange(-n, 1)])
    volts = torch.as_tensor(v, dtype=DTYPE)
    h = torch.tensor(0.01, dtype=DTYPE)
    d = RRAMTensors.from_params(params)
    g = torch.tensor(params.g_init_m, dtype=DTYPE)
    i_c = torch.tensor(compliance_A or 1.0, dtype=DTYPE)
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(v.size - 1):
            if compliance_A is None:
                g = rram_step(g, volts[k], h, d, v_end_V=volts[k + 1])
            else:
                g = rram_step_in_compliance(g, volts[k], volts[k + 1], h, d, i_c)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'law':<28}{'compliance':>12}{'median [ms]':>14}{'ratio':>8}")
    for compliance in (None, 100e-6):
        times = {}
        for name, params in (
            ("plain sinh (closed form)", RRAMParams()),
            ("field-gated (gap grid)", RRAMParams.field_gated()),
        ):
            times[name] = statistics.median(
                _sweep_s(params, compliance) for _ in range(args.repeats)
            )
        base = times["plain sinh (closed form)"]
        for name, t in times.items():
            label = "none" if compliance is None else f"{compliance:g} A"
            print(f"{name:<28}{label:>12}{1e3 * t:>14.1f}{t / base:>8.1f}")


if __name__ == "__main__":
    main()
