"""Device parameter files into training: several files combine, each set goes to the
surrogate and the chip (or one of them), bench quantities stay out with a note."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from cli_run import run_cli

from bruno_hil.devices import ParameterError, RRAMParams
from bruno_hil.training.device_params import combine, device_overrides, inner_step_notes


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_files_combine_field_by_field(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.yaml", "FeCapParams:\n  e_a_V_per_m: 1.3e9\n  v_thr_V: 2.5\n")
    b = _file(tmp_path, "b.yaml", "FeCapParams:\n  v_thr_V: 2.2\nLIFParams:\n  v_thr: 1.5\n")
    sets, notes = combine([a, b])
    # a's v_thr_V is the default: b's fitted value is not a contradiction
    assert sets == {
        "FeCapParams": {"e_a_V_per_m": 1.3e9, "v_thr_V": 2.2},
        "LIFParams": {"v_thr": 1.5},
    }
    assert notes == []


def test_two_files_that_disagree_are_named(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.yaml", "FeCapParams:\n  v_thr_V: 2.0\n")
    b = _file(tmp_path, "b.yaml", "FeCapParams:\n  v_thr_V: 2.2\n")
    with pytest.raises(ParameterError) as info:
        combine([a, b])
    assert str(info.value) == (
        f"{b}: FeCapParams.v_thr_V = 2.2 contradicts {a} (2); give each field in one"
        " --device-params file"
    )


@pytest.mark.parametrize(
    ("to", "sections"),
    [
        ("both", {"network": {"fecap", "lif"}, "hil": {"fecap", "rram"}}),
        ("surrogate", {"network": {"fecap", "lif"}}),
        ("chip", {"hil": {"fecap", "rram"}}),
    ],
)
def test_each_set_goes_to_surrogate_and_chip_unless_told(
    tmp_path: Path, to: str, sections: dict[str, set[str]]
) -> None:
    path = _file(
        tmp_path,
        "p.yaml",
        "FeCapParams:\n  v_thr_V: 2.2\nRRAMParams:\n  v_0_V: 0.3\nLIFParams:\n  v_thr: 1.5\n",
    )
    overrides, notes = device_overrides([path], to)
    assert {k: set(v) for k, v in overrides.items()} == sections
    assert all(fields == {"v_thr_V": 2.2} for key, fields in _items(overrides, "fecap"))
    left = {"surrogate": "RRAMParams", "chip": "LIFParams"}.get(to)
    assert notes == ([f"{left}: has no {to} counterpart in training; not used"] if left else [])


def _items(overrides: dict, key: str) -> list[tuple[str, dict]]:
    return [(section, keys[key]) for section, keys in overrides.items() if key in keys]


def test_an_older_fecap_file_keeps_its_bench_capacitance_out(tmp_path: Path) -> None:
    """Written by calibrate fecap before the bench section: its fitted c_par_F is the
    fixture's, it must not become the neuron's membrane parasitic."""
    path = _file(
        tmp_path,
        "old.yaml",
        "FeCapParams:\n  c_par_F: 1.0e-13\n  p_s_C_per_m2: 0.24\n"
        "calibration:\n  fitted:\n    c_par_F: {value: 1.0e-13, sigma: 1.0e-15}\n",
    )
    overrides, notes = device_overrides([path])
    assert overrides["network"]["fecap"] == {"p_s_C_per_m2": 0.24}
    assert notes == [
        f"{path}: FeCapParams.c_par_F = 1e-13 was fitted on the bench (the fixture's"
        " capacitance), not the device: left out, the neurons keep 1.5e-14 unless --set"
        " gives one"
    ]


def test_a_bad_destination_is_named() -> None:
    with pytest.raises(ParameterError, match="--device-params-to 'neurons': choose one of"):
        device_overrides([], "neurons")


def test_a_fecap_file_given_for_an_rram_is_named(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "fecap.yaml", "FeCapParams:\n  v_thr_V: 2.2\ncalibration: {}\n")
    with pytest.raises(ParameterError) as info:
        RRAMParams.from_file(path)
    assert str(info.value) == (
        f"{path}: holds FeCapParams, calibration, no RRAMParams section; give the file of"
        " this device (as `bruno-hil calibrate` writes it)"
    )
    code, _, err = run_cli(capsys, "characterize", "rram", "--device-params", str(path))
    assert code == 2 and err.strip() == f"bruno-hil: error: {info.value}"


def test_a_neuron_calibration_at_other_inner_steps_is_named(tmp_path: Path) -> None:
    fitted = _file(
        tmp_path,
        "neuron.yaml",
        "FeCapParams:\n  v_thr_V: 2.4\ncalibration:\n  device: felif-neuron\n  n_inner: 20\n",
    )
    plain = _file(tmp_path, "fecap.yaml", "FeCapParams:\n  e_a_V_per_m: 1.3e9\n")
    assert inner_step_notes([fitted, plain], 20) == []
    (note,) = inner_step_notes([fitted, plain], 100)
    assert note.startswith(f"{fitted}: calibrated at n_inner = 20, but this run's")
    assert "calibrate neuron --n-inner 100" in note


def test_calibrate_neuron_defaults_to_the_trainings_inner_steps() -> None:
    from bruno_hil.cli.calibrate import neuron
    from bruno_hil.training.config import NetworkConfig

    default = inspect.signature(neuron).parameters["n_inner"].default
    assert default == NetworkConfig().n_inner == 100
