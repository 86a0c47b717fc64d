"""``bruno-hil train``: train the FeLIF/LIF + RRAM network into a resumable run folder."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from bruno_hil.cli import app
from bruno_hil.cli.output import print_json
from bruno_hil.training import RunFolderError, Trainer, load_config, open_chip


@app.command("train")
def train(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML training config (defaults apply without one)."),
    ] = None,
    chip: Annotated[
        str | None,
        typer.Option(
            "--chip",
            help="Fine forward: ngspice (the default), surrogate or visa://<resource>.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:port) for the chip's simulations"
            " (default: local worker processes, hil.workers).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Run folder (default: runs/train-<UTC time>)."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the run in this folder from its checkpoint."),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key, e.g. --set training.epochs=5."),
    ] = None,
    stop_after: Annotated[
        int | None,
        typer.Option("--stop-after", min=1, help="Stop after this many epochs (resume later)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final figures as JSON last.")
    ] = False,
) -> None:
    """Train on the synthetic Braille (or Randman) set with BRUNO gradients."""
    if resume is not None:
        if config is not None or sets:
            raise RunFolderError(
                f"--resume {resume}: the run's own {resume / 'config.yaml'} is used;"
                " drop --config/--set"
            )
        if out is not None and out != resume:
            raise RunFolderError(f"--resume {resume} writes into that folder; drop --out {out}")
        if not (resume / "config.yaml").is_file():
            raise RunFolderError(f"{resume}: cannot resume, config.yaml is missing")
        saved = load_config(resume / "config.yaml")
        if chip:
            saved = dataclasses.replace(saved, chip=chip)
        if scheduler:
            saved = dataclasses.replace(
                saved, hil=dataclasses.replace(saved.hil, scheduler=scheduler)
            )
        source = open_chip(saved)
        trainer = Trainer.resume(resume, source)
    else:
        extra = [
            *([f"chip={chip}"] if chip else []),
            *([f"hil.scheduler={scheduler}"] if scheduler else []),
        ]
        run_config = load_config(config, [*(sets or []), *extra])
        run_dir = out or Path("runs") / time.strftime("train-%Y%m%d-%H%M%S", time.gmtime())
        source = open_chip(run_config)
        trainer = Trainer.create(run_config, run_dir, source)
    try:
        result = trainer.fit(stop_after=stop_after)
    finally:
        if source is not None:
            source.close()
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
