"""Measure a stimulus on a bench the way the calibration fits see it.

:func:`measure_fecap` and :func:`measure_rram` run a
:mod:`~bruno_hil.characterize.stimulus` stimulus on any
:class:`~bruno_hil.characterize.backend.MeasurementBackend` and return the columns the fits
read; they can add a simulated instrument's noise and (FeCap) a parallel parasitic
capacitance, which is how ``calibration/make_examples.py`` and the tests make synthetic
"measured" data from the compact models. :func:`rram_experiment` turns an RRAM
measurement into the fit's :class:`~bruno_hil.calibration.rram.Experiment`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from bruno_hil.calibration.rram import Experiment, experiment_from_frame
from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.stimulus import PulseShape, PulseStimulus, RRAMStimulus, Stimulus
from bruno_hil.devices.params import FeCapParams, RRAMParams


def measure_fecap(
    backend: MeasurementBackend,
    stimulus: Stimulus,
    params: FeCapParams,
    *,
    noise_rel: float = 0.0,
    c_par_F: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure a FeCap stimulus: ``time_s``, ``voltage_V``, ``charge_C``. ``c_par_F`` [F]
    adds a parallel parasitic capacitance (``c_par_F*V`` to the charge, exactly what an
    ideal capacitor across the device adds); ``noise_rel`` adds Gaussian noise of that
    fraction of the charge's range (seeded)."""
    if stimulus.time_s is None:
        raise MeasurementError(f"{stimulus.name}: a FeCap stimulus needs sample times")
    data = backend.fecap_waveform(stimulus.time_s, stimulus.voltage_V, params)
    q = data["charge_C"].to_numpy() + c_par_F * data["voltage_V"].to_numpy()
    rng = np.random.default_rng(seed)
    q = q + noise_rel * float(np.ptp(q)) * rng.standard_normal(q.size)
    return pd.DataFrame({"time_s": data["time_s"], "voltage_V": data["voltage_V"], "charge_C": q})


def _noisy(current_A: np.ndarray, noise_rel: float, noise_floor_A: float, seed: int) -> np.ndarray:
    """``current_A`` with multiplicative noise ``noise_rel`` and an additive floor
    ``noise_floor_A`` [A] (seeded)."""
    rng = np.random.default_rng(seed)
    i = current_A * (1.0 + noise_rel * rng.standard_normal(current_A.size))
    return i + noise_floor_A * rng.standard_normal(current_A.size)


def measure_rram(
    backend: MeasurementBackend,
    stimulus: RRAMStimulus,
    params: RRAMParams,
    *,
    compliance_A: float = 100e-6,
    noise_rel: float = 0.0,
    noise_floor_A: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure an RRAM stimulus with read noise ``noise_rel`` (multiplicative) and an
    additive floor ``noise_floor_A`` [A] (seeded). An I-V sweep gives ``time_s``,
    ``voltage_V`` (across the cell), ``current_A`` and ``setpoint_V`` (needs a backend that
    reports ``time_s`` and ``device_voltage_V``, as the ngspice and visa benches do); a
    pulse train gives ``pulse``, ``amplitude_V``, ``read_current_A`` and
    ``read_voltage_V`` (across the cell during the read)."""
    if isinstance(stimulus, PulseStimulus):
        data = backend.rram_pulses(
            stimulus.amplitude_V, stimulus.width_s, stimulus.read_V, params, compliance_A
        )
        read_v = data.get("device_voltage_V", pd.Series(stimulus.read_V, index=data.index))
        current = data["read_current_A"].to_numpy()
        return pd.DataFrame(
            {
                "pulse": data["pulse"],
                "amplitude_V": data["amplitude_V"],
                "read_current_A": _noisy(current, noise_rel, noise_floor_A, seed),
                "read_voltage_V": read_v.to_numpy(),
            }
        )
    data = backend.rram_dc_sweep(stimulus.voltage_V, compliance_A, params)
    missing = {"time_s", "device_voltage_V"} - set(data.columns)
    if missing:
        raise MeasurementError(
            f"the backend's I-V sweep lacks {', '.join(sorted(missing))}; the RRAM fit needs"
            " the sample times and the voltage across the cell"
        )
    return pd.DataFrame(
        {
            "time_s": data["time_s"],
            "voltage_V": data["device_voltage_V"],
            "current_A": _noisy(data["current_A"].to_numpy(), noise_rel, noise_floor_A, seed),
            "setpoint_V": data["voltage_V"],
        }
    )


def rram_experiment(
    stimulus: RRAMStimulus,
    data: pd.DataFrame,
    compliance_A: float = 100e-6,
    shape: PulseShape | None = None,
) -> Experiment:
    """The fit's view of a measurement from :func:`measure_rram`: a
    :class:`~bruno_hil.calibration.rram.Sweep`, or a :class:`~bruno_hil.calibration.rram.
    PulseTrain` played with the bench's pulse ``shape`` behind ``compliance_A`` [A]."""
    if not isinstance(stimulus, PulseStimulus):
        return experiment_from_frame(data, stimulus.name)
    settings = {"width_s": stimulus.width_s, "read_V": stimulus.read_V}
    settings |= {"compliance_A": compliance_A, **dataclasses.asdict(shape or PulseShape())}
    return experiment_from_frame(data, stimulus.name, settings)


__all__ = ["measure_fecap", "measure_rram", "rram_experiment"]
