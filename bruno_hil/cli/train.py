"""``bruno-hil train``: train the FeLIF/LIF + RRAM network into a resumable run folder."""

from __future__ import annotations

import dataclasses
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from bruno_hil.cli import INTERRUPTED, app
from bruno_hil.cli.output import print_json
from bruno_hil.training import RunFolderError, Trainer, load_config
from bruno_hil.training.device_params import device_overrides, inner_step_notes
from bruno_hil.training.loop import CHECKPOINT_FILE
from bruno_hil.training.report import summary_table


def interrupted_message(trainer: Trainer) -> str:
    """What Ctrl-C left behind: the last checkpointed epoch and how to continue."""
    run_dir, saved = trainer.run_dir, trainer.saved_epoch
    if saved == 0:
        return f"interrupted in epoch 1; no checkpoint yet in {run_dir}"
    return (
        f"interrupted; {run_dir / CHECKPOINT_FILE} keeps epoch {saved} of"
        f" {trainer.config.training.epochs}; continue with: bruno-hil train --resume {run_dir}"
    )


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
        list[Path] | None,
        typer.Option(
            "--device-params",
            help="Device parameter file (as `bruno-hil calibrate` writes it; repeat to"
            " combine): FeCapParams set network.fecap and hil.fecap, RRAMParams hil.rram,"
            " LIFParams network.lif; a bench: section is not used; --set wins.",
        ),
    ] = None,
    device_params_to: Annotated[
        str,
        typer.Option(
            "--device-params-to",
            help="Where --device-params go: both (the surrogate's model and the chip's"
            " devices), surrogate or chip.",
        ),
    ] = "both",
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key, e.g. --set training.epochs=5."),
    ] = None,
    change_chip: Annotated[
        bool,
        typer.Option("--change-chip", help="With --resume: continue the run on another --chip."),
    ] = False,
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
        if config is not None or sets or device_params:
            raise RunFolderError(
                f"--resume {resume}: the run's own {resume / 'config.yaml'} is used;"
                " drop --config/--set/--device-params"
            )
        if out is not None and out != resume:
            raise RunFolderError(f"--resume {resume} writes into that folder; drop --out {out}")
        if not (resume / "config.yaml").is_file():
            raise RunFolderError(f"{resume}: cannot resume, config.yaml is missing")
        saved = load_config(resume / "config.yaml")
        if chip and chip != saved.chip and not change_chip:
            raise RunFolderError(
                f"--resume {resume}: the run trains on --chip {saved.chip}; --chip {chip}"
                " would change it mid-run (add --change-chip to do that on purpose)"
            )
        if chip:
            saved = dataclasses.replace(saved, chip=chip)
        if scheduler:
            saved = dataclasses.replace(
                saved, hil=dataclasses.replace(saved.hil, scheduler=scheduler)
            )
        source = saved.open_chip()
        trainer = Trainer.resume(resume, source)
        typer.echo(
            f"resuming {resume} at epoch {trainer.epoch + 1} of {trainer.config.training.epochs}"
            f" ({trainer.epoch} done, from its {CHECKPOINT_FILE})",
            err=True,
        )
    else:
        extra = [
            *([f"chip={chip}"] if chip else []),
            *([f"hil.scheduler={scheduler}"] if scheduler else []),
        ]
        devices = device_overrides(device_params or [], device_params_to)
        for note in devices.notes:
            typer.echo(f"note: {note}", err=True)
        run_config = load_config(config, [*(sets or []), *extra], devices.overrides)
        for note in inner_step_notes(device_params or [], run_config.network.n_inner):
            typer.echo(f"warning: {note}", err=True)
        run_dir = out or Path("runs") / time.strftime("train-%Y%m%d-%H%M%S", time.gmtime())
        source = run_config.open_chip()
        trainer = Trainer.create(run_config, run_dir, source)

    def on_interrupt(signum: int, frame: object) -> None:
        trainer.stop_requested = True  # in case the KeyboardInterrupt is swallowed
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = trainer.fit(stop_after=stop_after)
    except KeyboardInterrupt:
        typer.echo(interrupted_message(trainer), err=True)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        if source is not None:
            source.close()
    if as_json:
        print_json(result)
    else:
        typer.echo(summary_table(result))
