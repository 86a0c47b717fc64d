"""JapaneseVowels: a real, published multivariate time-series benchmark, read offline.

Nine male Japanese speakers said the vowels /ae/; each utterance is a series of 7-29
frames of 12 LPC cepstrum coefficients, and the task is to name the speaker (Kudo,
Toyama & Shimbo, Pattern Recognition Letters 20, 1999; UCI and UEA archives). The
published split is kept: 270 training utterances (30 per speaker) and 370 test
utterances (24-88 per speaker). The files come inside the ``sktime`` wheel (the optional
extra ``bruno_hil[realdata]``), read by bruno_hil's own ``.ts`` reader; nothing is
downloaded.

Each utterance is stretched linearly over the ``n_steps`` network steps (of ``dt_s``
each), so every sample drives the network for the whole window whatever its length. The
network sees it through :class:`CoefficientEncoder`: each coefficient standardised with
the mean and std of the *training* frames, split into a positive and a negative row (a
crossbar row drive is non-negative), and those 24 rows tiled with a random gain and
threshold per copy like the Braille taxels.
"""

from __future__ import annotations

import numpy as np

from bruno_hil.datasets import Dataset
from bruno_hil.datasets.braille import TaxelEncoder
from bruno_hil.datasets.packaged import packaged_path
from bruno_hil.datasets.ts_format import TsData, read_ts

PACKAGE = "sktime"
"""The package whose wheel carries the data files."""
EXTRA = "realdata"
"""bruno_hil's optional extra that installs :data:`PACKAGE`."""
FOLDER = "datasets/data/JapaneseVowels"
N_CLASSES = 9
N_COEFFICIENTS = 12


def read_japanese_vowels() -> tuple[TsData, TsData]:
    """The published training and test splits, as read from the installed files."""
    folder = packaged_path(PACKAGE, FOLDER, EXTRA, "the JapaneseVowels data set")
    return read_ts(folder / "JapaneseVowels_TRAIN.ts"), read_ts(folder / "JapaneseVowels_TEST.ts")


def stretch(series: np.ndarray, n_steps: int) -> np.ndarray:
    """Linear interpolation of ``series`` [length, channels] onto ``n_steps`` equally
    spaced points from its first to its last frame -> [n_steps, channels]."""
    length = len(series)
    if length == 1:
        return np.repeat(series, n_steps, axis=0)
    at = np.linspace(0.0, length - 1.0, n_steps)
    frames = np.arange(length, dtype=np.float64)
    return np.stack([np.interp(at, frames, channel) for channel in series.T], axis=1)


class CoefficientEncoder:
    """Signed coefficients [..., n_channels] -> non-negative row drives [..., n_outputs].

    ``z = (x - mean) / std`` with the training set's per-channel ``mean`` and ``std``,
    clipped to ``+-z_clip``; the rows ``max(0, z) / z_unit`` and ``max(0, -z) / z_unit``
    (one unit of drive = ``z_unit`` standard deviations) are tiled ``n_tiles`` times by a
    :class:`~bruno_hil.datasets.braille.TaxelEncoder` of ``seed``:
    ``n_outputs = 2 * n_channels * n_tiles``."""

    def __init__(
        self,
        mean: np.ndarray,
        std: np.ndarray,
        n_tiles: int,
        seed: int,
        z_unit: float = 2.0,
        z_clip: float = 3.0,
    ) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.z_unit, self.z_clip = z_unit, z_clip
        self.tiles = TaxelEncoder(2 * len(self.mean), n_tiles, seed, bias_range=(-0.5, 0.0))
        self.n_outputs = self.tiles.n_outputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = np.clip((x - self.mean) / self.std, -self.z_clip, self.z_clip) / self.z_unit
        rows = np.concatenate([np.maximum(z, 0.0), np.maximum(-z, 0.0)], axis=-1)
        return self.tiles(rows.astype(np.float32))


def train_statistics(train: TsData) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over every frame of every training sample."""
    frames = np.concatenate(train.series)
    return frames.mean(0), frames.std(0)


def make_japanese_vowels(
    n_steps: int = 100, dt_s: float = 1e-3, n_tiles: int = 5, seed: int = 0
) -> Dataset:
    """JapaneseVowels: 9 classes, ``24 * n_tiles`` inputs, ``n_steps`` steps of ``dt_s``
    [s]; the published 270/370 split. ``seed`` draws the encoder's gains and thresholds."""
    train, test = read_japanese_vowels()
    mean, std = train_statistics(train)
    encoder = CoefficientEncoder(mean, std, n_tiles, seed + 2)

    def stack(data: TsData) -> np.ndarray:
        return np.stack([stretch(s, n_steps) for s in data.series]).astype(np.float32)

    return Dataset(
        "japanese_vowels",
        stack(train),
        train.labels,
        stack(test),
        test.labels,
        N_CLASSES,
        encoder.n_outputs,
        n_steps,
        dt_s,
        encoder,
    )
