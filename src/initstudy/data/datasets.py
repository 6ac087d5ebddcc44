"""Datasets: one registry, a seeded validation split, standardization on the training split.

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

import contextlib
import dataclasses
import functools
import gzip
import importlib.metadata
import math
import numbers
import os
import pickle
import random
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from initstudy.core.atomic import atomic_path


class DatasetError(ValueError):
    """A dataset that cannot be loaded; the message names the dataset, value and expectation."""


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


class Splits(NamedTuple):
    """Raw arrays as a source yields them, before the validation split and standardization."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


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


# --------------------------------------------------------------------------- helpers


def _read_only(splits: Splits) -> Splits:
    """Mark cached arrays read-only so that no caller can change what later loads get."""
    for array in splits:
        array.flags.writeable = False
    return splits


def _split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` sorted indices; ``round(fraction * n)`` are held out.

    The held-out set is the first ``round(fraction * n)`` entries of
    ``np.random.default_rng(seed).permutation(n)``.
    """
    n_held_out = round(fraction * n)
    permutation = np.random.default_rng(seed).permutation(n)
    return np.sort(permutation[n_held_out:]), np.sort(permutation[:n_held_out])


_GLOBAL_RNG_LOCK = threading.Lock()


@contextlib.contextmanager
def _global_rng_preserved() -> Iterator[None]:
    """Restore numpy's and ``random``'s global RNG states on exit (for code that reseeds them)."""
    with _GLOBAL_RNG_LOCK:
        numpy_state = np.random.get_state()
        python_state = random.getstate()
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


# --------------------------------------------------------------------------- mnist1d

MNIST1D_LENGTH = 40


@functools.cache
def _mnist1d_splits() -> Splits:
    """MNIST-1D (Greydanus 2020) generated offline with the package's default arguments.

    ``make_dataset(get_dataset_args())`` gives 4000 train / 1000 test signals of
    length 40 from its fixed seed 42. It reseeds the global RNGs, which are restored
    afterwards. (``mnist1d.get_dataset`` is not used: it downloads and writes a pickle
    into the working directory.) Signals become one-row images ``(1, 40, 1)``.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    with _global_rng_preserved():
        raw = make_dataset(get_dataset_args())
    x_train, x_test = (raw[key].reshape(len(raw[key]), 1, -1, 1) for key in ("x", "x_test"))
    return _read_only(Splits(x_train, raw["y"], x_test, raw["y_test"]))


# --------------------------------------------------------------------------- digits

DIGITS_TEST_FRACTION = 0.2
DIGITS_TEST_SEED = 0


@functools.cache
def _digits_splits() -> Splits:
    """scikit-learn's 8x8 digits (1797 images, grey levels 0..16), which has no test split.

    The test split is a fixed ``DIGITS_TEST_FRACTION`` (359 images) chosen by
    ``default_rng(DIGITS_TEST_SEED)``, a constant independent of the run seed, so the
    test set is the same for every run; the other 1438 images form the training set.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = _split_indices(len(bunch.target), DIGITS_TEST_FRACTION, DIGITS_TEST_SEED)
    images = bunch.images[..., np.newaxis]
    return _read_only(Splits(images[train], bunch.target[train], images[test], bunch.target[test]))


# --------------------------------------------------------------------------- shapes

SHAPE_KINDS = ("triangle", "parallelogram", "ellipse")
#: Class index -> the kinds drawn (-1: no second shape). Classes 0-2 are one shape,
#: classes 3-8 the unordered pairs (with repetition), as in Shapeset-3x2.
_SHAPE_CLASS_KINDS = np.array(
    [(0, -1), (1, -1), (2, -1), (0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
)
SHAPES_CLASS_NAMES = tuple(
    "+".join(SHAPE_KINDS[k] for k in kinds if k >= 0) for kinds in _SHAPE_CLASS_KINDS
)
SHAPES_SEED = 2010
SHAPES_SIZE = 16
SHAPES_TRAIN, SHAPES_TEST = 4000, 1000
#: Sub-pixel samples per pixel side: a pixel's grey level is the covered fraction of
#: its 4x4 samples, so edges carry sub-pixel shape information (anti-aliasing).
_SUPERSAMPLING = 4
_CHUNK = 500  # examples rasterized at once (bounds memory at ~10 MB per temporary)

# Canonical shapes of equal area pi (the unit disk's), so that area does not give the
# kind away: an equilateral triangle with circumradius sqrt(4 pi / (3 sqrt 3)) and a
# square with half-side sqrt(pi) / 2, both centred on their centroid.
_TRIANGLE_R = math.sqrt(4 * math.pi / (3 * math.sqrt(3)))
_SQUARE_HALF = math.sqrt(math.pi) / 2
_SHAPE_TESTS = (
    lambda u, v: (v >= -_TRIANGLE_R / 2)
    & (math.sqrt(3) * u + v <= _TRIANGLE_R)
    & (-math.sqrt(3) * u + v <= _TRIANGLE_R),
    lambda u, v: (np.abs(u) <= _SQUARE_HALF) & (np.abs(v) <= _SQUARE_HALF),
    lambda u, v: u * u + v * v <= 1,
)


def _coverage(kinds: np.ndarray, pose: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Fraction of each pixel covered by each example's shape, shape ``(m, size, size)``.

    A canvas point p lies in the shape when its canonical coordinates
    ``q = S^-1 diag(1/sx, 1/sy) R(-theta) (p - c)`` pass the kind's test, i.e. the
    canonical shape is sheared by ``S = [[1, k], [0, 1]]``, scaled by ``sx = r sqrt(a)``,
    ``sy = r / sqrt(a)`` (area pi r^2 whatever the aspect a), rotated by theta and
    moved to the centre c.
    """
    samples = ((np.arange(size * _SUPERSAMPLING) + 0.5) / _SUPERSAMPLING).astype(np.float32)

    def column(name: str) -> np.ndarray:
        return pose[name][:, None, None].astype(np.float32)

    dx = samples[None, None, :] - column("cx")
    dy = samples[None, :, None] - column("cy")
    cos, sin = column("cos"), column("sin")
    a = (cos * dx + sin * dy) / column("sx")
    b = (cos * dy - sin * dx) / column("sy")
    u = a - column("shear") * b
    inside = np.zeros(u.shape, dtype=bool)
    for kind, test in enumerate(_SHAPE_TESTS):
        rows = kinds == kind
        inside[rows] = test(u[rows], b[rows])
    blocks = inside.reshape(len(kinds), size, _SUPERSAMPLING, size, _SUPERSAMPLING)
    return blocks.mean(axis=(2, 4), dtype=np.float32)


def _shape_poses(
    rng: np.random.Generator, slot: int, is_pair: np.ndarray, size: int
) -> dict[str, np.ndarray]:
    """Random pose of the shape in ``slot`` (0 or 1) of each example, in pixels.

    Radius r (sqrt(area / pi)): U(0.22, 0.34) * size alone, U(0.19, 0.28) * size in a
    pair. Centre: alone, x and y ~ U(0.35, 0.65) * size; in a pair, y likewise and x ~
    U(0.2, 0.3) * size (slot 0, left) or U(0.7, 0.8) * size (slot 1, right).
    Aspect a = exp(U(-ln 1.3, ln 1.3)), rotation theta ~ U(0, 2 pi), shear k ~ U(-0.3, 0.3).
    """
    n = len(is_pair)
    pair_x = (0.2, 0.3) if slot == 0 else (0.7, 0.8)
    radius = np.where(is_pair, rng.uniform(0.19, 0.28, n), rng.uniform(0.22, 0.34, n)) * size
    aspect = np.exp(rng.uniform(-math.log(1.3), math.log(1.3), n))
    theta = rng.uniform(0.0, 2 * math.pi, n)
    return {
        "cx": np.where(is_pair, rng.uniform(*pair_x, n), rng.uniform(0.35, 0.65, n)) * size,
        "cy": rng.uniform(0.35, 0.65, n) * size,
        "sx": radius * np.sqrt(aspect),
        "sy": radius / np.sqrt(aspect),
        "cos": np.cos(theta),
        "sin": np.sin(theta),
        "shear": rng.uniform(-0.3, 0.3, n),
    }


def make_shapes(n: int, *, seed: int, size: int = SHAPES_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images ``(n, size, size, 1)`` in [0, 1] and their labels, from ``seed`` alone.

    In the spirit of Glorot & Bengio (2010)'s Shapeset-3x2: one or two filled shapes
    (triangle, parallelogram, ellipse) of random pose (:func:`_shape_poses`) and grey
    level U(0.3, 1) on a black canvas. The 9 classes (:data:`SHAPES_CLASS_NAMES`) say
    which shapes are present: 3 single shapes, then the 6 unordered pairs. Classes are
    balanced (``n // 9`` or one more each). A pair's shapes stand side by side in random
    order; a later shape is painted over an earlier one:
    ``image = image * (1 - coverage) + grey * coverage``.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(_SHAPE_CLASS_KINDS))
    kinds = _SHAPE_CLASS_KINDS[labels]
    is_pair = kinds[:, 1] >= 0
    swap = is_pair & (rng.random(n) < 0.5)
    kinds[swap] = kinds[swap, ::-1]
    images = np.zeros((n, size, size), dtype=np.float32)
    for slot in (0, 1):
        pose = _shape_poses(rng, slot, is_pair, size)
        grey = rng.uniform(0.3, 1.0, n).astype(np.float32)
        for start in range(0, n, _CHUNK):
            rows = np.flatnonzero(kinds[start : start + _CHUNK, slot] >= 0) + start
            cover = _coverage(kinds[rows, slot], {k: v[rows] for k, v in pose.items()}, size)
            images[rows] = images[rows] * (1 - cover) + grey[rows, None, None] * cover
    return images[..., np.newaxis], labels


@functools.cache
def _shapes_splits() -> Splits:
    """``SHAPES_TRAIN + SHAPES_TEST`` images from the fixed ``SHAPES_SEED``; the first train."""
    x, y = make_shapes(SHAPES_TRAIN + SHAPES_TEST, seed=SHAPES_SEED)
    return _read_only(
        Splits(x[:SHAPES_TRAIN], y[:SHAPES_TRAIN], x[SHAPES_TRAIN:], y[SHAPES_TRAIN:])
    )


# --------------------------------------------------------------------------- Keras cache files

_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def default_data_dir() -> Path:
    """Where Keras caches downloads: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    return Path(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras"))) / "datasets"


def _require(name: str, data_dir: Path, paths: list[Path], how_to_get: str) -> None:
    """Raise a DatasetError naming every missing file, where it goes and where it comes from."""
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise DatasetError(
            f"{name}: missing file(s) {', '.join(missing)}. {how_to_get} Files are looked for "
            f"in data_dir={str(data_dir)!r} (the data_dir argument, else $KERAS_HOME/datasets, "
            "else ~/.keras/datasets); nothing is downloaded."
        )


def _mnist_splits(data_dir: Path) -> Splits:
    """Keras' ``mnist.npz``: uint8 images ``(n, 28, 28)`` and labels, read without pickle."""
    path = data_dir / "mnist.npz"
    _require(
        "mnist",
        data_dir,
        [path],
        "It is Keras' MNIST file, the one keras.datasets.mnist.load_data() downloads "
        f"({_KERAS_ORIGIN}mnist.npz); copy it there.",
    )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise DatasetError(
            f"mnist: cannot read {path} as a .npz archive of numeric arrays ({exc})"
        ) from None
    keys = ["x_train", "y_train", "x_test", "y_test"]
    if not set(keys) <= set(arrays):
        raise DatasetError(f"mnist: {path} holds arrays {sorted(arrays)}, expected {keys}")
    return Splits(
        arrays["x_train"][..., np.newaxis],
        arrays["y_train"],
        arrays["x_test"][..., np.newaxis],
        arrays["y_test"],
    )


_FASHION_FILES = {
    split: (f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz")
    for split in ("train", "t10k")
}


def read_idx_gz(path: Path) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes (the MNIST format), as a uint8 array.

    Layout: two zero bytes, type code 0x08 (unsigned byte), the number of dimensions
    d, d big-endian uint32 sizes, then the data in C order.
    """
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path} as a gzip file ({exc})") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise DatasetError(
            f"{path}: header {raw[:4].hex()} is not an IDX file of unsigned bytes "
            "(expected bytes 00 00 08 then the number of dimensions)"
        )
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise DatasetError(
            f"{path}: {data.size} data bytes, expected {math.prod(dims)} for dimensions {dims}"
        )
    return data.reshape(dims)


def _fashion_mnist_splits(data_dir: Path) -> Splits:
    """Keras' Fashion-MNIST cache: ``fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``
    (IDX files, :func:`read_idx_gz`)."""
    folder = data_dir / "fashion-mnist"
    paths = {split: [folder / f for f in files] for split, files in _FASHION_FILES.items()}
    _require(
        "fashion_mnist",
        data_dir,
        [p for pair in paths.values() for p in pair],
        "They are Keras' Fashion-MNIST files, the ones keras.datasets.fashion_mnist.load_data() "
        f"downloads ({_KERAS_ORIGIN}<file name>); copy them into {folder}.",
    )
    (x_train, y_train), (x_test, y_test) = (
        [read_idx_gz(p) for p in paths[split]] for split in ("train", "t10k")
    )
    return Splits(x_train[..., np.newaxis], y_train, x_test[..., np.newaxis], y_test)


#: The only globals a CIFAR-10 batch pickle needs: numpy array reconstruction, under
#: numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) module names.
_NUMPY_ARRAY_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class _NumpyArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else.

    A pickle can call any global it names; refusing every global but numpy's array
    reconstruction means a tampered file cannot run code.
    """

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _NUMPY_ARRAY_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: only numpy array reconstruction is allowed"
            )
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images ``(n, 32, 32, 3)`` uint8 and labels.

    The file is a (Python 2) pickle of a dict with bytes keys; ``b"data"`` is a uint8
    array ``(n, 3072)``, each row the red, green and blue 32x32 planes in turn;
    ``b"labels"`` a list of n ints. ``encoding="bytes"`` keeps Python 2 strings as bytes.
    """
    try:
        with open(path, "rb") as stream:
            batch = _NumpyArrayUnpickler(stream, encoding="bytes").load()
    # Unpickling a bad file can fail in many ways; all mean "not a CIFAR-10 batch".
    except Exception as exc:
        raise DatasetError(
            f"cifar10: cannot read {path} as a CIFAR-10 python batch ({type(exc).__name__}: {exc})"
        ) from None
    if not (isinstance(batch, dict) and b"data" in batch and b"labels" in batch):
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DatasetError(
            f"cifar10: {path} holds {found}, expected a dict with b'data' and b'labels'"
        )
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(
            f"cifar10: {path} has data {data.dtype} {data.shape}, expected uint8 (n, 3072)"
        )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


_CIFAR10_FOLDERS = ("cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py")


def _cifar10_splits(data_dir: Path) -> Splits:
    """Keras' CIFAR-10 cache: ``cifar-10-batches-py/{data_batch_1..5,test_batch}``.

    Keras 2 extracts the archive to ``cifar-10-batches-py/``, Keras 3 to
    ``cifar-10-batches-py-target/cifar-10-batches-py/``; the first that exists is read.
    """
    folders = [data_dir / folder for folder in _CIFAR10_FOLDERS]
    folder = next((f for f in folders if f.is_dir()), folders[0])
    train_paths = [folder / f"data_batch_{i}" for i in range(1, 6)]
    test_path = folder / "test_batch"
    _require(
        "cifar10",
        data_dir,
        [*train_paths, test_path],
        f"Put the folder cifar-10-batches-py at {folders[0]} (or {folders[1]}, where Keras 3 "
        "keeps it): what keras.datasets.cifar10.load_data() downloads and extracts "
        f"({_CIFAR10_ORIGIN}, extract it there).",
    )
    batches = [read_cifar_batch(path) for path in train_paths]
    x_test, y_test = read_cifar_batch(test_path)
    return Splits(
        np.concatenate([x for x, _ in batches]),
        np.concatenate([y for _, y in batches]),
        x_test,
        y_test,
    )


# --------------------------------------------------------------------------- registry


#: Raise when the shapes generator (make_shapes and its constants) changes what it draws.
SHAPES_GENERATOR_VERSION = 1


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
            return _read_only(Splits(*(arrays[field] for field in Splits._fields)))
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
        _generated_and_kept("mnist1d", _mnist1d_splits, _package_version("mnist1d")),
        (1, MNIST1D_LENGTH, 1),
        10,
        "MNIST-1D, generated offline: 4000 train / 1000 test signals of length 40",
        _package_version("mnist1d"),
        (4000, 1000),
    ),
    "digits": DatasetSpec(
        _generated(_digits_splits),
        (8, 8, 1),
        10,
        "scikit-learn 8x8 digits: 1438 train / 359 fixed test images",
        _fixed("scikit-learn load_digits (bundled file)"),
        (1438, 359),
    ),
    "shapes": DatasetSpec(
        _generated(_shapes_splits),
        (SHAPES_SIZE, SHAPES_SIZE, 1),
        len(SHAPES_CLASS_NAMES),
        "Shapeset-3x2-like synthetic shapes: 4000 train / 1000 test 16x16 images, 9 classes",
        _fixed(f"initstudy shapes generator {SHAPES_GENERATOR_VERSION}"),
        (4000, 1000),
    ),
    "mnist": DatasetSpec(
        _mnist_splits, (28, 28, 1), 10, "MNIST from Keras' cache: 60000 train / 10000 test",
        _fixed("Keras cache mnist.npz"),
        (60000, 10000),
    ),
    "fashion_mnist": DatasetSpec(
        _fashion_mnist_splits,
        (28, 28, 1),
        10,
        "Fashion-MNIST from Keras' cache: 60000 train / 10000 test",
        _fixed("Keras cache fashion-mnist"),
        (60000, 10000),
    ),
    "cifar10": DatasetSpec(
        _cifar10_splits, (32, 32, 3), 10, "CIFAR-10 from Keras' cache: 50000 train / 10000 test",
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
    train, val = _split_indices(len(splits.y_train), float(validation_split), int(seed))
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
