"""Run ``bruno-hil`` in the test process: exit code, stdout, stderr, the last JSON line."""

from __future__ import annotations

import json

import pytest
from tiny_run import TINY_SETS

from bruno_hil.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``bruno-hil ARGS`` through the console entry point: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as ex:
        code = int(ex.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    """The JSON object every ``--json`` command prints as its last line."""
    return json.loads(out.strip().splitlines()[-1])


TINY_TRAIN_SETS = [*TINY_SETS, "training.epochs=2"]
"""The smallest training run that still has every class (27 train and test samples)."""


def set_args(*sets: str) -> list[str]:
    """``--set`` options for ``key=value`` items."""
    return [arg for item in sets for arg in ("--set", item)]
