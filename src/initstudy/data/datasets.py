"""Datasets: one registry, a seeded validation split, standardization on the training split.

This module is the public entry point of ``initstudy.data``: :func:`load`,
:data:`DATASETS`, :class:`Dataset`, :class:`DatasetError` and :func:`default_data_dir`
are imported from here. The sources it registers live below it, each module with one
job: :mod:`initstudy.data.generated` (datasets generated in-process),
:mod:`initstudy.data.keras_cache` (readers of Keras' cache files) and
:mod:`initstudy.data.splits` (the raw :class:`Splits` they all yield, and the seeded
split). They never import this module.

:func:`load` turns a dataset name into a :class:`Dataset` in four steps:

1. the registry entry (:data:`DATASETS`) yields the raw train/test arrays: generated
   in-process (``mnist1d``, ``digits``, ``shapes``; cached with ``functools.cache``,
   and MNIST-1D also kept in the data folder after its first generation) or read from
   the Keras cache folder (``mnist``, ``fashion_mnist``, ``cifar10``);
2. a fraction ``validation_split`` of the original training set becomes the validation
   split, chosen by ``np.random.default_rng(seed).permutation`` (both parts keep the
   original order);
3. every split is standardized per channel with the training split's statistics
   (see :func:`standardize`);
4. x becomes float32 of shape ``(n, *input_shape)``, y int32 in ``0..num_classes-1``.

Same arguments give bitwise-identical arrays. Loading leaves numpy's and ``random``'s
global RNG states as it found them, downloads nothing, and writes no file other than
the kept copy of a generated dataset in the data folder (never in the working folder).
Adding a dataset is one :data:`DATASETS` entry: a function that returns the raw
:class:`Splits`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import numbers
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from initstudy.core.atomic import atomic_path
from initstudy.data.generated import (
    MNIST1D_LENGTH,
    SHAPES_CLASS_NAMES,
    SHAPES_GENERATOR_VERSION,
    SHAPES_SIZE,
    digits_splits,
    mnist1d_splits,
    shapes_splits,
)
from initstudy.data.keras_cache import (
    cifar10_splits,
    default_data_dir,
    fashion_mnist_splits,
    mnist_splits,
)
from initstudy.data.splits import DatasetError, Splits, read_only, split_indices

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "DatasetSpec",
    "default_data_dir",
    "load",
    "load_or_generate",
    "standardize",
]


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded, split and standardized dataset.

    ``x_*`` are float32 of shape ``(n, *input_shape)``; ``y_*`` are int32 class indices
    in ``0..num_classes-1``. ``x_train`` excludes the validation examples.
    ``input_shape`` is image-like ``(H, W, C)``; MLPs flatten it. Equality is identity
    (``eq=False``): comparing arrays field by field has no single truth value.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    num_classes: int


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: ``source(data_dir)`` returns the raw :class:`Splits`.

    Sources that generate their data ignore ``data_dir``.
    """

    source: Callable[[Path], Splits]
    input_shape: tuple[int, ...]
    num_classes: int
    description: str
    #: What fixes the data's values (part of a run's identity): the generating
    #: package and its version, or the fixed file or code that makes them.
    version: Callable[[], str]
    #: Examples before the validation split (train + validation), and test examples, of
    #: the published dataset (what cost estimates count; a cache file is not held to it).
    sizes: tuple[int, int]


# --------------------------------------------------------------------------- registry


def _package_version(package: str) -> Callable[[], str]:
    """The version of the package that generates a dataset (its values may change with it)."""
    return lambda: f"{package} {importlib.metadata.version(package)}"


def _fixed(text: str) -> Callable[[], str]:
    return lambda: text


def _generated(splits: Callable[[], Splits]) -> Callable[[Path], Splits]:
    """A source for data generated in-process, which needs no data_dir."""
    return lambda data_dir: splits()


def load_or_generate(path: Path, make: Callable[[], Splits]) -> Splits:
    """The splits kept in ``path`` (an ``.npz`` read without pickle), else ``make()``'s,
    then kept there (written atomically; a folder that cannot be written is skipped).
    A file that cannot be read as splits is generated again and replaced."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return read_only(Splits(*(arrays[field] for field in Splits._fields)))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        pass
    splits = make()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **splits._asdict())
    except OSError:
        pass
    return splits


def _generated_and_kept(name: str, splits: Callable[[], Splits], version: Callable[[], str]
                        ) -> Callable[[Path], Splits]:
    """A source for data generated in-process and kept in data_dir as
    ``initstudy-<name>-<version>.npz`` after the first generation: MNIST-1D takes 2.4 s to
    generate, and every train job loads it (the version names the generating package's
    release, so an upgrade generates anew)."""

    def source(data_dir: Path) -> Splits:
        slug = "".join(c if c.isalnum() or c in ".-" else "-" for c in version())
        return load_or_generate(data_dir / f"initstudy-{name}-{slug}.npz", splits)

    return functools.cache(source)


DATASETS: dict[str, DatasetSpec] = {
    "mnist1d": DatasetSpec(
        _generated_and_kept("mnist1d", mnist1d_splits, _package_version("mnist1d")),
        (1, MNIST1D_LENGTH, 1),
        10,
        "MNIST-1D, generated offline: 4000 train / 1000 test signals of length 40",
        _package_version("mnist1d"),
        (4000, 1000),
    ),
    "digits": DatasetSpec(
        _generated(digits_splits),
        (8, 8, 1),
        10,
        "scikit-learn 8x8 digits: 1438 train / 359 fixed test images",
        _fixed("scikit-learn load_digits (bundled file)"),
        (1438, 359),
    ),
    "shapes": DatasetSpec(
        _generated(shapes_splits),
        (SHAPES_SIZE, SHAPES_SIZE, 1),
        len(SHAPES_CLASS_NAMES),
        "Shapeset-3x2-like synthetic shapes: 4000 train / 1000 test 16x16 images, 9 classes",
        _fixed(f"initstudy shapes generator {SHAPES_GENERATOR_VERSION}"),
        (4000, 1000),
    ),
    "mnist": DatasetSpec(
        mnist_splits, (28, 28, 1), 10, "MNIST from Keras' cache: 60000 train / 10000 test",
        _fixed("Keras cache mnist.npz"),
        (60000, 10000),
    ),
    "fashion_mnist": DatasetSpec(
        fashion_mnist_splits,
        (28, 28, 1),
        10,
        "Fashion-MNIST from Keras' cache: 60000 train / 10000 test",
        _fixed("Keras cache fashion-mnist"),
        (60000, 10000),
    ),
    "cifar10": DatasetSpec(
        cifar10_splits, (32, 32, 3), 10, "CIFAR-10 from Keras' cache: 50000 train / 10000 test",
        _fixed("Keras cache cifar-10-batches-py"),
        (50000, 10000),
    ),
}


# --------------------------------------------------------------------------- load


def _check_arguments(name: str, validation_split: float, seed: int) -> DatasetSpec:
    """The registry entry for ``name``, once name, validation_split and seed are valid."""
    if name not in DATASETS:
        raise DatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}"
        )
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, numbers.Real)
        or not 0 <= validation_split < 1
    ):
        raise DatasetError(
            f"{name}: validation_split={validation_split!r}, expected a number in [0, 1)"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DatasetError(f"{name}: seed={seed!r}, expected a non-negative integer")
    return DATASETS[name]


def _check_splits(name: str, spec: DatasetSpec, splits: Splits) -> None:
    """Shapes and labels as the registry entry promises, whatever the source read."""
    for part in ("train", "test"):
        x, y = getattr(splits, f"x_{part}"), getattr(splits, f"y_{part}")
        if x.shape[1:] != spec.input_shape:
            raise DatasetError(
                f"{name}: x_{part} has examples of shape {x.shape[1:]}, "
                f"expected {spec.input_shape}"
            )
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(
                f"{name}: y_{part} is {y.dtype} {y.shape}, expected integer labels ({len(x)},)"
            )
        if len(y) and not (y.min() >= 0 and y.max() < spec.num_classes):
            raise DatasetError(
                f"{name}: y_{part} has labels in [{y.min()}, {y.max()}], "
                f"expected 0..{spec.num_classes - 1}"
            )


def standardize(x_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Standardize every array per channel (last axis) with the statistics of ``x_train``.

    For channel c: ``mean_c = mean(x_train[..., c])`` and ``std_c = sqrt(mean((x_train[...,
    c] - mean_c)^2))`` (population std; sums in float64), then ``x'[..., c] = (x[..., c] -
    mean_c) / std_c`` in float32 for x_train and each of ``others`` (validation, test).
    Only training statistics are used, so nothing about held-out data leaks into the
    inputs, and the held-out arrays' own mean and std are whatever they come out as. A
    channel constant over x_train (std 0) is only centred (std taken as 1).
    """
    centred = x_train.astype(np.float32)
    mean = centred.mean(axis=tuple(range(centred.ndim - 1)), dtype=np.float64)
    mean = mean.astype(np.float32)
    centred -= mean
    # One channel at a time keeps the temporaries small (CIFAR-10: 200 MB, not 1.2 GB).
    variance = [np.square(centred[..., c]).mean(dtype=np.float64) for c in range(len(mean))]
    std = np.where(np.sqrt(variance) > 0, np.sqrt(variance), 1.0).astype(np.float32)
    centred /= std
    return centred, *((x.astype(np.float32) - mean) / std for x in others)


def load(
    name: str,
    *,
    validation_split: float,
    seed: int,
    data_dir: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Load dataset ``name`` split into train / validation / test and standardized.

    ``validation_split`` in [0, 1): ``round(validation_split * n)`` of the n original
    training examples, chosen by ``np.random.default_rng(seed)``, form the validation
    split (0 gives empty validation arrays of shape ``(0, *input_shape)``). Inputs are
    standardized with the training split's per-channel mean and std (:func:`standardize`).
    The test examples and their order never depend on ``seed``; their standardized values
    do, slightly, when ``validation_split > 0`` (through the training split's statistics).
    ``data_dir`` is where file-based datasets are read (default :func:`default_data_dir`);
    generated ones ignore it. Raises :class:`DatasetError` for an unknown name, a bad
    argument, a missing or malformed file.
    """
    spec = _check_arguments(name, validation_split, seed)
    splits = spec.source(Path(data_dir) if data_dir is not None else default_data_dir())
    _check_splits(name, spec, splits)
    train, val = split_indices(len(splits.y_train), float(validation_split), int(seed))
    if len(train) == 0:
        raise DatasetError(
            f"{name}: validation_split={validation_split!r} leaves no training example "
            f"out of {len(splits.y_train)}; expected a smaller fraction"
        )
    x_train, x_val, x_test = standardize(splits.x_train[train], splits.x_train[val], splits.x_test)
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=splits.y_train[train].astype(np.int32),
        x_val=x_val,
        y_val=splits.y_train[val].astype(np.int32),
        x_test=x_test,
        y_test=splits.y_test.astype(np.int32),
        input_shape=spec.input_shape,
        num_classes=spec.num_classes,
    )
