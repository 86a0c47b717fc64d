"""Issue 19.4-19.6: inputs that used to run silently to a wrong result (or a traceback)
are refused through the real CLI with one line naming the setting, file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run_cli


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("training.lr=.inf", "training.lr = inf: must be a finite number"),
        ("training.lr=nan", "training.lr = nan: must be a finite number"),
        ("network.input_scale_A=-.inf", "network.input_scale_A = -inf: must be a finite"),
        ("data.max_test=-5", "data.max_test = -5: expected a whole number >= 1 or null"),
        ("data.max_train=0", "data.max_train = 0: expected a whole number >= 1 or null"),
        ("seed=-1", "seed = -1: expected 0..4294967295"),
        ("data.seed=-1", "data.seed = -1: expected 0..4294967295"),
        ("network.fecap={v_thr_V: 2, v_thr_V: 3}", "line 1: key 'v_thr_V' given twice"),
    ],
)
def test_train_refuses_silent_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, setting: str, message: str
) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "train", "--chip", "surrogate", "--set", setting, "--out", str(out)
    )
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()  # refused before the run folder was made


def test_a_config_file_with_a_duplicate_key_names_both_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("training:\n  lr: 0.01\n  epochs: 2\n  lr: 0.5\n")
    code, _, err = run_cli(capsys, "train", "--config", str(config), "--out", str(tmp_path / "r"))
    assert code == 2
    assert f"{config}: line 4: key 'lr' given twice (first on line 2)" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p_s_C_per_m2: false\n", "field 'p_s_C_per_m2': expected a number, got False"),
        ("p_s_C_per_m2: 0.2\np_s_C_per_m2: 0.25\n", "line 2: key 'p_s_C_per_m2' given twice"),
    ],
)
def test_device_params_refuse_booleans_and_duplicate_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    params = tmp_path / "fecap.yaml"
    params.write_text(text)
    code, _, err = run_cli(capsys, "characterize", "fecap", "--device-params", str(params))
    assert code == 2
    assert f"{params}" in err and message in err


def test_a_binary_device_params_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    params = tmp_path / "params.yaml"
    params.write_bytes(bytes(range(256)))
    code, _, err = run_cli(capsys, "train", "--device-params", str(params), "--chip", "surrogate")
    assert code == 2
    assert f"{params}: not a text file, cannot read the device parameters" in err
    assert "Traceback" not in err


def test_chip_param_errors_name_the_chip_param_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_cli(capsys, "calibrate", "rram", "--chip-param", "t_ox_m=thin")
    assert code == 2
    assert "--chip-param 't_ox_m=thin': 'thin' is not a number" in err
    code, _, err = run_cli(capsys, "calibrate", "rram", "--chip-param", "t_ox_m=1")
    assert code == 2
    assert "--chip-param: RRAMParams.t_ox_m = 1.0 m is outside" in err


def test_a_parameter_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "characterize", "rram", "--param", "t_ox_m=10e-9", "--param", "t_ox_m=11e-9"
    )
    assert code == 2
    assert "--param 't_ox_m=11e-9': t_ox_m is already set to 1e-08" in err
