"""Driver of the FeCap bench: a ferroelectric tester, i.e. an arbitrary waveform source
(Keysight 33500-class commands) and a synchronised digitizer in one instrument.

The choice: one tester abstraction over one VISA resource, so that ``--chip
visa://<resource>`` names the whole bench, as a commercial ferroelectric tester does
(drive, current and charge channels triggered together). The source side speaks the
33500's SCPI (``DATA:ARB``, ``FUNC:ARB:SRAT``, ``VOLT``, ``VOLT:OFFS``, ``VOLT:LIM:*``,
``OUTP``, ``*TRG``); the digitizer side is the tester subsystem that the emulator
implements (``DIG:TIA``, ``DIG:INT:CAP``, ``FETC:WAV?``; see :mod:`bruno_hil.emulator.
tester`). The source side alone is :class:`Awg33500`, which the bench of a separate AWG
and an oscilloscope (:mod:`bruno_hil.instruments.awg_scope`) drives.

Safety: every waveform point is checked against the limits before the waveform is sent;
:meth:`FeTester.configure` programs the source's output limits (``VOLT:LIM:HIGH/LOW``,
``VOLT:LIM:STAT ON``) and reads them back before any output is switched on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bruno_hil.instruments.errors import InstrumentError, InstrumentLimitError
from bruno_hil.instruments.limits import TESTER_LIMITS, SafetyLimits
from bruno_hil.instruments.scpi import ScpiInstrument

ARB_NAME = "BRUNO"
UNIFORM_RTOL = 1e-6
"""Sample times must be uniform to this relative tolerance (an AWG plays at one rate)."""


MIN_VPP_V = 1e-3
"""The source's smallest amplitude [V peak-to-peak] (33500 class: 1 mVpp)."""


def _num(value: float) -> str:
    return f"{float(value):.10g}"


class Awg33500(ScpiInstrument):
    """A Keysight 33500-class arbitrary waveform generator playing one waveform per
    trigger, with its output limits programmed and verified (see the module)."""

    def __init__(self, resource: str, limits: SafetyLimits | None = None, **kwargs: object) -> None:
        self.limits = limits or TESTER_LIMITS
        self._configured = False
        super().__init__(resource, **kwargs)  # type: ignore[arg-type]

    def setup_commands(self) -> list[str]:
        """What :meth:`configure` sends before it reads the limits back."""
        return [
            "*RST",
            "*CLS",
            "OUTP OFF",
            f"VOLT:LIM:HIGH {_num(self.limits.v_max_V)}",
            f"VOLT:LIM:LOW {_num(self.limits.v_min_V)}",
            "VOLT:LIM:STAT ON",
            "TRIG:SOUR BUS",
        ]

    def configure(self) -> None:
        """Reset, program and verify the output limits (and :meth:`setup_commands`)."""
        self._configured = False
        for command in self.setup_commands():
            self._write(command)
        high = self.query("VOLT:LIM:HIGH?", float)
        low = self.query("VOLT:LIM:LOW?", float)
        state = self.query("VOLT:LIM:STAT?", int)
        if state != 1 or high > self.limits.v_max_V or low < self.limits.v_min_V:
            raise InstrumentError(
                f"{self.resource}: the output limits did not take: [{low:g}, {high:g}] V,"
                f" state {state}"
            )
        self._configured = True

    def play(self, time_s: np.ndarray, voltage_V: np.ndarray) -> np.ndarray:
        """Load the waveform (uniformly sampled ``time_s`` [s] from 0; ``voltage_V`` [V],
        all checked first) and play it once; returns the checked times. The output is left
        on (the caller reads its digitizer, then switches it off)."""
        v = self.limits.check_voltages(voltage_V, "voltage_V")
        t = np.asarray(time_s, dtype=np.float64)
        dt = np.diff(t)
        if t.size != v.size or t.size < 2 or t[0] != 0.0:
            raise InstrumentError("time_s: need >= 2 points, from 0 s, as many as voltage_V")
        if not np.allclose(dt, dt[0], rtol=UNIFORM_RTOL, atol=0.0) or not dt[0] > 0.0:
            raise InstrumentError(
                "time_s: the arbitrary waveform source plays at one sample rate; the times"
                " must be uniformly spaced"
            )
        if not self._configured:
            raise InstrumentLimitError(
                f"{self.resource}: waveform refused: configure() has not set the output limits"
            )
        peak = float(np.abs(v).max()) or 1e-3
        self._write("OUTP OFF")
        # Shrink the output first: with the limits on, selecting the new shape under the
        # old amplitude could span beyond them (the source refuses that, error -221).
        self._write("VOLT:OFFS 0")
        self._write(f"VOLT {_num(MIN_VPP_V)}")
        self._write(f"DATA:ARB {ARB_NAME},{','.join(_num(x) for x in v / peak)}")
        self._write(f"FUNC:ARB {ARB_NAME}")
        self._write("FUNC ARB")
        self._write(f"FUNC:ARB:SRAT {_num(1.0 / dt[0])}")
        self._write(f"VOLT {_num(2.0 * peak)}")
        self._write("OUTP ON")
        self._write("*TRG")
        return t

    def output_off(self) -> None:
        """Switch the output off (the programmed limits stay)."""
        self._write("OUTP OFF")


class FeTester(Awg33500):
    """The ferroelectric tester of the module docstring.

    ``tia_ohm`` [ohm]: transimpedance gain of the current channel; ``int_cap_F`` [F]: the
    charge amplifier's integrating capacitor (channel 3 reads ``Q / int_cap_F``)."""

    def __init__(
        self,
        resource: str,
        limits: SafetyLimits | None = None,
        *,
        tia_ohm: float = 1e4,
        int_cap_F: float = 10e-12,
        **kwargs: object,
    ) -> None:
        self.tia_ohm = tia_ohm
        self.int_cap_F = int_cap_F
        super().__init__(resource, limits, **kwargs)

    @staticmethod
    def matches(idn: str) -> bool:
        """Whether ``*IDN?`` names a ferroelectric tester (AWG + digitizer)."""
        model = idn.split(",")[1].upper() if idn.count(",") >= 1 else ""
        return "FE-TESTER" in model

    def setup_commands(self) -> list[str]:
        """The AWG's, then the digitizer's gains."""
        return [
            *super().setup_commands(),
            f"DIG:TIA {_num(self.tia_ohm)}",
            f"DIG:INT:CAP {_num(self.int_cap_F)}",
        ]

    def waveform(self, time_s: np.ndarray, voltage_V: np.ndarray) -> pd.DataFrame:
        """Play the waveform (:meth:`Awg33500.play`) once and digitize it: ``time_s``,
        ``voltage_V`` (measured), ``current_A`` and ``charge_C`` (from the charge
        amplifier, from t = 0)."""
        t = self.play(time_s, voltage_V)
        n = t.size
        data = pd.DataFrame(
            {
                "time_s": t,
                "voltage_V": self.query_floats("FETC:WAV? 1", n),
                "current_A": self.query_floats("FETC:WAV? 2", n) / self.tia_ohm,
                "charge_C": self.query_floats("FETC:WAV? 3", n) * self.int_cap_F,
            }
        )
        self._write("OUTP OFF")
        return data


__all__ = ["Awg33500", "FeTester"]
