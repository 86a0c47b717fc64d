"""The trainer: Adamax on spike-count cross-entropy, with a resumable run folder.

A run folder holds ``config.yaml`` (the resolved config), ``metrics.csv`` (one row per
epoch), ``checkpoint.pt`` (the latest state: weights, optimizer, RNG states of torch,
numpy and python, metric history), ``best.pt`` (weights with the best test accuracy),
the plots and, when chip simulations failed, ``chip_errors.txt`` (the first 20 errors).
Checkpoints are written atomically (temporary file + rename) after every epoch, and the
data order of epoch ``e`` depends only on ``(seed, e)``, so a run stopped after any epoch
and resumed ends with bitwise the same weights as an uninterrupted one.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from bruno_hil.chip import Chip, Fidelity
from bruno_hil.datasets import BrailleSpec, Dataset, RandmanSpec, make_braille, make_randman
from bruno_hil.datasets.japanese_vowels import make_japanese_vowels
from bruno_hil.errors import BrunoHilError
from bruno_hil.training.config import DataConfig, RunConfig, load_config
from bruno_hil.training.network import ChipReads, Network, Pass, Records, logits

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
CHIP_ERRORS_FILE = "chip_errors.txt"


class RunFolderError(BrunoHilError):
    """A run folder is missing, incomplete, or would be overwritten."""


def build_dataset(config: DataConfig) -> Dataset:
    """The data set named by ``config``, reduced to its ``max_train``/``max_test`` subset."""
    if config.name == "braille":
        spec = BrailleSpec(
            samples_per_class=config.samples_per_class,
            n_steps=config.n_steps,
            dt_s=config.dt_s,
            noise_std=config.noise_std,
        )
        data = make_braille(spec, config.seed, config.n_tiles, config.test_fraction)
    elif config.name == "japanese_vowels":
        data = make_japanese_vowels(config.n_steps, config.dt_s, config.n_tiles, config.seed)
    else:
        rspec = RandmanSpec(
            n_classes=config.randman_classes,
            n_units=config.randman_units,
            n_steps=config.n_steps,
            dt_s=config.dt_s,
            samples_per_class=config.samples_per_class,
            manifold_dim=config.randman_manifold_dim,
            alpha=config.randman_alpha,
        )
        data = make_randman(rspec, config.seed, config.test_fraction)
    return data.subset(config.max_train, config.max_test, config.seed + 3)


def forward(network: Network, inputs: torch.Tensor, chip: Chip | None) -> Pass:
    """One forward pass of ``inputs`` [T, B, n_inputs] through ``network``, with the layers
    that ``chip`` holds on the chip (None: all in torch)."""
    return network(inputs, chip)


class LayerActivity:
    """Firing of each neuron layer over the test set: mean spikes per neuron and sample,
    and the fraction of neurons that never fired (silent) or fired in more than 90 % of
    the steps (saturated)."""

    def __init__(self) -> None:
        self.counts: dict[str, list[torch.Tensor]] = {}
        self.steps = 0

    def add(self, records: Records) -> None:
        """Add one batch's records ([T, B, N] spikes per layer)."""
        for name, rec in records.items():
            self.counts.setdefault(name, []).append(rec["spikes"].sum(0))
            self.steps = rec["spikes"].shape[0]

    def as_dict(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, parts in self.counts.items():
            counts = torch.cat(parts)  # [samples, N]
            out[f"{name}_spikes_per_neuron"] = float(counts.mean())
            out[f"{name}_silent_frac"] = float((counts.sum(0) == 0).float().mean())
            saturated = (counts > 0.9 * self.steps).float().mean(0) > 0.5
            out[f"{name}_saturated_frac"] = float(saturated.float().mean())
        return out


class BatchResult(NamedTuple):
    """A batch's mean cross-entropy (of the samples the chip could run), its number of
    correct predictions (ties go to the lowest class index), the layer records and what
    the chip recorded."""

    loss: torch.Tensor
    correct: int
    records: Records
    chip: ChipReads


def batch_loss(
    network: Network, inputs: torch.Tensor, labels: torch.Tensor, chip: Chip | None
) -> BatchResult:
    """Forward ``inputs`` and score them against ``labels`` [B]; samples the chip could not
    run are left out."""
    out, records, reads = forward(network, inputs, chip)
    scores = logits(network.config, out)
    failed = reads.failed()
    keep = torch.ones(len(labels), dtype=torch.bool)
    if failed is not None:
        keep = ~torch.from_numpy(failed)
    if not keep.any():
        return BatchResult(scores.sum() * 0.0, 0, records, reads)
    loss = F.cross_entropy(scores[keep], labels[keep])
    correct = int((scores[keep].argmax(dim=1) == labels[keep]).sum())
    return BatchResult(loss, correct, records, reads)


def tally_fidelity(tally: Fidelity, reads: ChipReads, surrogate: Records) -> None:
    """Add one batch to ``tally``: each chip neuron layer's recording against the same layer
    of the surrogate network's forward pass on the same samples and weights, and each chip
    crossbar's currents against the torch synapse's for the same inputs."""
    for name, rec in reads.neurons.items():
        model = surrogate[name]
        tally.add_neurons(
            (rec.v_V, rec.p_C_per_m2, rec.spikes),
            tuple(model[key].cpu().numpy() for key in ("v_V", "p_C_per_m2", "spikes")),
            ~rec.failed,
        )
    for crossbar, model_currents in reads.crossbars.values():
        tally.add_currents(crossbar.currents, model_currents, ~crossbar.failed)


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


class Trainer:
    """Trains a :class:`Network` on a data set into a run folder.

    Build a fresh run with ``Trainer(config, run_dir)`` or continue one with
    :meth:`Trainer.resume`; then :meth:`fit`.
    """

    def __init__(
        self,
        config: RunConfig,
        run_dir: Path,
        chip: Chip | None = None,
        source: str = "config",
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.chip = chip
        """The chip; it takes over the forward pass after ``hil.surrogate_epochs``."""
        random.seed(config.seed)
        np.random.seed(config.seed)
        torch.manual_seed(config.seed)
        self.data = build_dataset(config.data)
        self.network = Network(
            config.network, self.data.n_inputs, self.data.n_classes, config.data.dt_s, source
        )
        self.optimizer = torch.optim.Adamax(self.network.parameters(), lr=config.training.lr)
        self.epoch = 0
        self.history: list[dict[str, float]] = []

    @classmethod
    def create(cls, config: RunConfig, run_dir: Path, chip: Chip | None = None) -> Trainer:
        """A fresh run in ``run_dir`` (created); refuses a folder that holds a checkpoint."""
        run_dir = Path(run_dir)
        if (run_dir / CHECKPOINT_FILE).exists():
            raise RunFolderError(
                f"{run_dir}: already holds a run ({CHECKPOINT_FILE}); continue it with"
                f" --resume {run_dir} or choose another --out"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / CONFIG_FILE)
        return cls(config, run_dir, chip, source=str(run_dir / CONFIG_FILE))

    @classmethod
    def resume(cls, run_dir: Path, chip: Chip | None = None) -> Trainer:
        """Continue the run in ``run_dir`` from its last checkpoint (its saved config)."""
        run_dir = Path(run_dir)
        for name in (CONFIG_FILE, CHECKPOINT_FILE):
            if not (run_dir / name).is_file():
                raise RunFolderError(f"{run_dir}: cannot resume, {name} is missing")
        config = load_config(run_dir / CONFIG_FILE)
        trainer = cls(config, run_dir, chip, source=str(run_dir / CONFIG_FILE))
        state = torch.load(run_dir / CHECKPOINT_FILE, weights_only=False)
        trainer.network.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.epoch = int(state["epoch"])
        trainer.history = list(state["history"])
        _set_rng_state(state["rng"])
        return trainer

    # -- one epoch -------------------------------------------------------------------------
    def _order(self, epoch: int) -> np.ndarray:
        """Shuffled training order of ``epoch``, a function of (seed, epoch) only."""
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data.y_train), generator=gen).numpy()

    def chip_for(self, epoch: int) -> Chip | None:
        """The fine source of ``epoch``: the surrogate first, then the chip."""
        return self.chip if epoch >= self.config.hil.surrogate_epochs else None

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        """One pass over the training set: mean loss and accuracy."""
        self.network.train()
        order = self._order(epoch)
        chip = self.chip_for(epoch)
        if chip is not None and self.config.hil.samples_per_epoch is not None:
            order = order[: self.config.hil.samples_per_epoch]
        size = self.config.training.batch_size
        total_loss, correct = 0.0, 0
        batches = range(0, len(order), size)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{self.config.training.epochs}",
            disable=not self.config.training.progress,
            leave=False,
        )
        for k, start in enumerate(bar):
            inputs, labels = self.data.batch("train", order[start : start + size])
            loss, n_ok, _, _ = batch_loss(self.network, inputs, labels, chip)
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.training.lr_at(epoch + k / len(batches))
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if chip is not None:
                chip.weights_updated()
            total_loss += loss.item() * len(labels)
            correct += n_ok
            bar.set_postfix(loss=f"{loss.item():.3f}")
        return total_loss / len(order), correct / len(order)

    @torch.no_grad()
    def evaluate(self, chip: Chip | None = None) -> dict[str, float]:
        """Loss and accuracy on the test set with ``chip`` running its layers; with a chip
        also the surrogate's accuracy on the same inputs and weights and the
        chip-vs-surrogate fidelity (prediction agreement, output spike-count error, and
        :func:`tally_fidelity` of every chip layer)."""
        self.network.eval()
        if chip is not None:
            chip.weights_updated(force=True)
        fidelity = Fidelity()
        n = len(self.data.y_test)
        size = self.config.training.batch_size
        total_loss, correct, agree, count_err, failed = 0.0, 0, 0, 0.0, 0
        surrogate_correct = 0
        activity = LayerActivity()
        for start in range(0, n, size):
            inputs, labels = self.data.batch("test", np.arange(start, min(start + size, n)))
            loss, n_ok, records, reads = batch_loss(self.network, inputs, labels, chip)
            total_loss += loss.item() * len(labels)
            correct += n_ok
            activity.add(records)
            if chip is not None:
                _, s_ok, s_records, _ = batch_loss(self.network, inputs, labels, None)
                surrogate_correct += s_ok
                counts = records["output"]["spikes"].sum(0)
                s_counts = s_records["output"]["spikes"].sum(0)
                agree += int((counts.argmax(1) == s_counts.argmax(1)).sum())
                count_err += float((counts - s_counts).abs().mean()) * len(labels)
                mask = reads.failed()
                failed += 0 if mask is None else int(mask.sum())
                tally_fidelity(fidelity, reads, s_records)
        result = {"test_loss": total_loss / n, "test_acc": correct / n, **activity.as_dict()}
        if chip is not None:
            result.update(
                surrogate_test_acc=surrogate_correct / n,
                chip_surrogate_agreement=agree / n,
                spike_count_mae=count_err / n,
                chip_failed_test_samples=failed,
                **fidelity.as_dict(),
            )
        return result

    # -- the run ---------------------------------------------------------------------------
    def _checkpoint(self) -> None:
        _atomic_save(
            {
                "epoch": self.epoch,
                "model": self.network.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng": _rng_state(),
                "history": self.history,
                "config": self.config.as_dict(),
            },
            self.run_dir / CHECKPOINT_FILE,
        )
        tmp = self.run_dir / (METRICS_FILE + ".tmp")
        pd.DataFrame(self.history).to_csv(tmp, index=False)
        os.replace(tmp, self.run_dir / METRICS_FILE)

    def _write_chip_errors(self, chip: Chip) -> None:
        """The chip's first simulation errors (one per line), if any, in the run folder."""
        if chip.stats.errors:
            tmp = self.run_dir / (CHIP_ERRORS_FILE + ".tmp")
            tmp.write_text("\n".join(chip.stats.errors) + "\n")
            os.replace(tmp, self.run_dir / CHIP_ERRORS_FILE)

    def fit(self, stop_after: int | None = None) -> dict[str, Any]:
        """Train up to ``training.epochs`` (or ``stop_after`` more epochs in this call),
        checkpointing after each; plots and returns the final figures when done."""
        cfg = self.config.training
        last = cfg.epochs if stop_after is None else min(cfg.epochs, self.epoch + stop_after)
        best = max((row["test_acc"] for row in self.history if "test_acc" in row), default=-1.0)
        while self.epoch < last:
            t0 = time.perf_counter()
            train_loss, train_acc = self.train_epoch(self.epoch)
            train_time = time.perf_counter() - t0
            chip = self.chip_for(self.epoch)
            self.epoch += 1
            row = {"epoch": self.epoch, "train_loss": train_loss, "train_acc": train_acc}
            row["on_chip"] = chip is not None
            if self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs:
                row.update(self.evaluate(chip))
                if row["test_acc"] > best:
                    best = row["test_acc"]
                    _atomic_save(self.network.state_dict(), self.run_dir / BEST_FILE)
            row["epoch_time_s"] = train_time
            if chip is not None:
                row.update(chip.stats.as_dict())
                self._write_chip_errors(chip)
            self.history.append(row)
            self._checkpoint()
        if self.epoch >= cfg.epochs:
            self.plot()
        return self.summary()

    def plot(self) -> None:
        """Write the learning curves, a spike raster and neuron traces (PNG)."""
        from bruno_hil.training import plots

        plots.plot_curves(pd.DataFrame(self.history), self.run_dir / "curves.png")
        with torch.no_grad():
            self.network.eval()
            n = min(4, len(self.data.y_test))
            inputs, labels = self.data.batch("test", np.arange(n))
            _, records, _ = forward(self.network, inputs, self.chip_for(self.epoch - 1))
        plots.plot_raster(inputs, records, int(labels[0]), self.run_dir / "raster.png")
        plots.plot_traces(records, self.data.dt_s, self.run_dir / "traces.png")

    def summary(self) -> dict[str, Any]:
        """The final figures of the run so far."""
        tested = [row for row in self.history if "test_acc" in row]
        last = self.history[-1] if self.history else {}
        return {
            "run_dir": str(self.run_dir),
            "epochs_done": self.epoch,
            "epochs": self.config.training.epochs,
            "complete": self.epoch >= self.config.training.epochs,
            "neuron": self.config.network.neuron,
            "mode": self.config.network.mode,
            "bits": self.config.network.bits,
            "n_train": len(self.data.y_train),
            "n_test": len(self.data.y_test),
            "chance": 1.0 / self.data.n_classes,
            "train_loss": last.get("train_loss"),
            "train_acc": last.get("train_acc"),
            "test_loss": tested[-1]["test_loss"] if tested else None,
            "test_acc": tested[-1]["test_acc"] if tested else None,
            "best_test_acc": max((r["test_acc"] for r in tested), default=None),
            "train_time_s": sum(row["epoch_time_s"] for row in self.history),
            **{
                key: last[key]
                for key in (
                    "surrogate_test_acc",
                    "chip_surrogate_agreement",
                    "spike_count_mae",
                    "chip_failed_test_samples",
                    "fidelity_v_rmse_V",
                    "fidelity_v_median_abs_V",
                    "fidelity_p_rmse_C_per_m2",
                    "fidelity_p_median_abs_C_per_m2",
                    "fidelity_neuron_count_mae",
                    "fidelity_crossbar_rel_err",
                )
                if key in last
            },
            **({"chip": self.chip.stats.as_dict()} if self.chip is not None else {}),
        }
