"""Tests of initstudy.data: shapes, determinism, standardization, file parsing, errors.

The Keras-cache datasets are tested on tiny fake files of the real formats written into
tmp_path; nothing here needs the real files or the network.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import math
import os
import pickle
import random
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from initstudy.core import code
from initstudy.data import datasets
from initstudy.data.datasets import DATASETS, Dataset, DatasetError, load
from initstudy.data.generated import (
    SHAPES_CLASS_NAMES,
    digits_splits,
    make_shapes,
    mnist1d_splits,
    shapes_splits,
)
from initstudy.data.keras_cache import read_cifar_batch, read_idx_gz
from keras_cache import fake_images, write_cifar_batch, write_idx_gz

GENERATED = {
    # name: (input_shape, num_classes, original training examples, test examples)
    "mnist1d": ((1, 40, 1), 10, 4000, 1000),
    "digits": ((8, 8, 1), 10, 1438, 359),
    "shapes": ((16, 16, 1), 9, 4000, 1000),
}


def _arrays(d: Dataset) -> dict[str, np.ndarray]:
    return {k: getattr(d, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}


def _standardized_by_hand(x_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """The documented rule, written independently: per-channel mean/std of x_train."""
    axes = tuple(range(x_train.ndim - 1))
    mean = x_train.astype(np.float64).mean(axis=axes)
    std = x_train.astype(np.float64).std(axis=axes)
    return [(x - mean) / std for x in (x_train, *others)]


def _documented_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation indices as load's docstring defines them."""
    permutation = np.random.default_rng(seed).permutation(n)
    n_val = round(fraction * n)
    return np.sort(permutation[n_val:]), np.sort(permutation[:n_val])


# --------------------------------------------------------------------------- generated datasets


def test_registry_names() -> None:
    assert set(DATASETS) == {"mnist1d", "digits", "shapes", "mnist", "fashion_mnist", "cifar10"}


def test_sources_never_import_the_registry() -> None:
    """Imports go downward: the registry imports its sources, never the other way round."""
    for module in ("initstudy.data.splits", "initstudy.data.generated", "initstudy.data.keras_cache"):
        assert "initstudy.data.datasets" not in code.closure([module]), module


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_dataset_shapes_dtypes_and_classes(name: str) -> None:
    input_shape, num_classes, n_train, n_test = GENERATED[name]
    d = load(name, validation_split=0.1, seed=0)
    n_val = round(0.1 * n_train)
    assert (d.name, d.input_shape, d.num_classes) == (name, input_shape, num_classes)
    for part, n in (("train", n_train - n_val), ("val", n_val), ("test", n_test)):
        x, y = getattr(d, f"x_{part}"), getattr(d, f"y_{part}")
        assert x.shape == (n, *input_shape) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int32
        assert np.isfinite(x).all()
    assert set(np.unique(d.y_train)) == set(range(num_classes))
    assert set(np.unique(d.y_test)) == set(range(num_classes))


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_same_arguments_give_bitwise_identical_arrays(name: str) -> None:
    first, second = load(name, validation_split=0.2, seed=7), load(
        name, validation_split=0.2, seed=7
    )
    for key, array in _arrays(first).items():
        other = _arrays(second)[key]
        assert array.dtype == other.dtype and array.tobytes() == other.tobytes(), key


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_seed_changes_the_validation_split_but_not_the_test_set(name: str) -> None:
    a, b = load(name, validation_split=0.2, seed=1), load(name, validation_split=0.2, seed=2)
    assert len(a.y_val) == len(b.y_val)
    assert not np.array_equal(a.x_val, b.x_val)
    # Same test examples in the same order; only the train-split statistics applied
    # to them differ, so each is the other up to a per-channel affine map.
    np.testing.assert_array_equal(a.y_test, b.y_test)
    z = [(x - x.mean()) / x.std() for x in (a.x_test, b.x_test)]
    np.testing.assert_allclose(z[0], z[1], atol=1e-4)
    # Without a validation split the seed changes nothing at all.
    c, d = load(name, validation_split=0.0, seed=1), load(name, validation_split=0.0, seed=2)
    for key, array in _arrays(c).items():
        np.testing.assert_array_equal(array, _arrays(d)[key], err_msg=key)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_training_split_is_standardized_per_channel(name: str) -> None:
    d = load(name, validation_split=0.25, seed=3)
    axes = tuple(range(d.x_train.ndim - 1))
    np.testing.assert_allclose(d.x_train.mean(axis=axes, dtype=np.float64), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=axes, dtype=np.float64), 1.0, atol=1e-5)


def test_zero_validation_split_gives_empty_arrays_of_the_right_shape() -> None:
    d = load("digits", validation_split=0.0, seed=0)
    assert d.x_val.shape == (0, 8, 8, 1) and d.x_val.dtype == np.float32
    assert d.y_val.shape == (0,) and d.y_val.dtype == np.int32
    assert len(d.x_train) == 1438


def test_loaded_arrays_are_independent_of_the_cache() -> None:
    d = load("shapes", validation_split=0.1, seed=0)
    d.x_train[:] = 0.0
    d.y_test[:] = 0
    again = load("shapes", validation_split=0.1, seed=0)
    assert again.x_train.std() > 0.5 and len(np.unique(again.y_test)) == 9


def test_mnist1d_keeps_global_rng_state_and_writes_nothing(tmp_path, tmp_path_factory, monkeypatch) -> None:
    """make_dataset reseeds numpy's and random's global RNGs; load must undo that. It
    writes nothing into the working folder (its kept copy goes to the data folder)."""
    monkeypatch.chdir(tmp_path)
    mnist1d_splits.cache_clear()  # force a real generation in this test

    def draws() -> tuple[list[float], float]:
        return np.random.random(3).tolist(), random.random()

    np.random.seed(12345)
    random.seed(12345)
    expected = draws()
    np.random.seed(12345)
    random.seed(12345)
    d = load("mnist1d", validation_split=0.1, seed=0, data_dir=tmp_path_factory.mktemp("fresh-data-dir"))
    assert draws() == expected
    assert d.x_train.shape == (3600, 1, 40, 1)
    assert list(tmp_path.iterdir()) == []


def test_mnist1d_is_kept_in_the_data_folder_and_read_back_bit_for_bit(tmp_path) -> None:
    data_dir = tmp_path / "data"
    generated = load("mnist1d", validation_split=0.1, seed=3, data_dir=data_dir)
    (kept,) = data_dir.glob("initstudy-mnist1d-*.npz")
    assert kept.name == f"initstudy-mnist1d-mnist1d-{importlib.metadata.version('mnist1d')}.npz"

    def must_not_generate():
        raise AssertionError("generated again although the kept file is readable")

    read_back = datasets.load_or_generate(kept, must_not_generate)
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(read_back, mnist1d_splits()))
    assert not read_back.x_train.flags.writeable

    kept.write_bytes(b"not an npz")  # a damaged file is generated anew and replaced
    again = datasets.load_or_generate(kept, mnist1d_splits)
    assert np.array_equal(again.x_train, read_back.x_train)
    assert datasets.load_or_generate(kept, must_not_generate).y_test.tolist() == read_back.y_test.tolist()
    assert generated.x_train.shape == (3600, 1, 40, 1)


def test_generated_datasets_write_no_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    digits_splits.cache_clear()
    shapes_splits.cache_clear()
    for name in ("digits", "shapes"):
        load(name, validation_split=0.1, seed=0)
    assert list(tmp_path.iterdir()) == []


def test_shapes_generator_is_seeded_balanced_and_in_range() -> None:
    x, y = make_shapes(90, seed=5)
    again, y_again = make_shapes(90, seed=5)
    other, _ = make_shapes(90, seed=6)
    assert x.shape == (90, 16, 16, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(x, other)
    assert np.bincount(y).tolist() == [10] * 9
    assert x.min() == 0.0 and x.max() <= 1.0
    # Two-shape images cover more of the canvas than one-shape images.
    ink = (x > 0).mean(axis=(1, 2, 3))
    assert ink[y >= 3].mean() > ink[y < 3].mean()
    assert SHAPES_CLASS_NAMES[0] == "triangle"
    assert SHAPES_CLASS_NAMES[-1] == "ellipse+ellipse"


def test_shapes_are_learnable_by_a_small_mlp() -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    d = load("shapes", validation_split=0.0, seed=0)
    model = MLPClassifier((64,), max_iter=100, random_state=0)
    # One BLAS thread: on a busy machine more threads make this 10x slower, not faster.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(d.x_train[:1500].reshape(1500, -1), d.y_train[:1500])
    accuracy = model.score(d.x_test.reshape(len(d.x_test), -1), d.y_test)
    assert accuracy > 2.5 / d.num_classes, accuracy  # chance is 1/9


# --------------------------------------------------------------------------- argument errors


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'mnits'") as info:
        load("mnits", validation_split=0.1, seed=0)
    for name in DATASETS:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan, "0.1", True, None])
def test_bad_validation_split_is_refused(bad) -> None:
    with pytest.raises(
        DatasetError, match=r"digits: validation_split=.*expected a number in \[0, 1\)"
    ):
        load("digits", validation_split=bad, seed=0)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_seed_is_refused(bad) -> None:
    with pytest.raises(DatasetError, match="digits: seed=.*expected a non-negative integer"):
        load("digits", validation_split=0.1, seed=bad)


def test_validation_split_that_leaves_no_training_example_is_refused() -> None:
    with pytest.raises(DatasetError, match="leaves no training example out of 1438"):
        load("digits", validation_split=0.9999, seed=0)


# --------------------------------------------------------------------------- Keras cache files


def test_mnist_npz_is_parsed_and_standardized_with_train_statistics(tmp_path) -> None:
    rng = np.random.default_rng(0)
    # Test images are much brighter than training ones: standardizing with training
    # statistics must leave them far from mean 0.
    raw = {
        "x_train": fake_images(rng, 40, (28, 28), 0, 128),
        "y_train": rng.integers(0, 10, 40).astype(np.uint8),
        "x_test": fake_images(rng, 10, (28, 28), 128, 256),
        "y_test": rng.integers(0, 10, 10).astype(np.uint8),
    }
    np.savez(tmp_path / "mnist.npz", **raw)
    d = load("mnist", validation_split=0.25, seed=4, data_dir=str(tmp_path))
    train, val = _documented_split(40, 0.25, 4)
    x = raw["x_train"][..., np.newaxis]
    expected = _standardized_by_hand(x[train], x[val], raw["x_test"][..., np.newaxis])
    for got, want in zip((d.x_train, d.x_val, d.x_test), expected):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(d.y_train, raw["y_train"][train])
    np.testing.assert_array_equal(d.y_val, raw["y_train"][val])
    np.testing.assert_array_equal(d.y_test, raw["y_test"])
    assert d.x_test.mean() > 1.0  # held-out statistics are not forced to 0 / 1


def test_mnist_npz_with_missing_keys_or_garbage_is_refused(tmp_path) -> None:
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match=r"mnist: .*mnist.npz holds arrays \['x_train'\]"):
        load("mnist", validation_split=0.0, seed=0, data_dir=tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"not an archive")
    with pytest.raises(DatasetError, match="mnist: cannot read .*mnist.npz"):
        load("mnist", validation_split=0.0, seed=0, data_dir=tmp_path)


def test_mnist_with_wrong_image_shape_is_refused(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=fake_images(rng, 4, (27, 28), 0, 256),
        y_train=np.arange(4, dtype=np.uint8),
        x_test=fake_images(rng, 2, (27, 28), 0, 256),
        y_test=np.arange(2, dtype=np.uint8),
    )
    with pytest.raises(
        DatasetError,
        match=r"mnist: x_train has examples of shape \(27, 28, 1\), " r"expected \(28, 28, 1\)",
    ):
        load("mnist", validation_split=0.0, seed=0, data_dir=tmp_path)


def test_fashion_mnist_idx_files_are_parsed(tmp_path) -> None:
    rng = np.random.default_rng(1)
    x_train, x_test = fake_images(rng, 12, (28, 28), 0, 256), fake_images(
        rng, 5, (28, 28), 0, 256
    )
    y_train, y_test = rng.integers(0, 10, 12), rng.integers(0, 10, 5)
    folder = tmp_path / "fashion-mnist"
    for split, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        write_idx_gz(folder / f"{split}-images-idx3-ubyte.gz", x)
        write_idx_gz(folder / f"{split}-labels-idx1-ubyte.gz", y)
    d = load("fashion_mnist", validation_split=0.0, seed=0, data_dir=tmp_path)
    assert d.x_train.shape == (12, 28, 28, 1) and d.x_test.shape == (5, 28, 28, 1)
    expected_train, expected_test = _standardized_by_hand(x_train[..., None], x_test[..., None])
    np.testing.assert_allclose(d.x_train, expected_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.x_test, expected_test, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(d.y_train, y_train)
    np.testing.assert_array_equal(d.y_test, y_test)


def test_idx_reader_rejects_bad_headers_and_sizes(tmp_path) -> None:
    path = tmp_path / "x.gz"
    write_idx_gz(path, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(read_idx_gz(path), np.arange(6).reshape(2, 3))
    with gzip.open(path, "wb") as stream:
        stream.write(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + b"\0\0\0\0")  # float32
    with pytest.raises(DatasetError, match="00000d01 is not an IDX file of unsigned bytes"):
        read_idx_gz(path)
    with gzip.open(path, "wb") as stream:
        stream.write(bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2, 3) + b"\1\2")
    with pytest.raises(DatasetError, match=r"2 data bytes, expected 6 for dimensions \(2, 3\)"):
        read_idx_gz(path)
    path.write_bytes(b"plain bytes")
    with pytest.raises(DatasetError, match="cannot read .* as a gzip file"):
        read_idx_gz(path)


@pytest.mark.parametrize(
    ("folder", "py2"),
    [("cifar-10-batches-py", True), ("cifar-10-batches-py-target/cifar-10-batches-py", False)],
)
def test_cifar10_batches_are_parsed_per_channel(tmp_path, folder: str, py2: bool) -> None:
    rng = np.random.default_rng(2)
    # Channels on very different scales: each must get its own mean and std.
    offsets = np.array([0, 100, 200], dtype=np.uint8)
    batches = [
        (fake_images(rng, 3, (32, 32, 3), 0, 50) + offsets, rng.integers(0, 10, 3))
        for _ in range(6)
    ]
    for i, (images, labels) in enumerate(batches):
        name = f"data_batch_{i + 1}" if i < 5 else "test_batch"
        write_cifar_batch(tmp_path / folder / name, images, labels, py2)
    d = load("cifar10", validation_split=0.0, seed=0, data_dir=tmp_path)
    x_train = np.concatenate([images for images, _ in batches[:5]])
    expected_train, expected_test = _standardized_by_hand(x_train, batches[5][0])
    assert d.x_train.shape == (15, 32, 32, 3) and d.x_test.shape == (3, 32, 32, 3)
    np.testing.assert_allclose(d.x_train, expected_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.x_test, expected_test, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(d.y_train, np.concatenate([y for _, y in batches[:5]]))
    np.testing.assert_array_equal(d.y_test, batches[5][1])
    np.testing.assert_allclose(d.x_train.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=(0, 1, 2)), 1.0, atol=1e-5)


def test_cifar10_batch_layout_is_rgb_planes(tmp_path) -> None:
    images = np.zeros((1, 32, 32, 3), np.uint8)
    images[0, 1, 2] = (10, 20, 30)  # one pixel at row 1, column 2
    path = tmp_path / "batch"
    write_cifar_batch(path, images, np.array([7]), py2=True)
    x, y = read_cifar_batch(path)
    assert x.shape == (1, 32, 32, 3) and x.dtype == np.uint8
    assert x[0, 1, 2].tolist() == [10, 20, 30] and int(x.sum()) == 60
    assert y.tolist() == [7]


class _Gadget:
    """Unpickling this would call os.mkdir: the restricted unpickler must refuse it."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return os.mkdir, (str(self.target),)


def test_cifar10_unpickler_refuses_anything_but_numpy_arrays(tmp_path) -> None:
    marker = tmp_path / "created_by_pickle"
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": _Gadget(marker), b"labels": []}, protocol=3))
    with pytest.raises(DatasetError, match=r"refusing global (posix|os)\.mkdir"):
        read_cifar_batch(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({b"labels": [1]}, protocol=3))
    with pytest.raises(DatasetError, match=r"holds \[b'labels'\], expected a dict with b'data'"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [1, 2]}, 3))
    with pytest.raises(DatasetError, match=r"data uint8 \(2, 10\), expected uint8 \(n, 3072\)"):
        read_cifar_batch(path)


@pytest.mark.parametrize(
    ("name", "files", "source"),
    [
        ("mnist", ["mnist.npz"], "keras.datasets.mnist.load_data()"),
        (
            "fashion_mnist",
            [
                f"fashion-mnist/{s}-{k}-ubyte.gz"
                for s in ("train", "t10k")
                for k in ("images-idx3", "labels-idx1")
            ],
            "keras.datasets.fashion_mnist.load_data()",
        ),
        (
            "cifar10",
            [f"cifar-10-batches-py/{f}" for f in ("data_batch_1", "data_batch_5", "test_batch")],
            "keras.datasets.cifar10.load_data()",
        ),
    ],
)
def test_missing_cache_files_are_named_with_their_source(tmp_path, name, files, source) -> None:
    with pytest.raises(DatasetError) as info:
        load(name, validation_split=0.1, seed=0, data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{name}: missing file(s) ")
    for file in files:
        assert str(tmp_path / file) in message
    assert source in message and "https://" in message


def test_default_data_dir_follows_keras(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert datasets.default_data_dir() == tmp_path / "kh" / "datasets"
    with pytest.raises(DatasetError, match=str(tmp_path / "kh" / "datasets" / "mnist.npz")):
        load("mnist", validation_split=0.1, seed=0)
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.default_data_dir() == tmp_path / ".keras" / "datasets"
