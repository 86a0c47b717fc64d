"""``bruno-hil train``: train the FeLIF/LIF + RRAM network into a resumable run folder."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from bruno_hil.cli import app
from bruno_hil.cli.output import print_json
from bruno_hil.devices import load_param_sets
from bruno_hil.training import RunFolderError, Trainer, load_config

DEVICE_PARAM_KEYS: dict[str, str] = {
    "FeCapParams": "network.fecap",
    "RRAMParams": "hil.rram",
    "LIFParams": "network.lif",
}
"""Where each device parameter set of a ``--device-params`` file goes in the config."""


def device_param_sets(path: Path) -> list[str]:
    """``--set`` overrides (``key={field: value, ...}``) for the parameter sets in ``path``."""
    return [
        f"{DEVICE_PARAM_KEYS[name]}={json.dumps(params.as_dict())}"
        for name, params in load_param_sets(path).items()
    ]


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
    device_params: Annotated[
        Path | None,
        typer.Option(
            "--device-params",
            help="Device parameter file (as `bruno-hil calibrate` writes it): FeCapParams"
            " set network.fecap, RRAMParams hil.rram, LIFParams network.lif; --set wins.",
        ),
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
    """Train on the synthetic Braille (or Randman), or the real JapaneseVowels set, with BRUNO
    gradients."""
    if resume is not None:
        if config is not None or sets or device_params is not None:
            raise RunFolderError(
                f"--resume {resume}: the run's own {resume / 'config.yaml'} is used;"
                " drop --config/--set/--device-params"
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
        source = saved.open_chip()
        trainer = Trainer.resume(resume, source)
    else:
        extra = [
            *([f"chip={chip}"] if chip else []),
            *([f"hil.scheduler={scheduler}"] if scheduler else []),
        ]
        from_file = device_param_sets(device_params) if device_params is not None else []
        run_config = load_config(config, [*from_file, *(sets or []), *extra])
        run_dir = out or Path("runs") / time.strftime("train-%Y%m%d-%H%M%S", time.gmtime())
        source = run_config.open_chip()
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
