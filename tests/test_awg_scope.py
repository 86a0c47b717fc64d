"""The AWG + oscilloscope FeCap bench over pyvisa on 127.0.0.1: the emulated 33500's
arbitrary-waveform formats and ``FUNC?``, the emulated InfiniiVision-class scope, the
:class:`AwgScopeBench` driver and pymeasure's own ``Agilent33500`` and
``KeysightDSOX1102G`` drivers, each measuring a P-V loop that matches ngspice's."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from scpi_session import emulate_process

from bruno_hil.characterize.ngspice_backend import NgspiceBackend
from bruno_hil.devices.params import FeCapParams
from bruno_hil.emulator import EmulatedTester, ScpiServer, make_scope_server
from bruno_hil.instruments import FeTester, InstrumentError
from bruno_hil.instruments.awg_scope import AwgScopeBench

T_S = np.arange(201) * 0.5e-6
"""A 100 us loop, 0.5 us per point."""
V_V = 3.5 * np.sin(2 * np.pi * T_S / T_S[-1])


@pytest.fixture
def bench() -> Iterator[tuple[ScpiServer, ScpiServer]]:
    with ScpiServer(EmulatedTester()) as awg:
        scope = make_scope_server(awg).start()
        try:
            yield awg, scope
        finally:
            scope.stop()


def _close_to_ngspice(charge_C: np.ndarray, voltage_V: np.ndarray) -> None:
    whole = NgspiceBackend().fecap_waveform(T_S, voltage_V, FeCapParams())
    q = whole["charge_C"].to_numpy()
    assert np.abs(charge_C - q).max() < 1e-4 * np.ptp(q)
    assert np.ptp(q) > 1e-11  # a switched loop: 2 P_s A, not a linear capacitor


def test_awg_scope_bench_measures_the_ngspice_loop(bench: tuple[ScpiServer, ScpiServer]) -> None:
    awg, scope = bench
    with AwgScopeBench(awg.resource, scope.resource) as pair:
        pair.configure()
        data = pair.waveform(T_S, V_V)
    np.testing.assert_allclose(data["time_s"], T_S)
    np.testing.assert_allclose(data["voltage_V"], V_V, atol=1e-9)
    _close_to_ngspice(data["charge_C"].to_numpy(), V_V)
    with ScpiServer(EmulatedTester()) as fresh, FeTester(fresh.resource) as tester:
        tester.configure()
        same = tester.waveform(T_S, V_V)  # the one-box tester on a fresh capacitor
    pd.testing.assert_frame_equal(data, same, rtol=1e-9)


def test_a_clipped_channel_is_a_clear_error(bench: tuple[ScpiServer, ScpiServer]) -> None:
    awg, scope = bench
    with AwgScopeBench(awg.resource, scope.resource, range_V=0.5) as pair:
        pair.configure()
        with pytest.raises(InstrumentError, match="channel 2 clipped"):
            pair.waveform(T_S, V_V)
        assert pair.awg.query("OUTP?") == "0"  # the output went off all the same


def test_pymeasure_agilent33500_and_dsox1102g_measure_the_loop(
    bench: tuple[ScpiServer, ScpiServer],
) -> None:
    """pymeasure's own AWG and scope drivers: a DAC-code upload (its default format),
    ``FUNC?``, one burst, then the scope's timebase, channel screens, ``:DIG`` and the
    ASCii transfer with its preamble."""
    from pymeasure.instruments.agilent import Agilent33500
    from pymeasure.instruments.keysight import KeysightDSOX1102G

    awg_server, scope_server = bench
    awg = Agilent33500(awg_server.resource, read_termination="\n")
    codes = np.round(V_V / 3.5 * 32767).astype(int)
    awg.write("VOLT:LIM:HIGH 5;VOLT:LIM:LOW -5;VOLT:LIM:STAT ON")
    awg.amplitude = 0.01
    awg.data_arb("LOOP", codes)  # DATA:ARB:DAC
    awg.arb_file = "LOOP"
    awg.shape = "ARB"
    assert awg.shape == "ARB"
    awg.arb_srate = 2e6
    awg.amplitude = 7.0
    awg.offset = 0.0
    awg.output = True
    awg.shape = "SIN"  # not emulated: refused, not silently accepted
    assert awg.ask("SYST:ERR?").startswith("-221")
    awg.trigger()  # *TRG: one play
    awg.output = False
    assert awg.ask("SYST:ERR?") == '0,"No error"'

    scope = KeysightDSOX1102G(scope_server.resource, read_termination="\n")
    scope.timebase_setup(offset=T_S[-1] / 2, horizontal_range=T_S[-1] * (1 + 1e-9))
    scope.ch(1).setup(coupling="dc", offset=0, vertical_range=8)
    scope.ch(2).setup(coupling="dc", offset=0, vertical_range=20)
    scope.digitize("channel1")
    v, preamble = scope.download_data("channel1", points=1000)
    q_over_c, _ = scope.download_data("channel2", points=1000)
    assert preamble["points"] == T_S.size and preamble["xincrement"] == pytest.approx(0.5e-6)
    played = 3.5 * codes / 32767
    np.testing.assert_allclose(v, played, atol=1e-9)
    _close_to_ngspice(q_over_c * 10e-12, played)  # the charge amplifier's 10 pF
    scope.write(":CHAN2:COUP AC")
    assert scope.ask("SYST:ERR?").startswith("-221")  # AC would remove the loop's offset
    awg.adapter.close()
    scope.adapter.close()


def test_emulate_cli_serves_the_tester_with_a_scope() -> None:
    """``bruno-hil emulate --device fecap --scope-port 0`` serves both; the scope records
    the tester's play."""
    with emulate_process("--device", "fecap", "--port", "0", "--scope-port", "0") as served:
        info = served.info
        with AwgScopeBench(info["resource"], info["scope_resource"]) as pair:
            pair.configure()
            data = pair.waveform(T_S[:41], V_V[:41])
        assert data["charge_C"].abs().max() > 0 and len(data) == 41
    assert served.returncode == 0
