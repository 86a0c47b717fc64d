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
import pickle
import random
import sys
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from bruno_hil.chip import Chip, Fidelity
from bruno_hil.datasets import BrailleSpec, Dataset, RandmanSpec, make_braille, make_randman
from bruno_hil.datasets.baselines import baseline_accuracies
from bruno_hil.datasets.japanese_vowels import make_japanese_vowels
from bruno_hil.errors import BrunoHilError
from bruno_hil.folders import writable_folder
from bruno_hil.training.config import DataConfig, RunConfig, load_config
from bruno_hil.training.network import ChipReads, Network, Pass, Records, logits
from bruno_hil.training.report import chip_phase_message, deployed_line, epoch_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
CHIP_ERRORS_FILE = "chip_errors.txt"
PLOTTED_SAMPLES = (16, 4)
"""Test samples the plots choose their sample from (surrogate, chip: each costs a run)."""
DEPLOYED_FIGURES = ("test_acc", "surrogate_test_acc", "chip_surrogate_agreement")
"""What the deployed test (the surrogate-trained weights on the chip) records."""
DEPLOYED_KEY = "deployed_test_acc"


class RunFolderError(BrunoHilError):
    """A run folder is missing, incomplete, or would be overwritten."""


class ChipFailedError(BrunoHilError, RuntimeError):
    """Every chip simulation of an epoch's training or test pass failed: there is no loss
    to report (the errors are in ``chip_errors.txt``)."""


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
    correct predictions (a sample counts as correct only if its label has the single
    highest score: a tie, e.g. all outputs silent, is wrong), the layer records and what
    the chip recorded."""

    loss: torch.Tensor
    correct: int
    records: Records
    chip: ChipReads


def unique_argmax_correct(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B] bool: the label's score [B, C] is strictly higher than every other class's."""
    own = scores.gather(1, labels[:, None])
    others = scores.scatter(1, labels[:, None], float("-inf"))
    return own[:, 0] > others.max(dim=1).values


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
    correct = int(unique_argmax_correct(scores[keep], labels[keep]).sum())
    return BatchResult(loss, correct, records, reads)


def _ran(reads: ChipReads, batch: int) -> int:
    """How many of a batch's ``batch`` samples the chip ran (all, without a chip)."""
    failed = reads.failed()
    return batch if failed is None else batch - int(failed.sum())


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
    """The RNG states of torch, numpy and python as tensors and plain numbers, so that a
    checkpoint loads with ``torch.load(..., weights_only=True)`` (no pickled objects)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["kind"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["internal"]), py["gauss_next"]))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at ``path``, loaded with ``weights_only=True``: tensors, numbers,
    strings and containers only, so a crafted file cannot run code. A file that needs
    more (an old or foreign checkpoint) is refused with a :class:`RunFolderError`."""
    try:
        state = torch.load(path, weights_only=True)
    except pickle.UnpicklingError as ex:
        first = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
        raise RunFolderError(
            f"{path}: not a checkpoint this version wrote (it holds objects other than"
            f" tensors and numbers; refused without running them): {first}"
        ) from None
    except (RuntimeError, EOFError, OSError) as ex:
        raise RunFolderError(f"{path}: cannot read the checkpoint: {ex}") from None
    if not isinstance(state, dict) or not {"epoch", "model", "optimizer", "rng"} <= set(state):
        raise RunFolderError(f"{path}: not a checkpoint (epoch/model/optimizer/rng missing)")
    return state


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
        """Epochs done."""
        self.saved_epoch = 0
        """Epochs done as of the checkpoint on disk."""
        self.stop_requested = False
        """Set (e.g. by a SIGINT handler) to stop at the next batch with KeyboardInterrupt:
        a Ctrl-C that Python swallows (raised inside a ``__del__``) still stops the run."""
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
        writable_folder(run_dir, "--out")
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
        state = load_checkpoint(run_dir / CHECKPOINT_FILE)
        trainer.network.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.epoch = trainer.saved_epoch = int(state["epoch"])
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
        ran = 0
        self._show_chip_progress(chip, bar)
        for k, start in enumerate(bar):
            self._check_stop()
            inputs, labels = self.data.batch("train", order[start : start + size])
            loss, n_ok, _, reads = batch_loss(self.network, inputs, labels, chip)
            ran += _ran(reads, len(labels))
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
        self._check_ran(chip, ran, f"epoch {epoch + 1}'s training pass")
        self._show_chip_progress(chip, None)
        return total_loss / len(order), correct / len(order)

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt

    def _show_chip_progress(self, chip: Chip | None, bar: tqdm | None) -> None:
        """Let ``chip`` report its samples on ``bar`` (a chip batch takes minutes; None:
        stop reporting)."""
        if chip is not None and self.config.training.progress:
            chip.progress = (
                None
                if bar is None
                else lambda layer, done, total: bar.set_postfix_str(
                    f"chip {layer}: sample {done}/{total}"
                )
            )

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
        batches = tqdm(
            range(0, n, size),
            desc=f"test on the {chip.name} chip" if chip is not None else "test",
            disable=chip is None or not self.config.training.progress,
            leave=False,
        )
        self._show_chip_progress(chip, batches)
        for start in batches:
            self._check_stop()
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
                failed += len(labels) - _ran(reads, len(labels))
                tally_fidelity(fidelity, reads, s_records)
        self._check_ran(chip, n - failed, "the test pass")
        self._show_chip_progress(chip, None)
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
        self.saved_epoch = self.epoch
        tmp = self.run_dir / (METRICS_FILE + ".tmp")
        pd.DataFrame(self.history).to_csv(tmp, index=False)
        os.replace(tmp, self.run_dir / METRICS_FILE)

    def _check_ran(self, chip: Chip | None, ran: int, what: str) -> None:
        """Refuse a pass in which ``chip`` ran no sample (its loss would read 0.0)."""
        if chip is None or ran > 0:
            return
        self._write_chip_errors(chip)
        first = chip.stats.errors[0] if chip.stats.errors else "no error recorded"
        raise ChipFailedError(
            f"every chip simulation of {what} failed; the errors are in"
            f" {self.run_dir / CHIP_ERRORS_FILE}, the first: {first}"
        )

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
        first = self.epoch
        while self.epoch < last:
            chip = self.chip_for(self.epoch)
            if chip is not None and (self.epoch == first or self.chip_for(self.epoch - 1) is None):
                self._say(chip_phase_message(self.config, chip, self.epoch + 1))
            if chip is not None and self._deployed_test_due():
                self._deployed_test(chip)
            t0 = time.perf_counter()
            train_loss, train_acc = self.train_epoch(self.epoch)
            train_time = time.perf_counter() - t0
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
            self._say(epoch_line(row, cfg.epochs))
        if self.epoch >= cfg.epochs:
            self.plot()
        return self.summary()

    def _deployed_test_due(self) -> bool:
        """Whether the chip phase starts now and the surrogate-trained weights have not been
        tested on the chip yet (``hil.deployed_test``; a resumed run has its result)."""
        return (
            self.config.hil.deployed_test
            and self.epoch == self.config.hil.surrogate_epochs > 0
            and bool(self.history)
            and DEPLOYED_KEY not in self.history[-1]
        )

    def _deployed_test(self, chip: Chip) -> None:
        """Test the surrogate-trained weights on the chip before any step in the loop (the
        deployment baseline of the in-the-loop epochs); recorded in the last surrogate
        epoch's metrics row as ``deployed_*`` and checkpointed."""
        result = self.evaluate(chip)
        self.history[-1].update({f"deployed_{key}": result[key] for key in DEPLOYED_FIGURES})
        self._checkpoint()
        self._say(deployed_line(self.history[-1], chip.name))

    def _say(self, line: str) -> None:
        """A line on stderr, above the progress bars if there are any (a run without
        ``training.progress`` still says how each epoch went)."""
        tqdm.write(line, file=sys.stderr)
        sys.stderr.flush()  # before what comes on stdout after it

    def plot(self) -> dict[str, Figure]:
        """Write the learning curves, a spike raster and neuron traces (PNG) of one
        representative test sample (correct, spiking, among the first few; on the chip
        when the run ended there); returns the figures by file name."""
        from bruno_hil.training import plots

        chip = self.chip_for(self.epoch - 1)
        with torch.no_grad():
            self.network.eval()
            n = min(PLOTTED_SAMPLES[chip is not None], len(self.data.y_test))
            inputs, labels = self.data.batch("test", np.arange(n))
            out, records, _ = forward(self.network, inputs, chip)
        scores = logits(self.network.config, out)
        k = plots.representative_sample(scores, labels, out)
        label, answer = int(labels[k]), plots.answer(scores[k])
        layers = {name: getattr(self.network, name).params for name in records}
        figures = {
            "curves.png": plots.curves_figure(pd.DataFrame(self.history), 1 / self.data.n_classes),
            "raster.png": plots.raster_figure(inputs, records, k, label, answer, self.data.dt_s),
            "traces.png": plots.traces_figure(records, layers, k, self.data.dt_s),
        }
        for name, fig in figures.items():
            plots.save(fig, self.run_dir / name)
        return figures

    @cached_property
    def baselines(self) -> dict[str, float]:
        """Test accuracies of simple classifiers on this run's split (the bar the network
        must clear, :func:`~bruno_hil.datasets.baselines.baseline_accuracies`)."""
        return baseline_accuracies(self.data)

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
            "baselines": self.baselines,
            "train_loss": last.get("train_loss"),
            "train_acc": last.get("train_acc"),
            "test_loss": tested[-1]["test_loss"] if tested else None,
            "test_acc": tested[-1]["test_acc"] if tested else None,
            "best_test_acc": max((r["test_acc"] for r in tested), default=None),
            "train_time_s": sum(row["epoch_time_s"] for row in self.history),
            **next(
                (
                    {f"deployed_{k}": row[f"deployed_{k}"] for k in DEPLOYED_FIGURES}
                    for row in self.history
                    if DEPLOYED_KEY in row
                ),
                {},
            ),
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
