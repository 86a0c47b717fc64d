"""The characterization testbenches on real instruments (``--chip visa://<resource>``).

:class:`VisaBackend` implements :class:`~bruno_hil.characterize.backend.MeasurementBackend`
over the drivers of :mod:`bruno_hil.instruments`: the RRAM methods need a 2400-class SMU
at the resource, the FeCap method a ferroelectric tester (the instrument is recognised by
its ``*IDN?``). Differences from the ngspice backend, by nature of a real bench:

* the device keeps its state between calls (a real cell cannot be reset to
  ``params.g_init_m``); ``params`` serve only the figure extraction (geometry);
* a DC sweep runs as list sweeps of ``segment_points`` setpoints with the output kept on,
  the source delay per point set so that the mean ramp rate is ``sweep_rate_V_per_s``
  (setpoint step / delay); pulse trains run in segments of the same size;
* every request is checked whole against the driver's :class:`~bruno_hil.instruments.
  SafetyLimits` before the first command is sent.

Data stream to ``stream_dir`` as they arrive (:mod:`bruno_hil.characterize.stream`): one
file per measurement, named by its kind and a hash of the request, so a run with
``resume=True`` finds the file of the same request, keeps its complete rows and measures
only the rest (a sweep resumed mid-way starts its remaining setpoints from 0 V: the
instrument was reset in between). A FeCap waveform is one acquisition, written atomically;
resumed, a complete file is reused. The folder belongs to one run, one instrument and one
device (:mod:`bruno_hil.characterize.stream_folder`); without ``stream_dir`` each run
streams to a private folder of its own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.stimulus import PulseShape, positive, vector, waveform_points
from bruno_hil.characterize.stream import RowStream, read_complete, write_atomic
from bruno_hil.characterize.stream_folder import StreamFolder
from bruno_hil.devices.params import DeviceParams, FeCapParams, RRAMParams
from bruno_hil.instruments import (
    FeTester,
    Keithley2400,
    RetryPolicy,
    SafetyLimits,
    open_instrument,
)
from bruno_hil.instruments.tester import UNIFORM_RTOL

DC_COLUMNS = ("voltage_V", "device_voltage_V", "current_A")
PULSE_COLUMNS = ("pulse", "amplitude_V", "read_current_A", "device_voltage_V", "conductance_S")
FECAP_COLUMNS = ("time_s", "voltage_V", "current_A", "charge_C")
MAX_GRID_POINTS = 20_000
"""Most samples of a waveform resampled onto the source's uniform grid: the readback of
three digitizer channels as SCPI text, and the emulator's simulation (~4 s for 20k
points), stay within the instruments' 10 s timeout."""
D = TypeVar("D", Keithley2400, FeTester)


def _request_key(kind: str, **request: object) -> str:
    """``kind-<hash>``: the name of a measurement's stream file."""
    text = json.dumps(
        {k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else v for k, v in request.items()},
        sort_keys=True,
    )
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


class VisaBackend:
    """:class:`MeasurementBackend` on the instrument at the VISA ``resource``, opened
    with the VISA ``library`` (pyvisa backend, ``@py`` by default; see the module). The
    instrument is opened on first use and closed by :meth:`close`."""

    plays_nonuniform_waveforms = False
    """The FeCap source plays one sample rate: a waveform of ns edges in ms holds (the
    switching-kinetics pulses) does not fit its record (see :meth:`fecap_waveform`)."""

    def __init__(
        self,
        resource: str,
        *,
        stream_dir: Path | None = None,
        resume: bool = False,
        sweep_rate_V_per_s: float = 1.0,
        segment_points: int = 100,
        retry: RetryPolicy | None = None,
        smu_limits: SafetyLimits | None = None,
        tester_limits: SafetyLimits | None = None,
        pulse_shape: PulseShape | None = None,
        library: str = "@py",
    ) -> None:
        self.resource = resource
        self.pulse_shape = pulse_shape or PulseShape()
        """The timing the SMU's pulse trains play (edges, read, pauses; what a fit of them
        assumes): the emulator's defaults; set it to a real pulse unit's."""
        self.streams = StreamFolder(stream_dir, resume=resume)
        self.resume = resume
        self.sweep_rate_V_per_s = positive(sweep_rate_V_per_s, "sweep_rate_V_per_s", "V/s")
        if not 1 <= segment_points <= 2500:
            raise MeasurementError(f"segment_points = {segment_points!r} must lie in [1, 2500]")
        self.segment_points = segment_points
        self._options = {
            "retry": retry,
            "smu_limits": smu_limits,
            "tester_limits": tester_limits,
            "backend": library,
        }
        self._instrument: Keithley2400 | FeTester | None = None
        self._idn = ""
        self.files: list[Path] = []
        """The stream files written (or resumed) by this backend, in order."""

    def _driver(self, kind: type[D], what: str) -> D:
        if self._instrument is None:
            self._instrument = open_instrument(self.resource, **self._options)  # type: ignore[arg-type]
            self._idn = self._instrument.identify()
        if not isinstance(self._instrument, kind):
            raise MeasurementError(
                f"--chip visa://{self.resource}: {what} needs a {kind.__name__}-class instrument,"
                f" but the resource is a {type(self._instrument).__name__}"
            )
        return self._instrument

    def _stream_path(self, key: str, params: DeviceParams) -> Path:
        """The stream file of request ``key``, in this run's folder (claimed for this
        instrument and ``params``)."""
        device = {"kind": type(params).__name__, **params.as_dict()}
        folder = self.streams.claim({"resource": self.resource, "idn": self._idn}, device)
        path = folder / f"{key}.csv"
        self.files.append(path)
        return path

    def _stream(self, key: str, columns: tuple[str, ...], params: DeviceParams) -> RowStream:
        return RowStream(self._stream_path(key, params), columns, resume=self.resume)

    # -- RRAM ----------------------------------------------------------------------------
    def rram_dc_sweep(
        self, voltage_V: np.ndarray, compliance_A: float, params: RRAMParams
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.rram_dc_sweep`. Extra columns ``time_s`` (when
        each point is measured: the SMU's source delay per list point, set from the sweep
        rate) and ``device_voltage_V`` (the SMU's sensed voltage across the cell)."""
        v = vector(voltage_V, "voltage_V")
        if v.size < 2:
            raise MeasurementError("voltage_V: a sweep needs two or more setpoints")
        smu = self._driver(Keithley2400, "an I-V sweep")
        smu.limits.check(voltage_V=v, compliance_A=compliance_A)
        steps = np.abs(np.diff(np.concatenate([[0.0], v])))
        delay_s = float(np.median(steps[steps > 0])) / self.sweep_rate_V_per_s
        key = _request_key("rram_dc", v=v, compliance_A=compliance_A, rate=self.sweep_rate_V_per_s)
        stream = self._stream(key, DC_COLUMNS, params)
        self._check_prefix(stream, "voltage_V", v)
        smu.configure(compliance_A)
        with smu.guard():
            for k in range(stream.done, v.size, self.segment_points):
                stream.append(smu.list_sweep(v[k : k + self.segment_points], delay_s))
            smu.output(False)
        data = stream.read()
        data.insert(0, "time_s", delay_s * np.arange(1, len(data) + 1))  # the list's timing
        return data

    def rram_pulses(
        self,
        amplitude_V: np.ndarray,
        width_s: float,
        read_V: float,
        params: RRAMParams,
        compliance_A: float,
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.rram_pulses`. Extra column ``device_voltage_V``
        (across the cell during the read; ``conductance_S`` divides by it)."""
        amps = vector(amplitude_V, "amplitude_V")
        if read_V == 0.0:
            raise MeasurementError("read_V must be nonzero (the conductance is I/V at the read)")
        smu = self._driver(Keithley2400, "a pulse train")
        smu.limits.check(voltage_V=[*amps, read_V], compliance_A=compliance_A, width_s=width_s)
        key = _request_key(
            "rram_pulses", a=amps, width_s=width_s, read_V=read_V, compliance_A=compliance_A
        )
        stream = self._stream(key, PULSE_COLUMNS, params)
        self._check_prefix(stream, "amplitude_V", amps)
        smu.configure(compliance_A)
        with smu.guard():
            for k in range(stream.done, amps.size, self.segment_points):
                data = smu.pulse_train(amps[k : k + self.segment_points], width_s, read_V)
                data["pulse"] = np.arange(k + 1, k + 1 + len(data))
                data["conductance_S"] = data["read_current_A"] / data["device_voltage_V"]
                stream.append(data)
            smu.output(False)
        return stream.read()

    @staticmethod
    def _check_prefix(stream: RowStream, column: str, expected: np.ndarray) -> None:
        """A resumed stream must hold the first rows of this very request."""
        done = stream.read()[column].to_numpy()
        if done.size > expected.size or not np.array_equal(done, expected[: done.size]):
            raise MeasurementError(
                f"{stream.path}: its {column} do not match this measurement; delete it or"
                " choose another --out"
            )

    # -- FeCap ---------------------------------------------------------------------------
    def fecap_waveform(
        self, time_s: np.ndarray, voltage_V: np.ndarray, params: FeCapParams
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.fecap_waveform`. The waveform source plays at one
        sample rate: a waveform whose points are not uniformly spaced is played on a
        uniform grid at its shortest spacing (:func:`_uniform_grid`) and the digitized
        channels are interpolated back to ``time_s``."""
        t, v = waveform_points(time_s, voltage_V)
        tester = self._driver(FeTester, "a P-V waveform")
        tester.limits.check_voltages(v, "voltage_V")
        path = self._stream_path(_request_key("fecap", t=t, v=v), params)
        if self.resume and path.exists():
            return read_complete(path, FECAP_COLUMNS)
        dt = np.diff(t)
        uniform = np.allclose(dt, dt[0], rtol=UNIFORM_RTOL, atol=0.0)
        grid = t if uniform else _uniform_grid(t)
        tester.configure()
        with tester.guard():
            played = tester.waveform(grid, np.interp(grid, t, v))
        data = played if uniform else _resample(played, t)
        write_atomic(path, data)
        return data

    def check_limits(
        self,
        device: str,
        voltage_V: np.ndarray,
        compliance_A: float | None = None,
        width_s: float | None = None,
    ) -> None:
        """See :meth:`MeasurementBackend.check_limits`: the whole run against the safety
        limits of the instrument that measures ``device`` (its ``*IDN?`` is read; nothing
        that changes its state is sent)."""
        kind: type[Keithley2400] | type[FeTester] = Keithley2400 if device == "rram" else FeTester
        driver = self._driver(kind, f"a {device} run")
        driver.limits.check(voltage_V=voltage_V, compliance_A=compliance_A, width_s=width_s)

    def close(self) -> None:
        """Switch the output off, reset and release the instrument (idempotent)."""
        if self._instrument is not None:
            self._instrument.close()
            self._instrument = None


def _uniform_grid(time_s: np.ndarray) -> np.ndarray:
    """A uniform grid [s] over ``time_s`` at its shortest spacing, within
    :data:`MAX_GRID_POINTS` (a coarser grid would play a different waveform than the one
    the data are reported for)."""
    shortest = float(np.diff(time_s).min())
    n = int(np.ceil(time_s[-1] / shortest)) + 1
    if n > MAX_GRID_POINTS:
        raise MeasurementError(
            f"time_s: playing this waveform at its shortest spacing ({shortest:.3g} s) needs"
            f" {n} source samples, more than {MAX_GRID_POINTS}; sample it uniformly, or more"
            " coarsely (switching-kinetics pulses with ns edges in ms holds need a simulator"
            " or a pulse source)"
        )
    return np.linspace(0.0, float(time_s[-1]), n)


def _resample(data: pd.DataFrame, time_s: np.ndarray) -> pd.DataFrame:
    """Every column of ``data`` linearly interpolated at ``time_s`` [s]."""
    return pd.DataFrame(
        {"time_s": time_s}
        | {c: np.interp(time_s, data["time_s"], data[c]) for c in data if c != "time_s"}
    )


__all__ = ["VisaBackend"]
