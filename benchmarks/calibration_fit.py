"""Time to calibrate: a 2000-point FeCap P-V loop and an RRAM I-V sweep ("seconds, not
minutes").

The data come from the ngspice compact models with known, non-default parameters plus a
simulated instrument's noise (0.5 % of the charge range; 2 % of the current), exactly as
``calibration/make_examples.py`` makes them. Each fit runs with the defaults of
``bruno-hil calibrate`` (3 starts, identifiability elimination) ``--repeats`` times; the
table gives the median and the fastest wall time, the model evaluations (each a
simulation with its Jacobian), the RMSE over the noise level and the largest relative
error of the fitted parameters against the truth. The last row fits the same I-V sweep
together with an LTP/LTD pulse train (21 reads, the model stepping the source through
each pulse behind the compliance). ``--all-free`` adds the FeCap fit with the Merz law's
alpha and tau_0 freed (then reported as not identifiable).

Usage: ``python benchmarks/calibration_fit.py [--repeats 3] [--all-free]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bruno_hil.calibration.fecap import FECAP_FIT_NAMES, FECAP_MERZ_NAMES, FeCapFit, fit_fecap
from bruno_hil.calibration.measure import measure_fecap, measure_rram, rram_experiment
from bruno_hil.calibration.rram import RRAMFit, Sweep, fit_rram, fit_rram_experiments
from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.stimulus import iv_sweep, ltp_ltd, pv_loop
from bruno_hil.devices.params import FeCapParams, RRAMParams

FECAP_TRUTH = FeCapParams(p_s_C_per_m2=0.25, e_a_V_per_m=1.5e9, t_int_m=1.0e-9)
C_PAR_F = 100e-15
RRAM_TRUTH = RRAMParams(i_0_A=2e-4, g_0_m=0.3e-9, v_0_V=0.3, vel_0_m_per_s=30.0, gamma=14.0)


@dataclass
class Row:
    case: str
    points: int
    times_s: list[float]
    evaluations: int
    rmse_over_noise: float
    max_rel_error: float
    held: str


def _run(case: str, repeats: int, fit: Callable[[], FeCapFit | RRAMFit], noise: float,
         truth: dict[str, float]) -> Row:  # fmt: skip
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - t0)
    assert result is not None
    r = result.result
    errors = [abs(r.values[k] / v - 1.0) for k, v in truth.items() if k in r.fitted]
    return Row(
        case,
        int(r.prediction.size),
        times,
        r.nfev,
        r.residual_rms / noise,
        max(errors),
        ", ".join(sorted(r.held)) or "-",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all-free", action="store_true")
    args = parser.parse_args()
    backend = NgspiceBackend()

    loop = measure_fecap(
        backend, pv_loop(3.5, 1e3, 2, 1000), FECAP_TRUTH, noise_rel=0.005, c_par_F=C_PAR_F
    )
    t, v, q = (loop[c].to_numpy() for c in ("time_s", "voltage_V", "charge_C"))
    fe_noise = 0.005 * float(np.ptp(q))
    fe_truth = {n: getattr(FECAP_TRUTH, n) for n in FECAP_FIT_NAMES} | {"c_par_F": C_PAR_F}
    rows = [_run("FeCap P-V loop", args.repeats, lambda: fit_fecap(t, v, q), fe_noise, fe_truth)]
    if args.all_free:
        names = (*FECAP_FIT_NAMES, *FECAP_MERZ_NAMES)
        rows.append(
            _run(
                "FeCap P-V, alpha+tau_0 free",
                1,
                lambda: fit_fecap(t, v, q, names=names),
                fe_noise,
                fe_truth | {n: getattr(FECAP_TRUTH, n) for n in FECAP_MERZ_NAMES},
            )
        )

    sweep = measure_rram(backend, iv_sweep(1.2, -1.2, 0.01), RRAM_TRUTH, noise_rel=0.02)
    ti, vi, ii = (sweep[c].to_numpy() for c in ("time_s", "voltage_V", "current_A"))
    rr_truth = {n: getattr(RRAM_TRUTH, n) for n in ("i_0_A", "g_0_m", "v_0_V", "gamma")}
    rr_truth["vel_0_m_per_s"] = RRAM_TRUTH.vel_0_m_per_s
    rows.append(_run("RRAM I-V sweep", args.repeats, lambda: fit_rram(ti, vi, ii), 0.02, rr_truth))
    stimulus = ltp_ltd(1.1, -1.05, 10, 1e-6)
    reads = measure_rram(backend, stimulus, RRAM_TRUTH, noise_rel=0.02)
    both = [Sweep(ti, vi, ii), rram_experiment(stimulus, reads, shape=backend.pulse_shape)]
    rows.append(
        _run(
            "RRAM I-V sweep + pulse train",
            args.repeats,
            lambda: fit_rram_experiments(both),
            0.02,
            rr_truth,
        )
    )

    header = (
        f"{'case':30s} {'points':>6s} {'median s':>9s} {'min s':>7s} {'evals':>6s}"
        f" {'RMSE/noise':>10s} {'max |err|':>9s}  held (not identifiable)"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.case:30s} {r.points:6d} {statistics.median(r.times_s):9.2f}"
            f" {min(r.times_s):7.2f} {r.evaluations:6d} {r.rmse_over_noise:10.3f}"
            f" {r.max_rel_error:9.2%}  {r.held}"
        )


if __name__ == "__main__":
    main()
