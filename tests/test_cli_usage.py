"""Usage errors of every subcommand through the real entry point (``main``, the installed
typer): one line naming the command, a ``--help`` hint, exit status 2, no traceback."""

from __future__ import annotations

import pytest
from cli_run import run_cli

from bruno_hil.cli import main


@pytest.mark.parametrize(
    ("args", "command", "fragment"),
    [
        (["trian"], "bruno-hil", "No such command 'trian'. Did you mean 'train'?"),
        (["train", "--bogus"], "bruno-hil train", "No such option: --bogus"),
        (["train", "--stop-after", "0"], "bruno-hil train", "'--stop-after'"),
        (["train", "--stop-after", "x"], "bruno-hil train", "valid integer"),
        (
            ["characterize", "fecap", "--n-cycles", "abc"],
            "bruno-hil characterize fecap",
            "'--n-cycles'",
        ),
        (["characterize", "rram", "--n-pulse", "3"], "bruno-hil characterize rram", "--n-pulse"),
        (["characterize", "pund"], "bruno-hil characterize", "No such command 'pund'"),
        (["calibrate", "rram", "--free"], "bruno-hil calibrate rram", "requires an argument"),
        (["calibrate", "neuron", "--steps", "1"], "bruno-hil calibrate neuron", "'--steps'"),
        (["calibrate", "fecap", "a.csv", "b.csv"], "bruno-hil calibrate fecap", "b.csv"),
        (["emulate", "--port", "-1"], "bruno-hil emulate", "'--port'"),
    ],
)
def test_usage_error_is_one_line_and_a_hint(
    capsys: pytest.CaptureFixture[str], args: list[str], command: str, fragment: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"{command}: error: ") and fragment in lines[0]
    assert lines[1] == f"Try '{command} --help' for help."


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        ([], ("characterize", "calibrate", "train", "emulate")),
        (["characterize"], ("fecap", "rram")),
        (["calibrate"], ("fecap", "rram", "neuron")),
    ],
)
def test_a_bare_group_shows_its_commands_and_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], listed: tuple[str, ...]
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    shown = out + err  # typer's rich help goes to the terminal's stdout
    assert "Traceback" not in shown and "Usage:" in shown
    assert all(name in shown for name in listed)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0 and "--device-params" in out


def test_main_without_argv_reads_sys_argv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["bruno-hil", "train", "--nope"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("bruno-hil train: error: No such option: --nope")
