"""Calibration: fit the torch surrogate's device parameters to measured curves.

:mod:`.io` loads and validates measurement files (CSV/Parquet, SI column names);
:mod:`.fit` is the generic bounded least-squares fit with torch Jacobians, multi-start,
uncertainties (local and jackknife: :mod:`.uncertainty`) and identifiability;
:mod:`.fecap` and :mod:`.rram` fit the FeCap (P-V / charge waveforms) and the RRAM (I-V
sweeps and pulse trains, jointly); :mod:`.report`
writes metrics, parameter files and overlay plots; :mod:`.live` measures, fits and
validates in a loop on any :class:`~bruno_hil.characterize.backend.MeasurementBackend`.
"""

from bruno_hil.calibration.fecap import FeCapFit, fit_fecap, predict_charge
from bruno_hil.calibration.fit import FitError, FitParameter, FitResult, fit
from bruno_hil.calibration.io import Measurement, MeasurementFileError, load_measurement
from bruno_hil.calibration.live import LiveResult, live_calibrate
from bruno_hil.calibration.rram import (
    PulseTrain,
    RRAMFit,
    Sweep,
    fit_rram,
    fit_rram_experiments,
    predict_experiment,
)

__all__ = [
    "FeCapFit",
    "FitError",
    "FitParameter",
    "FitResult",
    "LiveResult",
    "Measurement",
    "MeasurementFileError",
    "PulseTrain",
    "RRAMFit",
    "Sweep",
    "fit",
    "fit_fecap",
    "fit_rram",
    "fit_rram_experiments",
    "live_calibrate",
    "load_measurement",
    "predict_charge",
    "predict_experiment",
]
