"""What programming pulse trains add to the RRAM live calibration, on ngspice.

The chip is the ngspice RRAM compact model with non-default parameters (``CHIP``); the
surrogate starts from the defaults. Two schedules run through
:func:`~bruno_hil.calibration.live.live_calibrate`, both validated on the same held-out
stimuli (an I-V sweep and two LTP/LTD pulse trains of widths and amplitudes that no
training stimulus has):

* **sweeps**: DC I-V sweeps only (+-0.9 V, then +-1.2 V);
* **sweeps + pulses**: the default schedule (the same sweeps with LTP/LTD trains of 1 us
  and 100 ns in between).

Per seed (the simulated instrument's 2 % read noise), prints the held-out RMSE per
stimulus on the ``asinh(I/1 nA)`` scale (2 % noise is ~0.02), the relative error and
1-sigma of the switching parameters, and the wall time; writes ``<out>/pulse_calibration.csv``::

    .venv/bin/python experiments/run_rram_pulse_calibration.py --seeds 0 1 2 --out runs/pulses
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from bruno_hil.calibration.live import default_schedule, live_calibrate
from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.stimulus import iv_sweep, ltp_ltd
from bruno_hil.devices.params import RRAMParams

CHIP = RRAMParams(i_0_A=3e-4, g_0_m=0.28e-9, v_0_V=0.32, vel_0_m_per_s=25.0, gamma=15.0)
"""The simulated chip's device (the defaults elsewhere)."""
HELDOUT = [iv_sweep(1.0, -1.1, 0.02), ltp_ltd(1.0, -1.0, 10, 1e-5), ltp_ltd(1.2, -1.1, 10, 3e-7)]
SWITCHING = ("vel_0_m_per_s", "gamma")


def run(seed: int) -> list[dict[str, object]]:
    """Both schedules for one noise seed: one row per schedule (its last round)."""
    sweeps_and_pulses, _ = default_schedule("rram")
    schedules = {
        "sweeps": [iv_sweep(0.9, -0.9, 0.02), iv_sweep(1.2, -1.2, 0.02)],
        "sweeps + pulses": sweeps_and_pulses,
    }
    rows = []
    for label, schedule in schedules.items():
        start = time.perf_counter()
        result = live_calibrate(
            "rram",
            NgspiceBackend(),
            CHIP,
            RRAMParams(),
            schedule=schedule,
            heldout=HELDOUT,
            min_improvement=None,  # every round: the comparison is of the data, not the stop
            measure_options={"noise_rel": 0.02, "seed": 100 * seed},
        )
        elapsed = time.perf_counter() - start
        last = result.rounds[-1]  # all the schedule's data
        row: dict[str, object] = {"seed": seed, "schedule": label, "rounds": len(result.rounds)}
        row.update({f"heldout {k}": v for k, v in last.heldout_rmse_by_stimulus.items()})
        for name in SWITCHING:
            row[f"{name} error"] = last.params[name] / getattr(CHIP, name) - 1.0
            row[f"{name} sigma"] = last.sigma_local[name] / last.params[name]
        row["time_s"] = elapsed
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("runs/pulse_calibration"))
    args = parser.parse_args()
    table = pd.DataFrame([row for seed in args.seeds for row in run(seed)])
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "pulse_calibration.csv", index=False)
    summary = table.drop(columns=["seed"]).groupby("schedule", sort=False).agg(["mean", "std"])
    print(summary.T.to_string(float_format="{:.4g}".format))


if __name__ == "__main__":
    main()
