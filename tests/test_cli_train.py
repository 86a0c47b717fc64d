"""``bruno-hil train``: run folders, --json, --resume, chip selection and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import typer
import yaml
from cli_run import run_cli
from click.testing import CliRunner
from tiny_run import TINY_SETS

import bruno_hil.cli.train  # noqa: F401  (registers the command)
from bruno_hil.cli import app
from bruno_hil.datasets.baselines import baseline_accuracies
from bruno_hil.errors import BrunoHilError
from bruno_hil.training.config import load_config
from bruno_hil.training.loop import build_dataset
from bruno_hil.training.report import BASELINE_LABELS

TINY = [arg for item in [*TINY_SETS, "training.epochs=2"] for arg in ("--set", item)]


def _invoke(args: list[str]):
    return CliRunner().invoke(typer.main.get_command(app), ["train", *args])


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_train_json_prints_the_final_figures_last(tmp_path: Path) -> None:
    result = _invoke(["--chip", "surrogate", "--out", str(tmp_path / "run"), *TINY, "--json"])
    assert result.exit_code == 0, result.output
    figures = _last_json(result.output)
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert figures["epochs_done"] == 2 and figures["complete"] is True
    assert figures["test_acc"] == pytest.approx(metrics["test_acc"].iloc[-1])
    assert figures["run_dir"] == str(tmp_path / "run")


def test_train_prints_a_line_per_epoch_and_a_summary_table(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "train", "--chip", "surrogate", "--out", str(tmp_path), *TINY)
    assert code == 0, err
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    lines = [line.split("\r")[-1].strip() for line in err.splitlines()]
    said = [line for line in lines if line.startswith(("epoch 1/2 [", "epoch 2/2 ["))]
    assert [line.split(" | ")[2] for line in said] == [
        f"test acc {acc:.3f}" for acc in metrics["test_acc"]
    ]
    assert said[0].startswith("epoch 1/2 [surrogate] | train loss")
    assert "chip phase" not in err  # the surrogate never hands over
    table = out.strip().splitlines()
    assert table[0].startswith(f"run {tmp_path}: 2/2 epochs (complete)")
    assert table[1].split() == ["surrogate"]
    assert table[2].split() == ["test", "accuracy", f"{metrics['test_acc'].iloc[-1]:.3f}"]
    assert "{" not in out and "chip samples" not in out


def test_the_summary_names_simple_classifiers_on_the_same_split(tmp_path: Path) -> None:
    """The table and --json carry 1-NN, logistic regression and nearest class mean, fitted
    on this run's own training split and scored on its test split."""
    result = _invoke(["--chip", "surrogate", "--out", str(tmp_path / "run"), *TINY, "--json"])
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "run" / "config.yaml")
    expected = baseline_accuracies(build_dataset(config.data))
    assert _last_json(result.output)["baselines"] == pytest.approx(expected)
    assert expected["nearest_class_mean_acc"] > 1 / 27  # they learn something on 27 samples
    table = _invoke(["--resume", str(tmp_path / "run")]).output.splitlines()
    start = table.index(next(line for line in table if "same split, simple classifiers" in line))
    rows = [line.rsplit(maxsplit=1) for line in table[start + 1 : start + 4]]
    assert [(name.strip(), float(acc)) for name, acc in rows] == [
        (BASELINE_LABELS[key], pytest.approx(acc, abs=5e-4)) for key, acc in expected.items()
    ]


def test_default_run_folder_is_under_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _invoke([*TINY, "--set", "training.epochs=1", "--json"])
    assert result.exit_code == 0, result.output
    run_dir = Path(_last_json(result.output)["run_dir"])
    assert run_dir.parent == Path("runs") and (tmp_path / run_dir / "checkpoint.pt").is_file()


def test_resume_continues_a_stopped_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = _invoke(["--out", str(run), *TINY, "--stop-after", "1", "--json"])
    assert first.exit_code == 0, first.output
    assert _last_json(first.output)["epochs_done"] == 1
    second = _invoke(["--resume", str(run), "--json"])
    assert second.exit_code == 0, second.output
    assert _last_json(second.output)["epochs_done"] == 2
    straight = _invoke(["--out", str(tmp_path / "straight"), *TINY, "--json"])
    assert straight.exit_code == 0, straight.output
    a = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--chip", "ngspice", "--set", "network.mode=bptt", "--set", "hil.layers=output"],
            "trained with BRUNO",
        ),
        (  # nothing listens there: the error names the resource
            ["--chip", "visa://TCPIP0::127.0.0.1::1::SOCKET", "--set", "hil.layers=output"],
            "cannot reach the neuron bench at TCPIP0::127.0.0.1::1::SOCKET",
        ),
        (["--set", "network.n_hiden=3"], "network.n_hiden"),
        (["--resume", "elsewhere"], "drop --out"),
        (["--resume", "elsewhere", "--set", "seed=1"], "drop --config/--set"),
    ],
)
def test_user_errors_are_bruno_hil_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = _invoke(["--out", str(tmp_path / "run"), *args])
    assert isinstance(result.exception, BrunoHilError), result.output
    assert fragment in str(result.exception)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_resume_of_a_missing_run_names_the_folder(tmp_path: Path) -> None:
    result = _invoke(["--resume", str(tmp_path / "nowhere")])
    assert isinstance(result.exception, BrunoHilError), result.output
    assert f"{tmp_path / 'nowhere'}: cannot resume" in str(result.exception)


def test_bad_config_file_exits_2_with_its_name(tmp_path: Path, capsys) -> None:
    from bruno_hil.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  epoch: 3\n")
    with pytest.raises(SystemExit) as info:
        main(["train", "--config", str(bad), "--out", str(tmp_path / "run")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "training.epoch" in err


def test_device_params_files_combine_for_surrogate_and_chip_and_set_wins(
    tmp_path: Path, capsys
) -> None:
    fitted = tmp_path / "fecap_params.yaml"  # as calibrate fecap writes it
    fitted.write_text(
        "FeCapParams:\n  e_a_V_per_m: 1.3e9\n  c_par_F: 1.5e-14\n"
        "bench:\n  c_par_F: 1.0e-13\ncalibration:\n  source: x.csv\n"
    )
    neuron = tmp_path / "neuron_params.yaml"
    neuron.write_text(
        "FeCapParams:\n  c_par_F: 2.0e-14\n  v_thr_V: 2.2\nRRAMParams:\n  v_0_V: 0.3\n"
    )
    run = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        "--chip",
        "surrogate",
        "--out",
        str(run),
        *TINY,
        "--set",
        "training.epochs=1",
        "--device-params",
        str(fitted),
        "--device-params",
        str(neuron),
        "--set",
        "network.fecap.v_thr_V=2.4",
    )
    assert code == 0, err
    assert f"note: {fitted}: bench quantities (c_par_F = 1e-13) belong to" in err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    surrogate, chip = saved["network"]["fecap"], saved["hil"]["fecap"]
    assert surrogate["e_a_V_per_m"] == chip["e_a_V_per_m"] == pytest.approx(1.3e9)
    assert surrogate["c_par_F"] == chip["c_par_F"] == pytest.approx(2e-14)  # not the bench's
    assert surrogate["v_thr_V"] == pytest.approx(2.4) and chip["v_thr_V"] == pytest.approx(2.2)
    assert saved["hil"]["rram"]["v_0_V"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("FeCapParams:\n  e_a_V_per_m: -1\n", "e_a_V_per_m"),
        ("e_a_V_per_m: 1.3e9\nv_0_V: 0.3\n", "do not all belong to one of"),
        ("FeCapParams: {}\nNeuron: {}\n", "unknown section(s) Neuron"),
    ],
)
def test_bad_device_params_file_is_named(tmp_path: Path, text: str, fragment: str) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text(text)
    result = _invoke(["--out", str(tmp_path / "run"), *TINY, "--device-params", str(params)])
    assert isinstance(result.exception, BrunoHilError), result.output
    assert str(params) in str(result.exception) and fragment in str(result.exception)
