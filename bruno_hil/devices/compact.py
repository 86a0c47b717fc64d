"""The device compact models in ``device_models/``, seen from Python.

Each device exists twice with the same equations: a Verilog-A module (``fecap.va``,
``rram.va``; state on internal nodes, equation variables marked ``(*retrieve*)``) and an
ngspice subcircuit built from behavioral sources (``fecap.lib``, ``rram.lib``), because
Debian's ngspice 39 has no OSDI. ``tests/test_compact_models.py`` proves that they agree;
:func:`bruno_hil.spice.osdi.compile_verilog_a` compiles the ``.va`` files.

This module gives the model files' paths, their ``.include`` lines, and instance lines
rendered from the shared parameter dataclasses (every number through
:func:`~bruno_hil.spice.values.spice_number`, every name through
:func:`~bruno_hil.spice.values.spice_name`). Internal state nodes of an instance ``Xf1``:
``xf1.p`` (FeCap, P/P_s, 1 V == P_s) and, for ``Xr1``, ``xr1.gap`` (RRAM gap, 1 V == 1 nm).
"""

from __future__ import annotations

from pathlib import Path

from bruno_hil.devices.params import FeCapParams, RRAMParams
from bruno_hil.spice.values import (
    NetlistValueError,
    SpiceName,
    check_netlist,
    render,
    spice_node,
)

MODELS_DIR = Path(__file__).resolve().parents[2] / "device_models"
"""The folder of the compact models (Verilog-A sources and ngspice libraries)."""
FECAP_VA = MODELS_DIR / "fecap.va"
RRAM_VA = MODELS_DIR / "rram.va"
FECAP_LIB = MODELS_DIR / "fecap.lib"
"""ngspice library with subcircuits ``fecap top bot`` and ``fecap_core top bot p`` (the
same device with its polarization node as a pin, e.g. for a reset switch)."""
RRAM_LIB = MODELS_DIR / "rram.lib"
"""ngspice library with subcircuits ``rram top bot`` and ``rram_core top bot gap`` (the
same device with its gap node as a pin)."""

FECAP_DEVICE_FIELDS: tuple[str, ...] = (
    "area_m2",
    "t_hzo_m",
    "t_int_m",
    "eps_hzo",
    "eps_int",
    "e_a_V_per_m",
    "p_s_C_per_m2",
    "tau_0_s",
    "alpha",
    "i_0_A_per_m2",
    "v_t_V",
    "soft_e_V_per_m",
)
"""The :class:`FeCapParams` numbers that the ``fecap`` device uses (with ``leak_form``,
rendered as ``leak_passive`` 1 or 0); the others (``c_par_F``, ``i_dsc_A``, thresholds,
clipping) belong to the neuron circuit around it."""
RRAM_DEVICE_FIELDS: tuple[str, ...] = tuple(RRAMParams.names())
"""The :class:`RRAMParams` fields of the ``rram`` device: all of them."""

FECAP_E_SIGN_V_PER_M = 1e6
"""Default width [V/m] of the tanh-smoothed sign(E) in the FeCap (1e6 V/m ~ 11 mV across
the stack; the Merz rate is ~0 there, so dP/dt equals the sign(E) form to 1e-6)."""
RRAM_G_EDGE_M = 1e-11
"""Default width [m] of the RRAM's smooth confinement to [g_min_m, g_max_m]."""
RRAM_V_SIGN_V = 1e-3
"""Default width [V] of the tanh-smoothed sign(V) that picks the edge being approached."""
STATE_HOLD_PER_S = 1e-12
"""Rate [1/s] (a conductance in S on the 1 F state capacitor) at which each model pulls its
state node towards the initial state: it only makes the DC operating point defined. The
``*_core`` subcircuits' state pin therefore sinks ``d(state)/dt - STATE_HOLD_PER_S*(state -
initial)`` [A] when held by a voltage source."""


def include_line(path: str | Path) -> str:
    """An ngspice ``.include`` line for the library at ``path`` (made absolute).

    Refuses paths that do not exist or contain quotes, control characters or a leading
    ``|`` (a piped include), so the line cannot smuggle anything into a netlist.
    """
    path = Path(path).resolve()
    text = str(path)
    if not path.is_file():
        raise NetlistValueError(f"model library {text!r} does not exist")
    if any(c in text for c in "\"'") or any(ord(c) < 32 for c in text):
        raise NetlistValueError(
            f"model library path {text!r}: quotes and control characters are not allowed"
        )
    return check_netlist(f'.include "{text}"', source=f"include of {text}")


def _instance(
    name: str,
    pins: dict[str, str],
    model: str,
    values: dict[str, float],
    prefix: str,
) -> str:
    """Render ``Xname <pins> model k=v ...``; ``name`` must start with ``X`` (a subcircuit
    instance) so that its internal nodes read as ``xname.<node>``."""
    instance = SpiceName(name, f"{prefix} instance name")
    if instance[:1] not in ("X", "x"):
        raise NetlistValueError(
            f"{prefix} instance name {name!r}: a subcircuit instance must start with 'X'"
        )
    names = {
        f"_pin_{pin}": spice_node(node, f"{prefix} {name}: node {pin}")
        for pin, node in pins.items()
    }
    names.update(name=instance, model=SpiceName(model, f"{prefix} {name}: subcircuit"))
    template = " ".join(["$name", *(f"$_pin_{pin}" for pin in pins), "$model"])
    template += "".join(f" {k}=$_{k}" for k in values)
    return render(template, {**names, **{f"_{k}": v for k, v in values.items()}}, prefix)


def _pins(top: str, bot: str, state_pin: str, state_node: str | None) -> dict[str, str]:
    return {"top": top, "bot": bot} | ({state_pin: state_node} if state_node else {})


def fecap_instance(
    name: str,
    top: str,
    bot: str,
    params: FeCapParams | None = None,
    *,
    p_init: float = -1.0,
    e_sign_V_per_m: float = FECAP_E_SIGN_V_PER_M,
    p_node: str | None = None,
    model: str | None = None,
) -> str:
    """Instance line of the ``fecap`` subcircuit (or a user's ``model`` with the same pins
    and parameters) between nodes ``top`` and ``bot``.

    ``p_init`` is the polarization at t = 0 as a fraction of P_s (in [-1, 1]; -1 is
    -P_s), ``e_sign_V_per_m`` the width [V/m] of the smoothed sign(E). With ``p_node``
    the instance is of ``fecap_core`` and its polarization node (P/P_s, 1 V == P_s, on a
    1 F capacitor) is that circuit node, e.g. for a reset switch.
    """
    params = params if params is not None else FeCapParams()
    if not -1.0 <= p_init <= 1.0:
        raise NetlistValueError(f"fecap {name}: p_init = {p_init!r} must lie in [-1, 1] (P/P_s)")
    if not e_sign_V_per_m > 0.0:
        raise NetlistValueError(f"fecap {name}: e_sign_V_per_m = {e_sign_V_per_m!r} must be > 0")
    values = {k: getattr(params, k) for k in FECAP_DEVICE_FIELDS}
    values.update(
        e_sign_V_per_m=e_sign_V_per_m,
        p_init=p_init,
        leak_passive=1.0 if params.leak_form == "passive" else 0.0,
    )
    model = model or ("fecap_core" if p_node else "fecap")
    return _instance(name, _pins(top, bot, "p", p_node), model, values, "fecap")


def rram_instance(
    name: str,
    top: str,
    bot: str,
    params: RRAMParams | None = None,
    *,
    switching: bool = True,
    g_edge_m: float = RRAM_G_EDGE_M,
    v_sign_V: float = RRAM_V_SIGN_V,
    gap_node: str | None = None,
    model: str | None = None,
) -> str:
    """Instance line of the ``rram`` subcircuit (or a user's ``model`` with the same pins
    and parameters) between nodes ``top`` and ``bot``; its gap starts at
    ``params.g_init_m``. ``switching=False`` freezes the gap (a read-only cell, e.g. for
    DC solves of a crossbar); ``g_edge_m`` [m] and ``v_sign_V`` [V] are the smoothing
    widths of the confinement. With ``gap_node`` the instance is of ``rram_core`` and its
    gap node (nm, 1 V == 1 nm, on a 1 F capacitor) is that circuit node."""
    params = params if params is not None else RRAMParams()
    for field, value in (("g_edge_m", g_edge_m), ("v_sign_V", v_sign_V)):
        if not value > 0.0:
            raise NetlistValueError(f"rram {name}: {field} = {value!r} must be > 0")
    values = {k: getattr(params, k) for k in RRAM_DEVICE_FIELDS}
    values.update(g_edge_m=g_edge_m, v_sign_V=v_sign_V, switching=1.0 if switching else 0.0)
    model = model or ("rram_core" if gap_node else "rram")
    return _instance(name, _pins(top, bot, "gap", gap_node), model, values, "rram")


__all__ = [
    "FECAP_DEVICE_FIELDS",
    "FECAP_E_SIGN_V_PER_M",
    "FECAP_LIB",
    "FECAP_VA",
    "MODELS_DIR",
    "RRAM_DEVICE_FIELDS",
    "RRAM_G_EDGE_M",
    "RRAM_LIB",
    "RRAM_VA",
    "RRAM_V_SIGN_V",
    "STATE_HOLD_PER_S",
    "fecap_instance",
    "include_line",
    "rram_instance",
]
