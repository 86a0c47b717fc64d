"""One FeLIF neuron as an ngspice circuit: the chip's neuron, spikes and resets included.

The netlist is the ``fecap_core`` compact model (C_fe, polarization switching, I_0 leak)
between the membrane node ``mem`` and ground, plus the neuron parts of
``netlists/felif_neuron.cir``: C_par, the I_dsc discharge, the clip, a comparator with hysteresis
and the reset path that pulls V to ``v_reset_V`` and P to ``-P_s`` together. The input current
is a PWL source built from one current per network step. Spikes and resets happen inside
the transient; Python only reads the waveform afterwards.

Circuit equation (what the tests check against an ODE with an instantaneous reset)::

    C_tot*dV/dt = I_in - I_leak(V) - k*A*dP/dt

(``C_tot = C_fe + C_par`` and ``k`` of :mod:`bruno_hil.devices.fecap_stack`; ``I_leak``
the ``leak_form`` of the parameters, :func:`bruno_hil.physics.fecap.leak_current_A`) with
``sign(V)`` of the I_dsc term smoothed as ``tanh(V/v_dsc_V)`` and a reset that lasts
~13 ``tau_reset_s`` (~13 ns) instead of zero time. The comparator is ngspice's
voltage-controlled switch with hysteresis (closes at V > v_thr_V, opens once the reset
has pulled V below v_reset_V + margin): a behavioral bistable latch was tried first and
gave irreproducible resets (the implicit step has several solutions across the flip).
One neuron per simulation: a netlist of many neurons runs at the stiffest neuron's time
step (the cost is in ``docs/chip.md``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bruno_hil.devices.compact import FECAP_LIB, fecap_instance, include_line
from bruno_hil.devices.params import FeCapParams
from bruno_hil.errors import BrunoHilError
from bruno_hil.spice.runner import NgspiceRunner, SimOptions, SimResult
from bruno_hil.spice.values import render_file, spice_number

NEURON_TEMPLATE = Path(__file__).resolve().parents[2] / "netlists" / "felif_neuron.cir"
"""The fixed part of the neuron circuit (a :func:`~bruno_hil.spice.values.render` template)."""
FIRE_ON_V = 0.5
"""Comparator output [V] that counts as firing: a spike time is its upward crossing."""


class NeuronCircuitError(BrunoHilError, ValueError):
    """Bad input for the neuron circuit (currents, step, initial state, settings)."""


@dataclass(frozen=True)
class NeuronCircuitSettings:
    """Numerical choices of the neuron circuit (not device physics), SI units.

    * ``v_dsc_V``: width of the tanh-smoothed sign(V) in the I_dsc discharge;
    * ``release_margin_V``: the comparator releases the reset when V < v_reset_V + this
      margin (the V left after a reset);
    * ``tau_reset_s``: time constant of the reset of V and P (a reset takes
      ~ln(4 V/margin)*tau: the delay that each spike adds to later spike times);
    * ``tau_clip_s``: time constant C_tot/g_clip of the |V| <= v_clip_V clamp;
    * ``t_edge_s``: rise time of the input current between steps (piecewise-constant mode);
    * ``max_step_fraction``: ngspice's print step, and so its largest internal step, as a
      fraction of the network step;
    * ``reltol``: ngspice's relative tolerance (method gear, order 2). At 1e-6 the spike
      times agree with an ODE solution of the same equations within 0.5 us at 0.5-5 nA
      and for random piecewise-constant drives, but 12 us late at a constant 0.3 nA (a
      slow approach makes the switch chatter near threshold). The trapezoidal method
      missed spikes under random drives; reltol 1e-5 was up to 100 us late.
    """

    v_dsc_V: float = 1e-3
    release_margin_V: float = 1e-5
    tau_reset_s: float = 1e-9
    tau_clip_s: float = 1e-9
    t_edge_s: float = 1e-9
    max_step_fraction: float = 0.1
    reltol: float = 1e-6

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            spice_number(value, f"NeuronCircuitSettings.{name}")
            if not value > 0.0:
                raise NeuronCircuitError(f"NeuronCircuitSettings.{name} = {value!r} must be > 0")


@dataclass(frozen=True)
class NeuronRun:
    """A neuron simulation: spikes and the state sampled at step boundaries (SI units).

    ``boundary_s`` [T+1] holds the step boundaries ``k*dt_s``; ``v_V`` and ``p_C_per_m2``
    the membrane voltage and polarization there; ``spikes`` [T] the spike count of each
    step; ``spike_times_s`` every spike; ``time_s``, ``wave_v_V``, ``wave_p_C_per_m2`` the
    full ngspice waveform, ``wave_fire_V`` the comparator output (1 V during a reset).
    """

    spike_times_s: np.ndarray
    spikes: np.ndarray
    boundary_s: np.ndarray
    v_V: np.ndarray
    p_C_per_m2: np.ndarray
    time_s: np.ndarray
    wave_v_V: np.ndarray
    wave_p_C_per_m2: np.ndarray
    wave_fire_V: np.ndarray


def _check_currents(currents_A: np.ndarray | list[float], dt_s: float) -> np.ndarray:
    currents = np.asarray(currents_A, dtype=np.float64)
    if currents.ndim != 1 or currents.size == 0:
        raise NeuronCircuitError(
            f"currents_A: expected a 1-D array of one current [A] per step, got shape"
            f" {currents.shape}"
        )
    if not np.all(np.isfinite(currents)):
        raise NeuronCircuitError("currents_A: every current must be finite")
    spice_number(dt_s, "dt_s")
    if not dt_s > 0.0:
        raise NeuronCircuitError(f"dt_s = {dt_s!r} must be a positive step in s")
    return currents


def pwl_points(
    currents_A: np.ndarray, dt_s: float, hold: bool, t_edge_s: float
) -> list[tuple[float, float]]:
    """(time [s], current [A]) points of the input source. ``hold``: current ``k`` flows
    during step ``k`` (after a ramp of ``t_edge_s`` at the step's start, so the state at
    each boundary has seen the whole step); else linear between values at the boundaries
    ``0, dt, ..., (T-1)*dt``, held over the last step. Every boundary is a point (a
    breakpoint for ngspice)."""
    n = currents_A.size
    if hold:
        if not t_edge_s < dt_s:
            raise NeuronCircuitError(f"t_edge_s = {t_edge_s!r} must be shorter than dt_s")
        points = [(0.0, float(currents_A[0]))]
        for k in range(n):
            if k > 0:
                points.append((k * dt_s + t_edge_s, float(currents_A[k])))
            points.append(((k + 1) * dt_s, float(currents_A[k])))
        return points
    return [(k * dt_s, float(c)) for k, c in enumerate(currents_A)] + [
        (n * dt_s, float(currents_A[-1]))
    ]


def neuron_netlist(
    params: FeCapParams,
    currents_A: np.ndarray | list[float],
    dt_s: float,
    *,
    hold: bool = True,
    v0_V: float = 0.0,
    p0: float = -1.0,
    settings: NeuronCircuitSettings | None = None,
) -> str:
    """The one-neuron netlist driven by ``currents_A`` [A], one per step of ``dt_s`` [s]
    (see :func:`pwl_points` for ``hold``), starting at V = ``v0_V`` [V] and P = ``p0``*P_s."""
    s = settings or NeuronCircuitSettings()
    currents = _check_currents(currents_A, dt_s)
    if not -params.v_clip_V <= v0_V < params.v_thr_V:
        raise NeuronCircuitError(f"v0_V = {v0_V!r} must lie in [-v_clip_V, v_thr_V)")
    t_stop = currents.size * dt_s
    values = {
        "c_par_F": params.c_par_F,
        "i_dsc_A": params.i_dsc_A,
        "v_dsc_V": s.v_dsc_V,
        "g_clip_S": params.c_tot_F / s.tau_clip_s,
        "v_clip_V": params.v_clip_V,
        "v_thr_V": params.v_thr_V,
        "v_mid_V": 0.5 * (params.v_thr_V + params.v_reset_V + s.release_margin_V),
        "v_half_V": 0.5 * (params.v_thr_V - params.v_reset_V - s.release_margin_V),
        "g_reset_S": params.c_tot_F / s.tau_reset_s,
        "g_reset_p_S": 1.0 / s.tau_reset_s,
        "v_reset_V": params.v_reset_V,
        "v0_V": v0_V,
    }
    pwl = "\n".join(
        f"+ {spice_number(t, 'time')} {spice_number(i, 'current')}"
        for t, i in pwl_points(currents, dt_s, hold, s.t_edge_s)
    )
    return "\n".join(
        [
            "FeLIF neuron",
            include_line(FECAP_LIB),
            fecap_instance("Xfe", "mem", "0", params, p_init=p0, p_node="pn"),
            render_file(NEURON_TEMPLATE, values),
            f"Iin 0 mem PWL(\n{pwl} )",
            f".tran {spice_number(dt_s * s.max_step_fraction, 'tstep')}"
            f" {spice_number(t_stop, 'tstop')}",
            ".end",
        ]
    )


def _crossings_up(t: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Times [s] where ``y`` crosses ``level`` upwards, linearly interpolated."""
    k = np.flatnonzero((y[:-1] <= level) & (y[1:] > level))
    return t[k] + (level - y[k]) * (t[k + 1] - t[k]) / (y[k + 1] - y[k])


def read_run(result: SimResult, params: FeCapParams, n_steps: int, dt_s: float) -> NeuronRun:
    """Spikes and states at the step boundaries from a finished neuron transient. A spike
    time is a rise of the comparator output through :data:`FIRE_ON_V` (interpolated; the
    switch closes within one time step, ~10 ns, of V reaching v_thr_V)."""
    t = result["time"]
    v = result["mem"]
    p = result["pn"] * params.p_s_C_per_m2
    fire = result["fire"]
    spike_times = _crossings_up(t, fire, FIRE_ON_V)
    boundary = np.arange(n_steps + 1) * dt_s
    counts = np.histogram(spike_times, bins=boundary)[0]
    return NeuronRun(
        spike_times_s=spike_times,
        spikes=counts,
        boundary_s=boundary,
        v_V=np.interp(boundary, t, v),
        p_C_per_m2=np.interp(boundary, t, p),
        time_s=t,
        wave_v_V=v,
        wave_p_C_per_m2=p,
        wave_fire_V=fire,
    )


def simulate_neuron(
    params: FeCapParams,
    currents_A: np.ndarray | list[float],
    dt_s: float,
    *,
    hold: bool = True,
    v0_V: float = 0.0,
    p0: float = -1.0,
    settings: NeuronCircuitSettings | None = None,
    timeout_s: float | None = None,
    options: SimOptions | None = None,
) -> NeuronRun:
    """Simulate one neuron in ngspice (see :func:`neuron_netlist`) and read its spikes and
    its states at the step boundaries. ``options`` adds simulator options (e.g.
    :meth:`SimOptions.robust` for a retry); reltol and method default to the settings'
    (gear)."""
    s = settings or NeuronCircuitSettings()
    netlist = neuron_netlist(params, currents_A, dt_s, hold=hold, v0_V=v0_V, p0=p0, settings=s)
    base = options or SimOptions()
    options = dataclasses.replace(
        base, reltol=base.reltol or s.reltol, method=base.method or "gear"
    )
    result = NgspiceRunner.shared().simulate(netlist, options, timeout_s=timeout_s)
    return read_run(result, params, len(np.asarray(currents_A)), dt_s)


__all__ = [
    "FIRE_ON_V",
    "NEURON_TEMPLATE",
    "NeuronCircuitError",
    "NeuronCircuitSettings",
    "NeuronRun",
    "neuron_netlist",
    "pwl_points",
    "read_run",
    "simulate_neuron",
]
