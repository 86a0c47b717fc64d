"""The characterization testbenches on the ngspice compact models (``--chip ngspice``).

Each measurement is one transient of a template in ``netlists/`` around the real device
subcircuit (``fecap`` or ``rram`` from ``device_models/*.lib``):

* ``fecap_pv.cir``: a PWL voltage source on the top plate and an ideal charge integrator
  (the tester), so ``charge_C`` is integrated by ngspice at its own time steps;
* ``rram_dc.cir``: a slow PWL ramp through the sweep's setpoints at ``sweep_rate_V_per_s``
  (a DC sweep of a hysteretic cell is a transient: the gap moves during the sweep) behind
  a series current limiter (the compliance);
* ``rram_pulse.cir``: programming pulses, each followed by a read at ``read_V``, behind
  the same limiter.

Every waveform point enters the netlist through :func:`~bruno_hil.spice.values.
spice_number` and the templates through :func:`~bruno_hil.spice.values.render_file`.
Each call loads a fresh circuit (a new waveform and new device parameters change the
netlist itself; an ``alter`` of a PWL with thousands of points is no faster than a load:
the simulation dominates, ~0.05-0.3 s CPU). A run that does not converge is retried with
:meth:`SimOptions.robust` and capped time steps (see :meth:`NgspiceBackend._run`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bruno_hil.characterize.errors import MeasurementError
from bruno_hil.characterize.stimulus import (
    PulseShape,
    positive,
    pulse_train_waveform,
    vector,
    waveform_points,
)
from bruno_hil.devices.compact import (
    FECAP_LIB,
    RRAM_LIB,
    fecap_instance,
    include_line,
    rram_instance,
)
from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.spice.errors import ConvergenceError
from bruno_hil.spice.runner import NgspiceRunner, SimOptions, SimResult
from bruno_hil.spice.values import render_file, spice_number

NETLISTS_DIR = Path(__file__).resolve().parents[2] / "netlists"
FECAP_PV_TEMPLATE = NETLISTS_DIR / "fecap_pv.cir"
RRAM_DC_TEMPLATE = NETLISTS_DIR / "rram_dc.cir"
RRAM_PULSE_TEMPLATE = NETLISTS_DIR / "rram_pulse.cir"
MAX_RETRY_STEPS = 200_000
"""A retry with a capped time step is skipped when it needs more steps than this (it
would take minutes); the :class:`ConvergenceError` is raised instead."""


@dataclass(frozen=True)
class BenchSettings:
    """Numerical and timing choices of the simulated bench (not device physics), SI units.

    * ``reltol``: ngspice's relative tolerance (method gear);
    * ``limiter_knee_V``: the compliance limiter conducts like ``knee/compliance`` ohms
      at low current (100 ohm at 10 mV, 100 uA); a 1 mV knee failed to converge at
      sweep rates of 1e3 V/s and above;
    * ``node_C_F``: capacitance of the cell's node (pad, probe, wiring). Without it,
      pulses that switch the cell abruptly in compliance (e.g. 1 V, 1 us at 100 uA) did not
      converge in ngspice even with capped steps; with 1 pF, none of 48 trains of
      10 ns-10 us, 0.8-2 V pulses at 10 uA-1 mA failed (5 needed a capped-step retry),
      nor any of 18 sweeps at 1-1e5 V/s. It limits the slew rate behind the
      limiter to ``compliance/node_C_F`` (0.1 V/ns at 100 uA) and adds a displacement
      current ``node_C_F*dV/dt`` to a sweep (1 pA at 1 V/s);
    * ``sweep_rate_V_per_s``: ramp rate of a DC sweep between setpoints (an SMU stepping
      10 mV every 10 ms sweeps at 1 V/s);
    * ``edge_fraction``: rise and fall time of a programming pulse as a fraction of its
      width;
    * ``read_s``: duration of the read after each pulse (the current is sampled at its
      end); ``pause_s``: time at 0 V between a pulse and its read, and after the read.
    """

    reltol: float = 1e-6
    limiter_knee_V: float = 0.01
    node_C_F: float = 1e-12
    sweep_rate_V_per_s: float = 1.0
    edge_fraction: float = 0.05
    read_s: float = 1e-6
    pause_s: float = 1e-6

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            spice_number(value, f"BenchSettings.{name}")
            if not value > 0.0:
                raise MeasurementError(f"BenchSettings.{name} = {value!r} must be > 0")
        if not self.edge_fraction < 0.5:
            raise MeasurementError(
                f"BenchSettings.edge_fraction = {self.edge_fraction!r} must be < 0.5"
            )

    @property
    def pulse_shape(self) -> PulseShape:
        """The timing of the bench's pulse trains."""
        return PulseShape(self.edge_fraction, self.read_s, self.pause_s)


@dataclass(frozen=True)
class RRAMDrive:
    """A source waveform for an RRAM testbench: PWL ``points`` (time [s], voltage [V]),
    the ``.tran`` print step ``tstep_s`` [s], the step cap ``tmax_s`` [s] used on a retry,
    and the times ``sample_s`` [s] at which the measurement is read."""

    title: str
    template: Path
    points: np.ndarray
    tstep_s: float
    tmax_s: float
    sample_s: np.ndarray


def _pwl(points: Sequence[tuple[float, float]] | np.ndarray) -> str:
    """``PWL(`` continuation lines ``)`` of (time [s], voltage [V]) points."""
    body = "\n".join(
        f"+ {spice_number(float(t), 'time_s')} {spice_number(float(v), 'voltage_V')}"
        for t, v in points
    )
    return f"PWL(\n{body} )"


def _tran(tstep_s: float, tstop_s: float, tmax_s: float | None) -> str:
    """The ``.tran`` line, with a step cap ``tmax_s`` [s] when given."""
    line = f".tran {spice_number(tstep_s, 'tstep')} {spice_number(tstop_s, 'tstop')}"
    return line if tmax_s is None else f"{line} 0 {spice_number(tmax_s, 'tmax')}"


class NgspiceBackend:
    """:class:`~bruno_hil.characterize.backend.MeasurementBackend` on the ngspice compact
    models, in this process's shared libngspice."""

    plays_nonuniform_waveforms = True
    """Any piecewise-linear FeCap waveform is simulated and sampled where asked."""

    def __init__(self, settings: BenchSettings | None = None) -> None:
        self.settings = settings or BenchSettings()
        self._runner: NgspiceRunner | None = NgspiceRunner.shared()

    @property
    def pulse_shape(self) -> PulseShape:
        """The timing of this bench's pulse trains (what a fit of them must assume)."""
        return self.settings.pulse_shape

    def _run(self, build: Callable[[float | None], str], tmax_s: float, span_s: float) -> SimResult:
        """Simulate ``build(None)`` (ngspice picks its steps); if it does not converge,
        retry with robust options and the time step capped at ``tmax_s`` [s], then at
        ``tmax_s/10``, skipping caps that would need more than :data:`MAX_RETRY_STEPS`
        steps over ``span_s`` [s]. Fast switching behind the compliance limiter (a SET or
        RESET pulse far above the switching voltage) can defeat ngspice's step control;
        capped steps catch it."""
        if self._runner is None:
            raise MeasurementError("this NgspiceBackend is closed")
        options = SimOptions(reltol=self.settings.reltol, method="gear")
        robust = dataclasses.replace(SimOptions.robust(), reltol=self.settings.reltol)
        attempts = [(None, options)] + [
            (cap, robust) for cap in (tmax_s, tmax_s / 10) if span_s / cap <= MAX_RETRY_STEPS
        ]
        for tmax, opts in attempts[:-1]:
            try:
                return self._runner.simulate(build(tmax), opts)
            except ConvergenceError:
                continue
        tmax, opts = attempts[-1]
        return self._runner.simulate(build(tmax), opts)

    # -- FeCap -----------------------------------------------------------------------------
    def fecap_netlist(
        self,
        time_s: np.ndarray,
        voltage_V: np.ndarray,
        params: FeCapParams,
        tmax_s: float | None = None,
    ) -> str:
        """The P-V testbench driven through the points (``time_s`` [s], ``voltage_V`` [V]),
        with ngspice's time step capped at ``tmax_s`` [s] if given."""
        t, v = waveform_points(time_s, voltage_V)
        # the print step (and ngspice's largest step): the mean sample spacing. ngspice
        # refines at the PWL corners and where P switches; the median of a waveform with
        # geometric holds from 50 ps would make it crawl (docs/ngspice.md, "Cost per run")
        tstep = float(t[-1] / (t.size - 1))
        return "\n".join(
            [
                "FeCap P-V testbench",
                include_line(FECAP_LIB),
                fecap_instance("Xdut", "top", "0", params),
                render_file(FECAP_PV_TEMPLATE, {"q_unit_C": params.area_m2 * params.p_s_C_per_m2}),
                f"Vdrv top 0 {_pwl(np.column_stack([t, v]))}",
                _tran(tstep, t[-1], tmax_s),
                ".end",
            ]
        )

    def fecap_waveform(
        self, time_s: np.ndarray, voltage_V: np.ndarray, params: FeCapParams
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.fecap_waveform`. Extra column:
        ``model_polarization_C_per_m2``, the compact model's internal P (a simulator's
        privilege; an instrument cannot see it)."""
        t, v = waveform_points(time_s, voltage_V)
        res = self._run(
            lambda cap: self.fecap_netlist(t, v, params, cap), float(np.min(np.diff(t))), t[-1]
        )
        t_sim = res["time"]
        q_unit = params.area_m2 * params.p_s_C_per_m2
        return pd.DataFrame(
            {
                "time_s": t,
                "voltage_V": np.interp(t, t_sim, res["top"]),
                "current_A": np.interp(t, t_sim, -res["vdrv#branch"]),
                "charge_C": np.interp(t, t_sim, res["q"]) * q_unit,
                "model_polarization_C_per_m2": np.interp(t, t_sim, res["xdut.p"])
                * params.p_s_C_per_m2,
            }
        )

    # -- RRAM ------------------------------------------------------------------------------
    def rram_netlist(
        self,
        drive: RRAMDrive,
        compliance_A: float,
        params: RRAMParams,
        tmax_s: float | None = None,
    ) -> str:
        """The RRAM testbench (``drive.template``) for a drive from :meth:`dc_drive` or
        :meth:`pulse_drive`, with ngspice's time step capped at ``tmax_s`` [s] if given."""
        positive(compliance_A, "compliance_A", "A")
        values = {
            "compliance_A": compliance_A,
            "knee_V": self.settings.limiter_knee_V,
            "node_C_F": self.settings.node_C_F,
        }
        return "\n".join(
            [
                drive.title,
                include_line(RRAM_LIB),
                rram_instance("Xdut", "top", "0", params),
                render_file(drive.template, values),
                f"Vdrv in 0 {_pwl(drive.points)}",
                _tran(drive.tstep_s, drive.points[-1, 0], tmax_s),
                ".end",
            ]
        )

    def _measure_rram(
        self, drive: RRAMDrive, compliance_A: float, params: RRAMParams
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run a drive; device voltage [V], current [A] and gap [m] at its sample times."""
        res = self._run(
            lambda cap: self.rram_netlist(drive, compliance_A, params, cap),
            drive.tmax_s,
            drive.points[-1, 0],
        )
        t_sim, t = res["time"], drive.sample_s
        return (
            np.interp(t, t_sim, res["top"]),
            np.interp(t, t_sim, -res["vdrv#branch"]),
            np.interp(t, t_sim, res["xdut.gap"]) * 1e-9,
        )

    def dc_drive(self, voltage_V: np.ndarray) -> RRAMDrive:
        """The source ramp of a DC sweep: from 0 V through the setpoints ``voltage_V`` [V]
        at ``settings.sweep_rate_V_per_s`` (a repeated setpoint is held for
        ``limiter_knee_V / sweep_rate`` s); sampled at each setpoint."""
        v = vector(voltage_V, "voltage_V")
        if v.size < 2:
            raise MeasurementError("voltage_V: a sweep needs two or more setpoints")
        rate = self.settings.sweep_rate_V_per_s
        v_path = np.concatenate([[0.0], v])  # the cell's initial state is defined at 0 V
        dt = np.abs(np.diff(v_path)) / rate
        dt = np.where(dt > 0.0, dt, self.settings.limiter_knee_V / rate)
        t_path = np.concatenate([[0.0], np.cumsum(dt)])
        step = float(np.median(dt))
        return RRAMDrive(
            title="RRAM DC I-V testbench",
            template=RRAM_DC_TEMPLATE,
            points=np.column_stack([t_path, v_path]),
            tstep_s=step / 2,
            tmax_s=step / 10,
            sample_s=t_path[1:],
        )

    def pulse_drive(self, amplitude_V: np.ndarray, width_s: float, read_V: float) -> RRAMDrive:
        """The pulse train of :func:`~bruno_hil.characterize.stimulus.pulse_train_waveform`
        with the bench's :attr:`BenchSettings.pulse_shape`; sampled at the end of each
        read plateau."""
        amps = vector(amplitude_V, "amplitude_V")
        width = positive(width_s, "width_s", "s")
        spice_number(read_V, "read_V")
        shape = self.settings.pulse_shape
        wave = pulse_train_waveform(amps, width, read_V, shape)
        return RRAMDrive(
            title="RRAM pulse-programming testbench",
            template=RRAM_PULSE_TEMPLATE,
            points=wave.points,
            tstep_s=min(width, shape.read_s) / 4,
            tmax_s=shape.edge_fraction * min(width, shape.read_s) / 5,
            sample_s=wave.read_time_s,
        )

    def rram_dc_sweep(
        self, voltage_V: np.ndarray, compliance_A: float, params: RRAMParams
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.rram_dc_sweep` and :meth:`dc_drive`. Extra
        columns: ``time_s`` (when the setpoint is reached), ``device_voltage_V`` (across
        the cell: the setpoint minus the limiter's drop, what an SMU with remote sense
        reports) and ``gap_m`` (the model's internal gap)."""
        drive = self.dc_drive(voltage_V)
        v_dev, current, gap = self._measure_rram(drive, compliance_A, params)
        return pd.DataFrame(
            {
                "time_s": drive.sample_s,
                "voltage_V": drive.points[1:, 1],
                "device_voltage_V": v_dev,
                "current_A": current,
                "gap_m": gap,
            }
        )

    def rram_pulses(
        self,
        amplitude_V: np.ndarray,
        width_s: float,
        read_V: float,
        params: RRAMParams,
        compliance_A: float,
    ) -> pd.DataFrame:
        """See :meth:`MeasurementBackend.rram_pulses` and :meth:`pulse_drive`. Extra
        columns: ``read_time_s``, ``device_voltage_V`` (across the cell during the read:
        ``read_V`` less the limiter's drop, ``conductance_S`` divides by it) and ``gap_m``
        (the model's gap at the read)."""
        drive = self.pulse_drive(amplitude_V, width_s, read_V)
        v_dev, current, gap = self._measure_rram(drive, compliance_A, params)
        amps = np.asarray(amplitude_V, dtype=np.float64)
        return pd.DataFrame(
            {
                "pulse": np.arange(1, amps.size + 1),
                "amplitude_V": amps,
                "read_time_s": drive.sample_s,
                "read_current_A": current,
                "conductance_S": current / v_dev,
                "device_voltage_V": v_dev,
                "gap_m": gap,
            }
        )

    def check_limits(
        self,
        device: str,
        voltage_V: np.ndarray,
        compliance_A: float | None = None,
        width_s: float | None = None,
    ) -> None:
        """See :meth:`MeasurementBackend.check_limits`: a simulated device has no bench
        limits (the stimuli are checked where they are built)."""

    def close(self) -> None:
        """Detach from the shared ngspice (it stays loaded for the process's other users)."""
        self._runner = None


__all__ = [
    "FECAP_PV_TEMPLATE",
    "RRAM_DC_TEMPLATE",
    "RRAM_PULSE_TEMPLATE",
    "BenchSettings",
    "NgspiceBackend",
    "RRAMDrive",
]
