"""Driver of the FeCap bench built from a separate AWG and oscilloscope, as many labs
measure a P-V loop: a Keysight 33500-class AWG (:class:`~bruno_hil.instruments.tester.
Awg33500`) drives the capacitor through a charge amplifier (virtual ground, feedback
capacitor ``int_cap_F``) and a transimpedance amplifier (``tia_ohm``); a Keysight
InfiniiVision-class scope (:class:`Oscilloscope`) triggered by the AWG's sync records
channel 1 the drive, channel 2 the charge amplifier's output ``Q / int_cap_F`` and
channel 3 the TIA's ``I * tia_ohm``.

:meth:`AwgScopeBench.waveform` returns what :meth:`~bruno_hil.instruments.tester.
FeTester.waveform` returns (``time_s``, ``voltage_V``, ``current_A``, ``charge_C``), so
either bench serves the FeCap characterization. The scope's window is the waveform
(reference left, ``:TIM:POS`` one division), each channel's screen spans
``range_V`` [V] about 0 V; a sample on a screen edge means the signal was clipped and
raises :class:`~bruno_hil.instruments.errors.InstrumentError` naming the channel, instead
of returning a cut loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bruno_hil.instruments.errors import InstrumentError, InstrumentResponseError
from bruno_hil.instruments.limits import SafetyLimits
from bruno_hil.instruments.scpi import ScpiInstrument
from bruno_hil.instruments.tester import Awg33500

SCREEN_DIVISIONS = 8
"""Vertical divisions of an InfiniiVision screen."""
REFERENCE_LEFT = 0.1
"""Where ``:TIM:REF LEFT`` sits: one of the ten horizontal divisions from the left."""
BLOCK_HEADER = 10
"""Characters of the ``#8nnnnnnnn`` block header before the ASCii values."""
ACQUIRE_POLLS = 50
"""How many times :meth:`Oscilloscope.wait` asks ``:TER?`` before giving up."""


def _num(value: float) -> str:
    return f"{float(value):.10g}"


class Oscilloscope(ScpiInstrument):
    """An InfiniiVision-class oscilloscope: window, screens, single acquisition and the
    ASCii transfer of a channel (``:WAV:PRE?``, ``:WAV:DATA?``)."""

    safe_state_commands = ("STOP",)
    """A scope has no output to switch off; it only stops acquiring."""

    def setup(self, duration_s: float, ranges_V: dict[int, float]) -> None:
        """A window from 0 s to ``duration_s`` [s] and, for each channel, a DC-coupled
        screen of ``ranges_V[channel]`` [V] centred on 0 V."""
        self._write("STOP")
        self._write(":TIM:REF LEFT")
        self._write(f":TIM:RANG {_num(duration_s)}")
        self._write(f":TIM:POS {_num(REFERENCE_LEFT * duration_s)}")
        for channel, span in ranges_V.items():
            self._write(f":CHAN{channel}:COUP DC")
            self._write(f":CHAN{channel}:OFFS 0")
            self._write(f":CHAN{channel}:RANG {_num(span)}")
        self._write(":WAV:FORM ASC")

    def arm(self) -> None:
        """Acquire the next trigger once (``:SING``); clears the new-record flag first."""
        self.query(":TER?")
        self._write(":SING")

    def wait(self) -> None:
        """Until a new record is complete (``:TER?``); a clear error if none comes."""
        for _ in range(ACQUIRE_POLLS):
            if self.query(":TER?", int) == 1:
                return
        raise InstrumentError(f"{self.resource}: no trigger after {ACQUIRE_POLLS} polls")

    def channel(self, channel: int, points: int) -> tuple[np.ndarray, np.ndarray]:
        """Times [s] and values [V] of ``channel``'s record (at most ``points``)."""
        self._write(f":WAV:SOUR CHAN{channel}")
        self._write(f":WAV:POIN {int(points)}")
        preamble = self.query_floats(":WAV:PRE?", 10)
        block = self.query(":WAV:DATA?")
        if not block.startswith("#8") or len(block) < BLOCK_HEADER:
            raise InstrumentResponseError(f"{self.resource}: :WAV:DATA? gave {block[:20]!r}")
        length = int(block[2:BLOCK_HEADER])
        body = block[BLOCK_HEADER : BLOCK_HEADER + length]
        values = np.array([float(x) for x in body.split(",")]) if body else np.empty(0)
        if values.size != int(preamble[2]):
            raise InstrumentResponseError(
                f"{self.resource}: {values.size} values for {int(preamble[2])} points"
            )
        times = preamble[5] + preamble[4] * np.arange(values.size)
        return times, values


class AwgScopeBench:
    """The AWG + scope FeCap bench of the module docstring; ``range_V`` [V] is the span
    of the scope's screens for the charge and TIA channels (the drive channel's is
    set from the waveform's peak)."""

    def __init__(
        self,
        awg_resource: str,
        scope_resource: str,
        limits: SafetyLimits | None = None,
        *,
        tia_ohm: float = 1e4,
        int_cap_F: float = 10e-12,
        range_V: float = 20.0,
        **kwargs: object,
    ) -> None:
        if not (tia_ohm > 0 and int_cap_F > 0 and range_V > 0):
            raise InstrumentError(
                f"tia_ohm {tia_ohm!r}, int_cap_F {int_cap_F!r}, range_V {range_V!r}: must be > 0"
            )
        self.tia_ohm, self.int_cap_F, self.range_V = tia_ohm, int_cap_F, range_V
        self.awg = Awg33500(awg_resource, limits, **kwargs)
        try:
            self.scope = Oscilloscope(scope_resource, **kwargs)  # type: ignore[arg-type]
        except Exception:
            self.awg.close()
            raise

    def configure(self) -> None:
        """The AWG's output limits, programmed and verified."""
        self.awg.configure()

    def waveform(self, time_s: np.ndarray, voltage_V: np.ndarray) -> pd.DataFrame:
        """Play the waveform once and record it: ``time_s``, ``voltage_V`` (channel 1),
        ``current_A`` (channel 3 / ``tia_ohm``), ``charge_C`` (channel 2 x ``int_cap_F``,
        from t = 0)."""
        t = np.asarray(time_s, dtype=np.float64)
        v = self.awg.limits.check_voltages(voltage_V, "voltage_V")
        if t.size < 2 or t.size != v.size or not t[-1] > 0.0:
            raise InstrumentError("time_s: need >= 2 increasing points, as many as voltage_V")
        drive_span = 2.2 * (float(np.abs(v).max()) or 1e-3)
        spans = {1: drive_span, 2: self.range_V, 3: self.range_V}
        self.scope.setup(float(t[-1]) * (1 + 1e-9), spans)
        self.scope.arm()
        self.awg.play(t, v)  # checks the rest before anything plays
        try:
            self.scope.wait()
            columns = {}
            for channel, name in ((1, "voltage_V"), (2, "charge"), (3, "current")):
                times, values = self.scope.channel(channel, t.size)
                span = spans[channel]
                if values.size and np.abs(values).max() >= 0.5 * span * (1 - 1e-9):
                    raise InstrumentError(
                        f"{self.scope.resource}: channel {channel} clipped at +-{span / 2:g} V:"
                        " widen range_V (or the amplifier's gain)"
                    )
                columns[name] = values
            if times.size != t.size or not np.allclose(times, t, rtol=0, atol=1e-3 * t[1]):
                raise InstrumentError(
                    f"{self.scope.resource}: recorded {times.size} samples, not the {t.size}"
                    " played: the scope's window or sample clock differs from the AWG's"
                )
        finally:
            self.awg.output_off()
        return pd.DataFrame(
            {
                "time_s": t,
                "voltage_V": columns["voltage_V"],
                "current_A": columns["current"] / self.tia_ohm,
                "charge_C": columns["charge"] * self.int_cap_F,
            }
        )

    def close(self) -> None:
        """Close both instruments (each sends its safe state)."""
        try:
            self.awg.close()
        finally:
            self.scope.close()

    def __enter__(self) -> AwgScopeBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AwgScopeBench", "Oscilloscope"]
