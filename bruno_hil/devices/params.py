"""Device parameter sets, in SI units, shared by every layer of bruno_hil.

One dataclass per device. The torch surrogate, the ngspice compact models, the
characterization testbenches and the calibration fits all read the *same* fields, so a
parameter file written by ``calibrate`` means the same thing everywhere.

Every field declares its unit and its physically sensible range in its metadata; values
outside the range are rejected with an error that names the field (and the source of the
value, e.g. ``--param`` or a file). Units are in the field names: ``area_m2``,
``e_a_V_per_m``. The one deliberate non-SI unit is the RRAM activation energy, stated in
electron-volts in its name (``e_a_eV``), as every paper quotes it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bruno_hil.devices.fecap_stack import EPS0_F_PER_M as EPS0_F_PER_M  # re-exported
from bruno_hil.devices.fecap_stack import (
    charge_per_polarization_m2,
    dielectric_capacitance_F,
    field_V_per_m,
    membrane_capacitance_F,
)
from bruno_hil.errors import BrunoHilError
from bruno_hil.settings import read_yaml_file

K_B_EV_PER_K = 8.617333262e-5
"""Boltzmann constant [eV/K]."""

GAMMA_GAP_SCALE_M = 1e-9
"""Gap scale [m] of the RRAM enhancement ``gamma - beta*(g/GAMMA_GAP_SCALE_M)^3``."""

P = TypeVar("P", bound="DeviceParams")


class ParameterError(BrunoHilError, ValueError):
    """A device parameter is unknown, malformed or outside its physical range."""


def _p(default: float, unit: str, low: float, high: float, doc: str, log: bool = False) -> Any:
    """Declare a numeric parameter with its unit, its physical range and whether it is
    best fitted on a log scale (it spans decades)."""
    return field(
        default=default,
        metadata={"unit": unit, "range": (low, high), "log": log, "doc": doc},
    )


def _choice(default: str, choices: tuple[str, ...], doc: str) -> Any:
    """Declare a choice of model form (a word, one of ``choices``): not a number, so never
    fitted nor turned into a tensor; checked once, here."""
    return field(default=default, metadata={"choices": choices, "doc": doc})


@dataclass(frozen=True)
class DeviceParams:
    """Base class: range-checked, overridable, serialisable parameter sets. Fields are
    numbers (SI units, physical ranges) or choices of model form (:func:`_choice`)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "choices" in f.metadata:
                if value not in f.metadata["choices"]:
                    raise ParameterError(
                        f"{type(self).__name__}.{f.name} = {value!r}: expected one of"
                        f" {', '.join(f.metadata['choices'])}"
                    )
                continue
            low, high = f.metadata["range"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(
                    f"{type(self).__name__}.{f.name}: expected a number in {f.metadata['unit']},"
                    f" got {value!r}"
                )
            if not math.isfinite(value) or not (low <= value <= high):
                raise ParameterError(
                    f"{type(self).__name__}.{f.name} = {value!r} {f.metadata['unit']} is outside"
                    f" its physical range [{low:g}, {high:g}] {f.metadata['unit']}"
                )
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Cross-field checks; subclasses override."""

    # -- introspection -------------------------------------------------------------------
    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def choice_names(cls) -> list[str]:
        """The fields that choose a model form (words, not numbers)."""
        return [f.name for f in dataclasses.fields(cls) if "choices" in f.metadata]

    @classmethod
    def spec(cls, name: str) -> Mapping[str, Any]:
        """Unit, range, log flag and description of one field."""
        for f in dataclasses.fields(cls):
            if f.name == name:
                return f.metadata
        raise ParameterError(cls._unknown(name))

    @classmethod
    def _unknown(cls, name: str) -> str:
        return f"unknown {cls.__name__} parameter {name!r}; known: {', '.join(cls.names())}"

    def as_dict(self) -> dict[str, float | str]:
        """Every field: the numbers and the choices."""
        return {**self.numbers(), **self.choices()}

    def numbers(self) -> dict[str, float]:
        """The numeric fields."""
        choices = self.choice_names()
        return {
            f.name: float(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in choices
        }

    def choices(self) -> dict[str, str]:
        """The choices of model form."""
        return {name: str(getattr(self, name)) for name in self.choice_names()}

    # -- construction from user input ----------------------------------------------------
    def replace(self: P, source: str = "override", **values: float | str) -> P:
        """A copy with some fields changed; ``source`` names where the values came from
        (shown in errors)."""
        for name in values:
            if name not in self.names():
                raise ParameterError(f"{source}: {self._unknown(name)}")
        choices = self.choice_names()
        try:
            return dataclasses.replace(
                self, **{k: v if k in choices else float(v) for k, v in values.items()}
            )
        except ParameterError as err:
            raise ParameterError(f"{source}: {err}") from None
        except (TypeError, ValueError) as err:
            raise ParameterError(f"{source}: {err}") from None

    def with_overrides(self: P, overrides: Iterable[str], option: str = "--param") -> P:
        """Apply ``name=value`` strings given with the CLI's ``option`` (named in errors)."""
        return self.replace(
            source=option, **parse_overrides(overrides, option, self.choice_names())
        )

    @classmethod
    def from_file(cls: type[P], path: str | Path) -> P:
        """Load from a YAML or JSON file: either a flat mapping of field to value, or a
        mapping with this class's name as a key (as ``calibrate`` writes them); a file of
        sections without this class's is refused, naming what it holds."""
        data = _read_mapping(Path(path))
        if cls.__name__ in data:
            data = data[cls.__name__]
        else:
            held = [str(key) for key in data if key in _classes() or key in NOTE_SECTIONS]
            if held:
                raise ParameterError(
                    f"{path}: holds {', '.join(held)}, no {cls.__name__} section; give the"
                    f" file of this device (as `bruno-hil calibrate` writes it)"
                )
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_options(cls: type[P], path: str | Path | None, overrides: Iterable[str] | None) -> P:
        """The CLI's device: ``--device-params FILE`` (or the defaults), then ``--param``."""
        base = cls.from_file(path) if path is not None else cls()
        return base.with_overrides(overrides or [])

    @classmethod
    def from_mapping(cls: type[P], data: Any, source: str) -> P:
        """Build from a mapping of field names to numbers (and words for the choices);
        errors name ``source``."""
        return cls().replace(source=source, **_numbers(data, source, cls.choice_names()))


def _numbers(data: Any, source: str, choices: Iterable[str] = ()) -> dict[str, float | str]:
    """``data``, a mapping of names to numbers, as floats (the ``choices`` fields as
    words); errors name ``source``."""
    if not isinstance(data, Mapping):
        raise ParameterError(f"{source}: expected a mapping of parameter names to values")
    values: dict[str, float | str] = {}
    for key, value in data.items():
        if key in choices:
            if not isinstance(value, str):
                raise ParameterError(f"{source}: field {key!r}: expected a word, got {value!r}")
            values[str(key)] = value
            continue
        try:
            if isinstance(value, bool):  # YAML's true/false/yes/no are not 1.0/0.0
                raise TypeError
            values[str(key)] = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{source}: field {key!r}: expected a number, got {value!r}"
            ) from None
    return values


def _read_mapping(path: Path) -> Mapping[str, Any]:
    data = read_yaml_file(path, "device parameters")
    if not isinstance(data, Mapping):
        raise ParameterError(f"{path}: expected a mapping of parameter names to values")
    return data


NOTE_SECTIONS: tuple[str, ...] = ("calibration", "bench")
"""Sections of a parameter file that are notes, not device parameters: ``calibration``
(how the set was fitted) and ``bench`` (quantities of the measurement set-up fitted along
with the device, such as the fixture's capacitance; :func:`bench_quantities`)."""


def _classes() -> dict[str, type[DeviceParams]]:
    return {c.__name__: c for c in (FeCapParams, RRAMParams, LIFParams)}


def bench_quantities(path: str | Path) -> dict[str, float]:
    """The ``bench:`` section of a parameter file (field -> value in SI units; empty when
    there is none): what a calibration fitted of the set-up, not of the device."""
    values = _numbers(_read_mapping(Path(path)).get("bench") or {}, f"{path}: bench")
    return {k: float(v) for k, v in values.items()}


def load_param_sets(path: str | Path) -> dict[str, DeviceParams]:
    """Every device parameter set in a file, by class name: sections named after the
    classes (``FeCapParams:``, ``RRAMParams:``, as ``calibrate`` writes them, with its
    :data:`NOTE_SECTIONS`, which are skipped), or one flat mapping whose fields all belong
    to one class."""
    path = Path(path)
    data = _read_mapping(path)
    classes = _classes()
    named = [key for key in data if key in classes]
    if named:
        extra = [str(key) for key in data if key not in classes and key not in NOTE_SECTIONS]
        if extra:
            raise ParameterError(
                f"{path}: unknown section(s) {', '.join(extra)}; known: {', '.join(classes)}"
            )
        return {key: classes[key].from_mapping(data[key], f"{path}: {key}") for key in named}
    for name, cls in classes.items():
        if set(map(str, data)) <= set(cls.names()):
            return {name: cls.from_mapping(data, str(path))}
    raise ParameterError(
        f"{path}: the fields {', '.join(map(str, data))} do not all belong to one of"
        f" {', '.join(classes)}; write one section per device (e.g. 'FeCapParams:')"
    )


def parse_overrides(
    overrides: Iterable[str], option: str = "--param", choices: Iterable[str] = ()
) -> dict[str, float | str]:
    """Parse ``name=value`` strings given with ``option``; the value is a plain float
    (``2.5``, ``1e-12``), or a word for the ``choices`` fields. A name given twice is
    refused (the last would win silently)."""
    choices = set(choices)
    out: dict[str, float | str] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise ParameterError(f"{option} {item!r}: expected name=value, e.g. p_s_C_per_m2=0.2")
        if name in out:
            raise ParameterError(f"{option} {item!r}: {name} is already set to {out[name]}")
        if name in choices:
            out[name] = text
            continue
        try:
            out[name] = float(text)
        except ValueError:
            raise ParameterError(
                f"{option} {item!r}: {text!r} is not a number (SI units, e.g. 25e-12)"
            ) from None
    return out


LEAK_FORMS: tuple[str, ...] = ("passive", "reference")
"""The FeCap leak's forms (:attr:`FeCapParams.leak_form`)."""


@dataclass(frozen=True)
class FeCapParams(DeviceParams):
    """Ferroelectric capacitor (HZO + interlayer) and the FeLIF neuron built on it.

    Equations (Gibertini et al., ISCAS 2024, as used by BRUNO):

    * ``E = (V*eps_int - P*t_int/eps0) / (t_hzo*eps_int + t_int*eps_hzo)``
    * ``dP/dt = (sign(E)*P_s - P) / tau(E)``, ``tau = tau_0*exp((E_a/(|E|+soft_E))**alpha)``
    * ``C_tot*dV/dt = I_in - I_leak - k*A*dP/dt``, ``C_tot = C_fe + C_par``, with the
      stack's series capacitance ``C_fe`` and charge fraction ``k``
      (:mod:`bruno_hil.devices.fecap_stack`: ``Q = C_fe*V + k*A*P``)
    * ``I_leak = 2*I_0*A*sinh(V/V_t) + sign(V)*I_dsc`` (``leak_form = "passive"``: odd
      in V and passive, ``I*V >= 0``; for V >> V_t it is the reference form) or
      ``sign(V)*(I_0*A*(exp(V/V_t) - 1) + I_dsc)`` (``"reference"``, the default for now:
      the BRUNO reference code's form, which delivers power for V < 0; the passive form
      as the default fails the training smoke tests until the recipes are retuned)
    * spike when ``V > v_thr_V``; reset ``V <- v_reset_V``, ``P <- -P_s``.
    """

    area_m2: float = _p(25e-12, "m^2", 1e-16, 1e-6, "capacitor area A", log=True)
    t_hzo_m: float = _p(10e-9, "m", 1e-9, 100e-9, "ferroelectric (HZO) thickness")
    t_int_m: float = _p(1.375e-9, "m", 0.0, 20e-9, "interlayer thickness")
    eps_hzo: float = _p(25.2, "1", 1.0, 100.0, "relative permittivity of HZO")
    eps_int: float = _p(33.0, "1", 1.0, 100.0, "relative permittivity of the interlayer")
    e_a_V_per_m: float = _p(12.7e8, "V/m", 1e7, 1e11, "Merz activation field E_a", log=True)
    p_s_C_per_m2: float = _p(0.22, "C/m^2", 0.005, 1.0, "saturation polarization P_s")
    tau_0_s: float = _p(1e-13, "s", 1e-18, 1e-6, "Merz attempt time tau_0", log=True)
    alpha: float = _p(1.3, "1", 0.3, 5.0, "Merz exponent")
    i_0_A_per_m2: float = _p(1e-4, "A/m^2", 0.0, 1e4, "leakage current density I_0")
    v_t_V: float = _p(0.32, "V", 0.01, 5.0, "leakage voltage scale V_t")
    c_par_F: float = _p(15e-15, "F", 0.0, 1e-9, "parasitic capacitance of the membrane node")
    i_dsc_A: float = _p(10e-12, "A", 0.0, 1e-6, "constant discharge current I_dsc")
    v_thr_V: float = _p(2.5, "V", 0.05, 10.0, "spike threshold")
    v_reset_V: float = _p(-1.5, "V", -10.0, 0.0, "reset voltage")
    soft_e_V_per_m: float = _p(5e-6, "V/m", 0.0, 1e6, "softening of |E| in tau(E)")
    v_clip_V: float = _p(5.0, "V", 0.1, 20.0, "membrane clipping bound |V| <= v_clip_V")
    leak_form: str = _choice("reference", LEAK_FORMS, "form of the I_0 leak (see above)")

    def _check_consistency(self) -> None:
        if not self.v_reset_V < self.v_thr_V <= self.v_clip_V:
            raise ParameterError(
                f"FeCapParams: need v_reset_V < v_thr_V <= v_clip_V, got {self.v_reset_V} V,"
                f" {self.v_thr_V} V, {self.v_clip_V} V"
            )

    @property
    def c_fe_F(self) -> float:
        """Linear (dielectric) capacitance of the FeCap [F]
        (:func:`~bruno_hil.devices.fecap_stack.dielectric_capacitance_F`)."""
        return dielectric_capacitance_F(self)

    @property
    def charge_per_polarization_m2(self) -> float:
        """Plate charge per unit polarization ``k*A`` [m^2]
        (:func:`~bruno_hil.devices.fecap_stack.charge_per_polarization_m2`)."""
        return charge_per_polarization_m2(self)

    @property
    def c_tot_F(self) -> float:
        """Membrane capacitance [F]: dielectric plus parasitic
        (:func:`~bruno_hil.devices.fecap_stack.membrane_capacitance_F`)."""
        return membrane_capacitance_F(self)

    def field_V_per_m(self, v_V: float, p_C_per_m2: float) -> float:
        """Field in the ferroelectric [V/m]
        (:func:`~bruno_hil.devices.fecap_stack.field_V_per_m`)."""
        return field_V_per_m(v_V, p_C_per_m2, self)


FECAP_VARIABLE_FIELDS: tuple[str, ...] = (
    "area_m2",
    "e_a_V_per_m",
    "p_s_C_per_m2",
    "i_0_A_per_m2",
    "c_par_F",
    "v_thr_V",
)
"""FeCap/neuron parameters that vary from device to device (``p*(1+cv*N(0,1))``), on a
chip and in the surrogate's variability model alike."""


@dataclass(frozen=True)
class RRAMParams(DeviceParams):
    """Filament-gap RRAM cell (Stanford-PKU family: Guan et al., IEEE EDL 33, 1405 (2012);
    Jiang et al., Stanford RRAM model 1.0, 2014), with a field-gated switching law.

    * read: ``I = i_0_A * exp(-g/g_0_m) * sinh(V/v_0_V)``
    * enhancement: ``gamma_g = gamma - beta*(g/1 nm)^3`` (a wider gap enhances the field
      less: abrupt SET, gradual RESET)
    * field gate: ``gate = (1 + tanh((gamma_g*|V|/t_ox_m - f_min_V_per_m)/f_gate_V_per_m))/2``
      (no switching below the minimum enhanced field, so no read disturb)
    * switching: ``dg/dt = -vel_0_m_per_s * exp(-e_a_eV/kT) *
      sinh(gamma_g * a_0_m * V / (t_ox_m * kT)) * gate`` (V in volts, kT in eV), so a
      positive voltage shrinks the gap (SET, towards ``g_min_m``) and a negative one grows
      it (RESET); the gap is confined to ``[g_min_m, g_max_m]``
    * self-heating: ``kT = k_B*(temperature_K + r_th_K_per_W*|V*I|)`` (``r_th_K_per_W = 0``,
      the default: isothermal)

    The defaults are the plain sinh law (``beta = 0``, ``f_min_V_per_m = 0``: no gate,
    isothermal), on which the example data and calibrations were made; it has no
    threshold, so V_set moves with the sweep rate and a long read disturbs the cell.
    :meth:`field_gated` is the literature-like cell: ``beta`` 0.8 (Stanford model) and
    ``f_min_V_per_m`` 1.1e9 V/m (the Stanford model's 1.4e9 puts V_set at 1.33 V), giving
    V_set = 1.05 V at 1 V/s and 1.07 V at 100 V/s, inside the 0.5-1.5 V of typical HfOx
    cells, and no read disturb. Read and rate constants, ``gamma``, ``a_0_m`` and ``t_ox_m``
    are the Stanford model's (its ``I0`` is 1e-3 A; 1e-4 A here gives a 4-bit crossbar's
    microampere reads); its thermal resistance is 2.1e3 K/W.
    """

    i_0_A: float = _p(1e-4, "A", 1e-12, 1.0, "current prefactor I_0", log=True)
    g_0_m: float = _p(0.25e-9, "m", 1e-11, 5e-9, "gap decay length g_0")
    v_0_V: float = _p(0.25, "V", 0.01, 5.0, "voltage scale of the tunnelling current V_0")
    vel_0_m_per_s: float = _p(10.0, "m/s", 1e-6, 1e6, "gap velocity prefactor", log=True)
    e_a_eV: float = _p(0.6, "eV", 0.05, 3.0, "activation energy of ion hopping")
    a_0_m: float = _p(0.25e-9, "m", 1e-11, 5e-9, "atomic hopping distance a_0")
    t_ox_m: float = _p(12e-9, "m", 1e-9, 100e-9, "oxide thickness")
    gamma: float = _p(16.0, "1", 0.1, 100.0, "field enhancement factor at zero gap")
    beta: float = _p(0.0, "1", 0.0, 50.0, "gap dependence of the enhancement: beta*(g/1 nm)^3")
    f_min_V_per_m: float = _p(
        0.0, "V/m", 0.0, 1e10, "smallest enhanced field gamma_g*|V|/t_ox that moves the gap"
    )
    f_gate_V_per_m: float = _p(
        1e7, "V/m", 1e5, 1e9, "width of the field gate's smooth onset", log=True
    )
    r_th_K_per_W: float = _p(0.0, "K/W", 0.0, 1e7, "thermal resistance (0: isothermal)")
    g_min_m: float = _p(0.2e-9, "m", 0.0, 10e-9, "smallest gap (low-resistance state)")
    g_max_m: float = _p(1.7e-9, "m", 1e-11, 20e-9, "largest gap (high-resistance state)")
    g_init_m: float = _p(1.7e-9, "m", 0.0, 20e-9, "initial gap (virgin / reset state)")
    temperature_K: float = _p(300.0, "K", 4.0, 600.0, "ambient temperature")

    def _check_consistency(self) -> None:
        if not self.g_min_m < self.g_max_m:
            raise ParameterError(
                f"RRAMParams: need g_min_m < g_max_m, got {self.g_min_m} m, {self.g_max_m} m"
            )
        if not self.gamma - self.beta * (self.g_max_m / GAMMA_GAP_SCALE_M) ** 3 > 0.0:
            raise ParameterError(
                f"RRAMParams: the enhancement gamma - beta*(g_max_m/1 nm)^3 ="
                f" {self.gamma} - {self.beta}*{self.g_max_m / GAMMA_GAP_SCALE_M:.4g}^3 must"
                " stay > 0 over the gap window (lower beta or g_max_m)"
            )
        if not self.g_min_m <= self.g_init_m <= self.g_max_m:
            raise ParameterError(
                f"RRAMParams: g_init_m = {self.g_init_m} m must lie in [g_min_m, g_max_m]"
                f" = [{self.g_min_m}, {self.g_max_m}] m"
            )

    @property
    def kt_eV(self) -> float:
        """Thermal energy k_B*T [eV] at the ambient temperature."""
        return K_B_EV_PER_K * self.temperature_K

    @classmethod
    def field_gated(cls, **overrides: float) -> RRAMParams:
        """The field-gated cell of the Stanford-PKU family (see the class): the defaults
        with ``beta = 0.8`` and ``f_min_V_per_m = 1.1e9``, then ``overrides``."""
        return cls(**{**FIELD_GATED, **overrides})  # type: ignore[arg-type]


FIELD_GATED: dict[str, float] = {"beta": 0.8, "f_min_V_per_m": 1.1e9}
"""The :class:`RRAMParams` fields of :meth:`RRAMParams.field_gated`."""


@dataclass(frozen=True)
class LIFParams(DeviceParams):
    """Current-based leaky integrate-and-fire neuron (the baseline), dimensionless V."""

    tau_mem_s: float = _p(20e-3, "s", 1e-6, 10.0, "membrane time constant")
    tau_syn_s: float = _p(5e-3, "s", 1e-6, 10.0, "synaptic current time constant")
    v_thr: float = _p(1.0, "1", 1e-3, 100.0, "threshold (normalised units)")
    v_reset: float = _p(0.0, "1", -100.0, 100.0, "reset value (normalised units)")

    def _check_consistency(self) -> None:
        if not self.v_reset < self.v_thr:
            raise ParameterError(
                f"LIFParams: need v_reset < v_thr, got {self.v_reset}, {self.v_thr}"
            )
