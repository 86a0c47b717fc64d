"""Write the synthetic example data sets of ``calibration/`` (deterministic by seed).

They are **not measurements**: the "device" is the ngspice compact model
(``device_models/fecap.lib``, ``rram.lib``) with known, non-default parameters, measured
through :class:`~bruno_hil.characterize.ngspice_backend.NgspiceBackend` with a simulated
instrument's noise (:func:`bruno_hil.calibration.measure.measure_fecap` /
:func:`~bruno_hil.calibration.measure.measure_rram`). Each file says so in its header, with
the true parameters, so ``bruno-hil calibrate`` can be checked against them.

Usage: ``python calibration/make_examples.py [--seed N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bruno_hil.calibration.measure import measure_fecap, measure_rram
from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.characterize.open import open_backend
from bruno_hil.characterize.stimulus import iv_sweep, ltp_ltd, pv_loop
from bruno_hil.devices.params import FeCapParams, RRAMParams

HERE = Path(__file__).resolve().parent
FECAP_TRUTH = {"p_s_C_per_m2": 0.25, "e_a_V_per_m": 1.5e9, "t_int_m": 1.0e-9}
"""Non-default FeCap fields of the example's compact model (others: defaults)."""
FECAP_C_PAR_F = 100e-15
"""Parasitic capacitance [F] across the FeCap in the example's bench."""
FECAP_NOISE_REL = 0.005
"""Charge noise: Gaussian, this fraction of the charge's range."""
RRAM_TRUTH = {
    "i_0_A": 2e-4,
    "g_0_m": 0.3e-9,
    "v_0_V": 0.3,
    "vel_0_m_per_s": 30.0,
    "gamma": 14.0,
}
"""Non-default RRAM fields of the example's compact model (others: defaults)."""
RRAM_NOISE_REL, RRAM_NOISE_FLOOR_A, RRAM_COMPLIANCE_A = 0.02, 1e-11, 100e-6


def _header(lines: list[str]) -> str:
    return "".join(f"# {line}\n" for line in lines)


def _truth(values: dict[str, float]) -> str:
    return " ".join(f"{k}={v:g}" for k, v in values.items())


def fecap_example(seed: int) -> tuple[str, pd.DataFrame]:
    """A 1 kHz, 3.5 V triangle (2 periods, 1601 points) on the FeCap compact model."""
    params = FeCapParams().replace(source="example truth", **FECAP_TRUTH)
    backend = open_backend("ngspice")
    stimulus = pv_loop(3.5, 1e3, 2, 800)
    data = measure_fecap(
        backend, stimulus, params, noise_rel=FECAP_NOISE_REL, c_par_F=FECAP_C_PAR_F, seed=seed
    )
    data["curve"] = np.where(data["time_s"] <= 1e-3, "period 1", "period 2")
    header = _header(
        [
            "SYNTHETIC example data - not a measurement. Made by calibration/make_examples.py",
            f"from the ngspice FeCap compact model, seed {seed}, charge noise Gaussian with",
            f"sigma = {FECAP_NOISE_REL:g} x the charge range, and a {FECAP_C_PAR_F:g} F parasitic",
            "capacitance across the device. Drive: triangle 0 -> 3.5 V -> -3.5 V -> 0, 1 kHz.",
            f"truth: {_truth({**FECAP_TRUTH, 'c_par_F': FECAP_C_PAR_F})} (other fields default)",
            f"area_m2: {params.area_m2:g}",
            f"t_hzo_m: {params.t_hzo_m:g}",
        ]
    )
    return header, data


def rram_example(seed: int) -> tuple[str, pd.DataFrame]:
    """A DC I-V loop 0 -> 1.2 V -> 0 -> -1.2 V -> 0 (10 mV steps, 1 V/s, 100 uA
    compliance) on the RRAM compact model."""
    params = RRAMParams().replace(source="example truth", **RRAM_TRUTH)
    backend = open_backend("ngspice")
    data = measure_rram(
        backend,
        iv_sweep(1.2, -1.2, 0.01),
        params,
        compliance_A=RRAM_COMPLIANCE_A,
        noise_rel=RRAM_NOISE_REL,
        noise_floor_A=RRAM_NOISE_FLOOR_A,
        seed=seed,
    )
    header = _header(
        [
            "SYNTHETIC example data - not a measurement. Made by calibration/make_examples.py",
            f"from the ngspice RRAM compact model, seed {seed}: DC sweep at 1 V/s with",
            f"{RRAM_COMPLIANCE_A:g} A compliance; current noise {RRAM_NOISE_REL:g} relative",
            f"plus {RRAM_NOISE_FLOOR_A:g} A. voltage_V is across the cell, setpoint_V the source.",
            f"truth: {_truth(RRAM_TRUTH)} (other fields default)",
            f"temperature_K: {params.temperature_K:g}",
        ]
    )
    return header, data


def rram_pulses_example(seed: int) -> tuple[str, pd.DataFrame]:
    """An LTP/LTD pulse train (a reference read, 12 SET pulses of 1.1 V and 12 RESET
    pulses of -1.05 V, 1 us each, read at 0.1 V, 100 uA compliance) on the same RRAM."""
    params = RRAMParams().replace(source="example truth", **RRAM_TRUTH)
    backend = NgspiceBackend()
    stimulus = ltp_ltd(1.1, -1.05, 12, 1e-6)
    data = measure_rram(
        backend,
        stimulus,
        params,
        compliance_A=RRAM_COMPLIANCE_A,
        noise_rel=RRAM_NOISE_REL,
        noise_floor_A=RRAM_NOISE_FLOOR_A,
        seed=seed,
    )
    shape = backend.pulse_shape
    header = _header(
        [
            "SYNTHETIC example data - not a measurement. Made by calibration/make_examples.py",
            f"from the ngspice RRAM compact model, seed {seed}: LTP/LTD pulse train behind",
            f"{RRAM_COMPLIANCE_A:g} A compliance, each pulse followed by a read; read noise",
            f"{RRAM_NOISE_REL:g} relative plus {RRAM_NOISE_FLOOR_A:g} A. read_voltage_V is across",
            "the cell during the read.",
            f"truth: {_truth(RRAM_TRUTH)} (other fields default)",
            f"width_s: {stimulus.width_s:g}",
            f"read_V: {stimulus.read_V:g}",
            f"compliance_A: {RRAM_COMPLIANCE_A:g}",
            f"edge_fraction: {shape.edge_fraction:g}",
            f"read_s: {shape.read_s:g}",
            f"pause_s: {shape.pause_s:g}",
            f"temperature_K: {params.temperature_K:g}",
        ]
    )
    return header, data


def write(path: Path, header: str, data: pd.DataFrame) -> Path:
    path.write_text(header + data.to_csv(index=False, float_format="%.9g"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in (
        ("fecap_pv_example.csv", fecap_example),
        ("rram_iv_example.csv", rram_example),
        ("rram_pulses_example.csv", rram_pulses_example),
    ):
        header, data = make(args.seed)
        print(f"wrote {write(args.out / name, header, data)} ({len(data)} rows)")


if __name__ == "__main__":
    main()
