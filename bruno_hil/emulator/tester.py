"""An emulated ferroelectric tester: an arbitrary waveform source (Keysight 33500-class
commands) and a three-channel digitizer in one box, with a FeCap as the device.

Source (``SOURce1`` may be written ``SOUR``, ``SOUR1`` or left out, as on the 33500):

* ``DATA:ARB <name>,<x>,...``: arbitrary waveform points, normalised to [-1, 1]
  (at most 1,000,000), or ``DATA:ARB:DAC <name>,<n>,...`` as 16-bit DAC codes
  (-32767..32767, full scale +-1); binary blocks (``#...``) are refused (-104: send
  ASCII); ``FUNC:ARB <name>`` selects it, ``FUNC:ARB:POIN?`` its points;
* ``FUNC ARB`` (``FUNC?`` answers ``ARB``, the function the emulator powers on in: the
  standard shapes ``SIN``, ``SQU``, ... are refused, -221, not silently accepted);
  ``VOLT:UNIT VPP`` (the only unit);
* ``FUNC:ARB:SRAT <Sa/s>``: sample rate; ``VOLT <Vpp>`` and ``VOLT:OFFS <V>``: the
  output is ``offset + Vpp/2 * x``;
* ``VOLT:LIM:HIGH <V>``, ``VOLT:LIM:LOW <V>``, ``VOLT:LIM:STAT ON|OFF``: output limits;
  with them on, a setting that would exceed them is refused (-221 "Settings conflict");
  ``OUTP ON`` is refused (-221) while the limits are off;
* ``OUTP ON|OFF``; ``TRIG:SOUR BUS``; ``*TRG`` (or ``INIT``) plays the selected waveform
  once, from its first point, while the digitizer samples at the waveform's points.

Digitizer (bruno-hil tester subsystem): channel 1 the drive voltage [V], channel 2 a
transimpedance amplifier's output ``I * gain`` (``DIG:TIA <ohm>``), channel 3 a charge
amplifier's output ``Q / C_int`` (``DIG:INT:CAP <F>``, ``Q`` integrated from the start
of the waveform); ``FETC:WAV? 1|2|3`` returns a channel's samples, ``FETC:WAV:TIME?`` the
sample times [s], ``ACQ:POIN?`` their count. Samples beyond ``DIG:RANG`` (default 10 V)
are clipped and -222 "Data out of range" enters the error queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bruno_hil.devices.params import FeCapParams
from bruno_hil.emulator.dut import FeCapDut
from bruno_hil.emulator.scpi import (
    Command,
    EmulatedInstrument,
    ScpiCommandError,
    format_floats,
    parse_bool,
    parse_float,
    parse_floats,
    quote,
)

ARB_POINTS_MAX = 1_000_000
DAC_FULL_SCALE = 32767
"""The DAC code of +1 (full scale) in ``DATA:ARB:DAC``."""
FUNCTIONS = ("SIN", "SQU", "TRI", "RAMP", "PULS", "PRBS", "NOIS", "ARB", "DC")
"""The 33500's functions; only ``ARB`` is emulated."""


@dataclass
class TesterSettings:
    """The settings ``*RST`` restores."""

    output: bool = False
    vpp_V: float = 0.1
    offset_V: float = 0.0
    limit_high_V: float = 5.0
    limit_low_V: float = -5.0
    limits_on: bool = False
    srate_Sa_per_s: float = 1e6
    arb: str = ""
    tia_ohm: float = 1e4
    int_cap_F: float = 10e-12
    dig_range_V: float = 10.0
    waveforms: dict[str, np.ndarray] = field(default_factory=dict)


class EmulatedTester(EmulatedInstrument):
    """The tester of the module docstring, driving a :class:`FeCapDut`."""

    idn = "BRUNO-HIL EMULATOR,FE-TESTER 33500-ARB+DIGITIZER (ngspice FeCap),0,0.1.0"

    def __init__(self, params: FeCapParams | None = None) -> None:
        self.dut = FeCapDut(params)
        self.s = TesterSettings()
        self.channels: dict[str, np.ndarray] = {}
        self.events: list[dict[str, float | str]] = []
        self.plays = 0
        """Waveforms played since power-on."""
        self.listeners: list[Callable[[], None]] = []
        """Called after each play (an oscilloscope triggered by the sync output)."""
        super().__init__()

    def reset(self) -> None:
        self.s = TesterSettings()
        self.channels = {}

    # -- settings ------------------------------------------------------------------------
    def _span(self, vpp: float, offset: float) -> tuple[float, float]:
        """Lowest and highest output voltage [V] of the selected waveform."""
        x = self.s.waveforms.get(self.s.arb, np.array([-1.0, 1.0]))
        ends = offset + 0.5 * vpp * np.array([x.min(), x.max()])
        return float(ends.min()), float(ends.max())

    def _check_span(self, vpp: float, offset: float, high: float, low: float, on: bool) -> None:
        lo, hi = self._span(vpp, offset)
        if on and (hi > high or lo < low):
            raise ScpiCommandError(
                -221, f"output span [{lo:g}, {hi:g}] V exceeds the limits [{low:g}, {high:g}] V"
            )

    def _update(self, **changes: float | bool) -> None:
        """Apply settings that change the output span, refused if it breaks the limits."""
        new = {
            "vpp": self.s.vpp_V,
            "offset": self.s.offset_V,
            "high": self.s.limit_high_V,
            "low": self.s.limit_low_V,
            "on": self.s.limits_on,
        } | changes
        if new["low"] >= new["high"]:
            raise ScpiCommandError(-221, "limit low must be below limit high")
        self._check_span(**new)  # type: ignore[arg-type]
        self.s.vpp_V, self.s.offset_V = float(new["vpp"]), float(new["offset"])
        self.s.limit_high_V, self.s.limit_low_V = float(new["high"]), float(new["low"])
        self.s.limits_on = bool(new["on"])

    def _positive(self, attr: str, high: float):
        def handler(text: str) -> None:
            value = parse_float(text, attr)
            if not 0.0 < value <= high:
                raise ScpiCommandError(-222, f"{value:g} outside (0, {high:g}]")
            setattr(self.s, attr, value)

        return handler

    def _set_function(self, text: str) -> None:
        word = text.strip().upper()
        if not word:
            raise ScpiCommandError(-109, "FUNC: no function")
        if word.startswith("ARB"):
            return
        if any(word.startswith(f) for f in FUNCTIONS):
            raise ScpiCommandError(-221, f"FUNC {quote(word)}: only ARB is emulated")
        raise ScpiCommandError(-224, f"FUNC {quote(word)}: one of {', '.join(FUNCTIONS)}")

    def _data_arb(self, text: str, dac: bool = False) -> None:
        name, _, values = text.partition(",")
        name = name.strip().strip("\"'").upper()
        if not name.replace("_", "").isalnum():
            raise ScpiCommandError(-224, f"waveform name {quote(name)}")
        if values.strip().startswith("#"):
            raise ScpiCommandError(-104, "binary blocks are not emulated: send ASCII values")
        x = np.asarray(parse_floats(values, "DATA:ARB"))
        if dac:
            if np.any(x != np.round(x)) or np.abs(x).max(initial=0) > DAC_FULL_SCALE:
                raise ScpiCommandError(-222, f"DAC codes must be integers in +-{DAC_FULL_SCALE}")
            x = x / DAC_FULL_SCALE
        if x.size < 2 or x.size > ARB_POINTS_MAX:
            raise ScpiCommandError(-222, f"{x.size} points; 2 to {ARB_POINTS_MAX}")
        if np.abs(x).max() > 1.0:
            raise ScpiCommandError(-222, "arbitrary waveform values must lie in [-1, 1]")
        self.s.waveforms[name] = x

    def _set_unit(self, text: str) -> None:
        word = text.strip().upper()
        if word != "VPP":
            raise ScpiCommandError(-221 if word else -109, f"VOLT:UNIT {quote(word)}: only VPP")

    def _select(self, text: str) -> None:
        name = text.strip().strip("\"'").upper()
        if name not in self.s.waveforms:
            raise ScpiCommandError(-224, f"no waveform {name!r} loaded")
        old = self.s.arb
        self.s.arb = name
        try:
            self._update()
        except ScpiCommandError:
            self.s.arb = old
            raise

    def _output(self, text: str) -> None:
        on = parse_bool(text, "output")
        if on and not self.s.limits_on:
            raise ScpiCommandError(-221, "output limits are off (VOLT:LIM:STAT ON first)")
        if on and not self.s.output:
            self.events.append(
                {"event": "output on", "high_V": self.s.limit_high_V, "low_V": self.s.limit_low_V}
            )
        self.s.output = on

    # -- acquisition ---------------------------------------------------------------------
    def _trigger(self, _: str = "") -> None:
        if not self.s.output:
            raise ScpiCommandError(803, "output is off")
        if self.s.arb not in self.s.waveforms:
            raise ScpiCommandError(-221, "no arbitrary waveform selected")
        x = self.s.waveforms[self.s.arb]
        t = np.arange(x.size) / self.s.srate_Sa_per_s
        v = self.s.offset_V + 0.5 * self.s.vpp_V * x
        data = self.dut.waveform(t, v)
        raw = {
            "1": data["voltage_V"].to_numpy(),
            "2": data["current_A"].to_numpy() * self.s.tia_ohm,
            "3": data["charge_C"].to_numpy() / self.s.int_cap_F,
        }
        self.channels = {"TIME": t}
        for ch, values in raw.items():
            if np.abs(values).max() > self.s.dig_range_V:
                self.push_error(-222, f"digitizer overrange on channel {ch}")
            self.channels[ch] = np.clip(values, -self.s.dig_range_V, self.s.dig_range_V)
        self.plays += 1
        for listener in self.listeners:
            listener()

    def _fetch(self, text: str) -> str:
        key = text.strip().upper().removeprefix("CH") or "1"
        if not self.channels:
            raise ScpiCommandError(-230, "no acquisition")
        if key not in self.channels:
            raise ScpiCommandError(-224, f"channel {text.strip()!r}: use 1, 2 or 3")
        return format_floats(self.channels[key])

    def commands(self) -> list[Command]:
        src = "[SOURce]"
        return [
            Command(f"{src}:FUNCtion", self._set_function),
            Command(f"{src}:FUNCtion?", lambda _: "ARB"),
            Command(f"{src}:FUNCtion:ARBitrary", self._select),
            Command(f"{src}:FUNCtion:ARBitrary?", lambda _: f'"{self.s.arb}"'),
            Command(f"{src}:FUNCtion:ARBitrary:SRATe", self._positive("srate_Sa_per_s", 1e9)),
            Command(f"{src}:FUNCtion:ARBitrary:SRATe?", lambda _: f"{self.s.srate_Sa_per_s:+.9E}"),
            Command(
                f"{src}:FUNCtion:ARBitrary:POINts?",
                lambda _: str(len(self.s.waveforms.get(self.s.arb, []))),
            ),
            Command(f"{src}:DATA:ARBitrary", self._data_arb),
            Command(f"{src}:DATA:ARBitrary:DAC", lambda t: self._data_arb(t, dac=True)),
            Command(f"{src}:VOLTage:UNIT", self._set_unit),
            Command(f"{src}:VOLTage:UNIT?", lambda _: "VPP"),
            Command(f"{src}:DATA:VOLatile:CLEar", lambda _: self.s.waveforms.clear()),
            Command(
                f"{src}:VOLTage[:AMPLitude]",
                lambda t: self._update(vpp=abs(parse_float(t, "VOLT"))),
            ),
            Command(f"{src}:VOLTage[:AMPLitude]?", lambda _: f"{self.s.vpp_V:+.9E}"),
            Command(f"{src}:VOLTage:OFFSet", lambda t: self._update(offset=parse_float(t, "OFFS"))),
            Command(f"{src}:VOLTage:OFFSet?", lambda _: f"{self.s.offset_V:+.9E}"),
            Command(
                f"{src}:VOLTage:LIMit:HIGH", lambda t: self._update(high=parse_float(t, "HIGH"))
            ),
            Command(f"{src}:VOLTage:LIMit:HIGH?", lambda _: f"{self.s.limit_high_V:+.9E}"),
            Command(f"{src}:VOLTage:LIMit:LOW", lambda t: self._update(low=parse_float(t, "LOW"))),
            Command(f"{src}:VOLTage:LIMit:LOW?", lambda _: f"{self.s.limit_low_V:+.9E}"),
            Command(f"{src}:VOLTage:LIMit:STATe", lambda t: self._update(on=parse_bool(t))),
            Command(f"{src}:VOLTage:LIMit:STATe?", lambda _: "1" if self.s.limits_on else "0"),
            Command("OUTPut[:STATe]", self._output),
            Command("OUTPut[:STATe]?", lambda _: "1" if self.s.output else "0"),
            Command("TRIGger:SOURce", lambda t: None),
            Command("*TRG", self._trigger),
            Command("INITiate[:IMMediate]", self._trigger),
            Command("DIGitizer:TIA", self._positive("tia_ohm", 1e12)),
            Command("DIGitizer:TIA?", lambda _: f"{self.s.tia_ohm:+.9E}"),
            Command("DIGitizer:INTegrator:CAPacitance", self._positive("int_cap_F", 1.0)),
            Command("DIGitizer:INTegrator:CAPacitance?", lambda _: f"{self.s.int_cap_F:+.9E}"),
            Command("DIGitizer:RANGe", self._positive("dig_range_V", 100.0)),
            Command("ACQuire:POINts?", lambda _: str(len(self.channels.get("TIME", [])))),
            Command("FETCh:WAVeform:TIME?", lambda _: self._fetch("TIME")),
            Command("FETCh:WAVeform?", self._fetch),
        ]


__all__ = ["ARB_POINTS_MAX", "EmulatedTester", "TesterSettings"]
