"""``--chip visa://``: neuron layers measured on the emulated neuron bench through the real
pyvisa + pyvisa-py stack on 127.0.0.1; the bench's neuron is the ngspice FeLIF circuit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvisa
import torch
import typer
from click.testing import CliRunner
from hil_steps import chip_losses, layer_trace

import bruno_hil.cli.train  # noqa: F401  (registers the command)
from bruno_hil.chip.fidelity import Fidelity
from bruno_hil.chip.neuron_circuit import simulate_neuron
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.chip.visa_chip import VisaChip
from bruno_hil.cli import app
from bruno_hil.devices.params import FeCapParams
from bruno_hil.emulator import EmulatedNeuronTester, FaultPlan, ScpiServer
from bruno_hil.instruments import InstrumentLimitError, NeuronTester, RetryPolicy
from bruno_hil.instruments.scpi import disable_nagle
from bruno_hil.neurons import FeLIFLayer
from bruno_hil.settings import SettingsError
from bruno_hil.training import loop
from bruno_hil.training.config import load_config

FAST = RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=0.5)
"""A short reply timeout: a dropped connection costs one timeout per attempt."""
DT_S = 1e-3
CURRENTS_A = np.random.default_rng(3).uniform(-40e-9, 120e-9, 20)
"""A random drive of 20 steps that makes the neuron spike several times."""
TINY_VISA = [
    "data.name=randman",
    "data.randman_classes=2",
    "data.randman_units=16",
    "data.n_steps=12",
    "data.samples_per_class=4",
    "data.max_test=null",
    "network.n_hidden=8",
    "network.hidden_neuron=null",  # the FeLIF-FeLIF network these settings were tuned on
    "network.hidden_scale_A=20e-9",
    "network.felif_surrogate_beta_per_V=10",
    "network.n_inner=100",
    "network.input_scale_A=60e-9",
    "training.batch_size=4",
    "training.lr=0.02",
    "training.progress=false",
    "hil.layers=output",
    "hil.surrogate_epochs=0",
    "hil.samples_per_epoch=null",
]


@pytest.fixture
def bench() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedNeuronTester()) as server:
        yield server


def _layer() -> FeLIFLayer:
    """One FeLIF neuron at the chip's nominal parameters (a coarse surrogate: it only
    supplies P and the fidelity reference here)."""
    return FeLIFLayer(1, params=FeCapParams(), dt_s=DT_S, n_inner=50)


def _drive(*columns: np.ndarray) -> torch.Tensor:
    """Input currents [T, B, 1] [A], one sample per column."""
    return torch.from_numpy(np.stack(columns, axis=1)[:, :, None])


# (a) the emulator's run is the circuit's
def test_emulated_run_equals_simulate_neuron(bench: ScpiServer) -> None:
    with NeuronTester(bench.resource) as tester:
        assert disable_nagle(tester)  # pyvisa-py's raw socket is reachable (45 ms a command)
        tester.configure()
        got = tester.run(CURRENTS_A, DT_S)
        times_s = tester.query_floats("FETC:TIME?")
    want = simulate_neuron(FeCapParams(), CURRENTS_A, DT_S)
    np.testing.assert_allclose(times_s, want.spike_times_s, rtol=1e-9)
    assert want.spikes.sum() >= 3
    np.testing.assert_array_equal(got.spikes, want.spikes)
    np.testing.assert_allclose(got.v_V, want.v_V[1:], rtol=1e-9, atol=1e-12)
    assert bench.instrument.dut.applied_A == pytest.approx(list(CURRENTS_A), rel=1e-9)
    # compliance and range were on the instrument when the output went on
    assert bench.instrument.events == [{"event": "output on", "range_A": 1e-6, "compliance_V": 5.5}]


# (b) + (c): the chip's trace
def test_one_neuron_spikes_above_threshold_and_not_below(bench: ScpiServer) -> None:
    layer = _layer()
    current = _drive(np.full(20, 2e-9), np.full(20, 0.2e-9))
    chip = VisaChip(bench.resource)
    try:
        trace, rec = layer_trace(chip, "output", layer, current)
        assert chip.layers == ("output",)  # the network runs everything else in torch
    finally:
        chip.close()
    spikes = trace.spikes[:, :, 0].sum(0)
    assert spikes[0] >= 1 and spikes[1] == 0  # 2 nA charges past threshold, 0.2 nA does not
    assert float(trace.v_V[-1, 1, 0]) > 0.05  # but it did charge the membrane
    # P is the surrogate's (not observable on the bench)
    surrogate = layer.surrogate_fine(current)
    torch.testing.assert_close(trace.p_C_per_m2, surrogate.p_C_per_m2.to(current.dtype))
    assert chip.stats.neuron_runs == 2 and chip.stats.failed_samples == 0
    fidelity = Fidelity()
    model = [a.numpy() for a in (surrogate.v_V, surrogate.p_C_per_m2, surrogate.spikes)]
    fidelity.add_neurons((rec.v_V, rec.p_C_per_m2, rec.spikes), model, ~rec.failed)
    assert np.isnan(fidelity.as_dict()["fidelity_p_rmse_C_per_m2"])


def test_visa_fine_equals_the_ngspice_chip(bench: ScpiServer) -> None:
    layer = _layer()
    current = _drive(CURRENTS_A, CURRENTS_A[::-1].copy())
    visa = VisaChip(bench.resource)
    spice = NgspiceChip(layers=("output",), workers=1)
    try:
        got, rec = layer_trace(visa, "output", layer, current)
        want, _ = layer_trace(spice, "output", layer, current)
    finally:
        visa.close()
        spice.close()
    assert want.spikes.sum() >= 3
    torch.testing.assert_close(got.spikes, want.spikes, rtol=0, atol=0)
    torch.testing.assert_close(got.v_V, want.v_V, rtol=1e-9, atol=1e-12)
    assert rec.failed.tolist() == [False, False]


# (d) + (e): training through visa, with a dropped connection
def test_in_the_loop_steps_lower_the_chip_loss_of_a_batch(bench: ScpiServer) -> None:
    """Adamax steps with the bench's forward and BRUNO's backward fit one batch: its loss,
    measured on the bench, goes down (as on the ngspice chip, test_training_hil.py)."""
    larger = ["data.randman_classes=3", "data.n_steps=20", "data.samples_per_class=8"]
    config = load_config(None, [f"chip=visa://{bench.resource}", *TINY_VISA, *larger])
    data = loop.build_dataset(config.data)
    torch.manual_seed(0)
    net = loop.Network(config.network, data.n_inputs, data.n_classes, config.data.dt_s, "t")
    inputs, labels = data.batch("train", np.arange(6))
    chip = config.open_chip()
    assert isinstance(chip, VisaChip)
    try:
        losses = chip_losses(net, inputs, labels, chip, steps=4)
        assert chip.stats.failed_samples == 0
        assert chip.stats.neuron_runs == 4 * 6 * 3  # every (sample, neuron) measured
    finally:
        chip.close()
    assert losses[-1] < 0.85 * losses[0], losses


def test_train_cli_on_visa_retries_and_counts_failed_samples(tmp_path: Path) -> None:
    """``bruno-hil train --chip visa://...``: a dropped reply is retried; six garbled ones
    in a row (3 driver attempts x 2 measurements) fail one sample, which is counted."""
    faults = FaultPlan.parse(["drop:on=FETC?,skip=2", "garble:on=FETC?,skip=10,times=6"])
    with ScpiServer(EmulatedNeuronTester(), faults=faults) as server:
        sets = [f"--set={s}" for s in [*TINY_VISA, "training.epochs=1", "hil.timeout_s=2"]]
        chip_arg = f"visa://{server.resource}"
        args = ["train", "--chip", chip_arg, "--out", str(tmp_path / "run"), *sets, "--json"]
        result = CliRunner().invoke(typer.main.get_command(app), args)
        assert result.exit_code == 0, result.output
        fired = [entry[1] for entry in server.faults.log]
    assert fired == ["drop"] + ["garble"] * 6
    figures = json.loads(result.output.strip().splitlines()[-1])
    chip = figures["chip"]
    assert chip["chip_failed_samples"] == 1
    assert chip["chip_retried_runs"] == 0  # the driver's retry took the drop
    # 2 classes x 4 samples: 6 training + 2 test + the 2 test samples again for the plots,
    # each with its 2 output neurons measured one after another
    assert chip["chip_samples"] == 10 and chip["chip_neuron_runs"] == 20
    assert chip["chip_wall_s_per_sample"] > 0
    assert 0.0 <= figures["chip_surrogate_agreement"] <= 1.0
    assert figures["fidelity_p_rmse_C_per_m2"] is None  # P is not measured on the bench
    # V was measured for the test samples (the same bench's V equals the ngspice chip's:
    # test_visa_fine_equals_the_ngspice_chip); |chip - surrogate| <= 2 * v_clip_V
    assert 0.0 < figures["fidelity_v_rmse_V"] < 10.0
    errors = (tmp_path / "run" / "chip_errors.txt").read_text()
    assert "InstrumentResponseError" in errors


def test_a_connection_dropped_for_good_fails_only_its_sample(bench: ScpiServer) -> None:
    layer = _layer()
    current = _drive(CURRENTS_A, np.full(20, 2e-9), CURRENTS_A[::-1].copy())
    clean = VisaChip(bench.resource, retry=FAST)
    try:
        want, _ = layer_trace(clean, "output", layer, current)
    finally:
        clean.close()
    # every reply of the second sample's two measurements (3 attempts each) is lost
    faults = FaultPlan.parse(["drop:on=FETC?,skip=1,times=6"])
    with ScpiServer(EmulatedNeuronTester(), faults=faults) as server:
        chip = VisaChip(server.resource, retry=FAST)
        try:
            got, rec = layer_trace(chip, "output", layer, current)
        finally:
            chip.close()
        assert len(server.faults.log) == 6
    assert rec.failed.tolist() == [False, True, False]
    assert chip.stats.failed_samples == 1 and chip.stats.neuron_runs == 3
    assert "sample 1 neuron 0" in chip.stats.errors[0]
    keep = [0, 2]
    torch.testing.assert_close(got.spikes[:, keep], want.spikes[:, keep], rtol=0, atol=0)
    torch.testing.assert_close(got.v_V[:, keep], want.v_V[:, keep], rtol=1e-9, atol=1e-12)
    assert torch.isfinite(got.v_V).all()  # the failed sample carries the surrogate's V


# (f) safety
def test_limits_are_checked_before_anything_is_sent(bench: ScpiServer) -> None:
    with NeuronTester(bench.resource) as tester:
        with pytest.raises(InstrumentLimitError, match="configure"):
            tester.run(CURRENTS_A, DT_S)
        tester.configure()
        seen = bench.instrument.commands_seen
        too_much = CURRENTS_A.copy()
        too_much[7] = 1.5e-6
        with pytest.raises(InstrumentLimitError, match=r"currents_A\[7\] = 1.5e-06 A.*1e-06 A"):
            tester.run(too_much, DT_S)
        with pytest.raises(InstrumentLimitError, match="step_max_s"):
            tester.run(CURRENTS_A, 2.0)
        with pytest.raises(InstrumentLimitError, match="points_max"):
            tester.run(np.zeros(10_001), DT_S)
        assert bench.instrument.commands_seen == seen  # nothing of these reached it
    assert bench.instrument.dut.applied_A == []
    # through the chip: the sample is failed and counted, the others measured
    layer = _layer()
    chip = VisaChip(bench.resource)
    try:
        _, rec = layer_trace(chip, "output", layer, _drive(too_much, CURRENTS_A))
        assert rec.failed.tolist() == [True, False]
        assert chip.stats.failed_samples == 1 and "current_max_A" in chip.stats.errors[0]
    finally:
        chip.close()
    assert max(abs(i) for i in bench.instrument.dut.applied_A) < 1e-6


def test_the_emulator_refuses_output_before_compliance(bench: ScpiServer) -> None:
    rm = pyvisa.ResourceManager("@py")
    session = rm.open_resource(bench.resource, read_termination="\n", write_termination="\n")
    try:
        session.write("OUTP ON")
        assert session.query("SYST:ERR?").startswith("-221")
        session.write("SOUR:LIST:CURR 1e-9,2e-3")  # beyond the source range
        assert session.query("SYST:ERR?").startswith("-222")
        assert session.query("OUTP?") == "0" and session.query("SOUR:LIST:CURR:POIN?") == "0"
    finally:
        session.close()
        rm.close()


def test_bench_layers_and_instrument_are_checked(bench: ScpiServer) -> None:
    with pytest.raises(SettingsError, match=r"crossbars \['syn_out'\] are not on a visa"):
        VisaChip(bench.resource, layers=("syn_out", "output"))
    with ScpiServer(EmulatedNeuronTester()) as other:
        other.instrument.idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,0,0"
        with pytest.raises(SettingsError, match="is not a neuron tester"):
            VisaChip(other.resource)
