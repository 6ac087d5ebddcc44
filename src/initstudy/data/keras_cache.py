"""Readers of the files Keras caches: MNIST, Fashion-MNIST and CIFAR-10, never downloaded.

``keras.datasets.<name>.load_data()`` leaves its downloads in :func:`default_data_dir`
(``$KERAS_HOME/datasets``, else ``~/.keras/datasets``). Each ``*_splits(data_dir)``
reads one dataset's files there into raw :class:`~initstudy.data.splits.Splits`, with
numpy and the standard library only (no Keras, no network): ``mnist.npz`` without
pickle, Fashion-MNIST's gzipped IDX files (:func:`read_idx_gz`) and CIFAR-10's pickled
python batches (:func:`read_cifar_batch`) through an unpickler that can rebuild numpy
arrays and nothing else, so a tampered file cannot run code. A missing file is a
:class:`~initstudy.data.splits.DatasetError` naming where it goes and where it comes
from; a malformed one, a DatasetError saying what was expected. Kept apart from the
registry (:mod:`initstudy.data.datasets`) because parsing file formats safely is a job
of its own; the registry imports these readers, never the other way round.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from initstudy.data.splits import DatasetError, Splits

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


def mnist_splits(data_dir: Path) -> Splits:
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


def fashion_mnist_splits(data_dir: Path) -> Splits:
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


def cifar10_splits(data_dir: Path) -> Splits:
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
