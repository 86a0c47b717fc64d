"""Neuron-level calibration against the ngspice FeLIF circuit (real ngspice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bruno_hil.calibration.neuron import fit_neuron
from bruno_hil.chip.ngspice_chip import NgspiceChip
from bruno_hil.cli import main
from bruno_hil.devices.params import FeCapParams, load_param_sets

CHIP = FeCapParams(c_par_F=25e-15, v_thr_V=2.3, v_reset_V=-1.3)
"""A chip whose neuron circuit deviates from the nominal surrogate."""


def test_fit_recovers_threshold_and_reset_and_improves_heldout_fidelity() -> None:
    chip = NgspiceChip(layers=("output",), params=CHIP, workers=2)
    try:
        fit = fit_neuron(chip, n_inner=100, n_steps=30, n_traces=6, max_evaluations=80)
    finally:
        chip.close()
    assert fit.params.v_thr_V == pytest.approx(2.3, rel=0.02)
    assert fit.params.v_reset_V == pytest.approx(-1.3, rel=0.06)
    before, after = fit.before["heldout"], fit.after["heldout"]
    assert after["fidelity_v_median_abs_V"] < before["fidelity_v_median_abs_V"] / 5
    assert after["fidelity_neuron_count_mae"] < before["fidelity_neuron_count_mae"]
    # fields not fitted keep the prior's values
    assert fit.params.e_a_V_per_m == FeCapParams().e_a_V_per_m


def test_cli_writes_params_that_train_accepts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["calibrate", "neuron", "--traces", "2", "--steps", "10", "--out", str(tmp_path)]
    main([*args, "--chip-param", "v_thr_V=2.3", "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["parameters"]) == {"c_par_F", "v_thr_V", "v_reset_V"}
    assert "heldout" in report["fidelity_before"] and "heldout" in report["fidelity_after"]
    sets = load_param_sets(tmp_path / "neuron_params.yaml")
    assert sets["FeCapParams"].v_thr_V == pytest.approx(report["parameters"]["v_thr_V"]["value"])
    assert (tmp_path / "neuron_overlay.png").read_bytes()[:4] == b"\x89PNG"


def test_neuron_calibration_needs_the_ngspice_circuit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["calibrate", "neuron", "--chip", "surrogate"])
    assert info.value.code == 2
    assert "use --chip ngspice" in capsys.readouterr().err
