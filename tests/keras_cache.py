"""Synthetic Keras-cache files: the formats ``keras.datasets.*.load_data()`` leaves in
``~/.keras/datasets``, with the real files' per-example shapes and dtypes and any
number of examples. ``REAL_SIZES`` gives the real files' (train, test) counts."""

from __future__ import annotations

import gzip
import pickle
import struct
import types
from pathlib import Path

import numpy as np

#: Examples in the real files: (original training set, test set).
REAL_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000)}
#: Per-example image shape of each real file (uint8 pixels).
IMAGE_SHAPES = {"mnist": (28, 28), "fashion_mnist": (28, 28), "cifar10": (32, 32, 3)}
#: CIFAR-10's training set comes in this many equal batch files.
CIFAR_TRAIN_BATCHES = 5


def fake_images(rng: np.random.Generator, n: int, shape: tuple[int, ...], low: int = 0, high: int = 256):
    return rng.integers(low, high, size=(n, *shape), dtype=np.uint8)


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (type 0x08), gzipped, as Fashion-MNIST ships."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


class Python2Pickler(pickle._Pickler):
    """Writes pickles as Python 2's cPickle wrote the CIFAR-10 batches: protocol 2, every
    string as a Python 2 ``str`` (BINSTRING) and numpy 1's ``numpy.core`` module name."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes | str) -> None:
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    def save_py2_global(self, obj, name=None) -> None:
        module = pickle.whichmodule(obj, obj.__qualname__).replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = save_py2_str
    for _kind in (type, types.FunctionType, types.BuiltinFunctionType):
        dispatch[_kind] = save_py2_global


def write_cifar_batch(path: Path, images: np.ndarray, labels: np.ndarray, py2: bool = True) -> None:
    """A CIFAR-10 python batch: dict with bytes keys, data rows = R, G, B planes."""
    batch = {
        b"batch_label": b"fake batch",
        b"labels": [int(label) for label in labels],
        b"data": np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1)),
        b"filenames": [b"img_%d.png" % i for i in range(len(images))],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        if py2:
            Python2Pickler(stream, protocol=2).dump(batch)
        else:
            pickle.dump(batch, stream, protocol=3)  # numpy 2's numpy._core names


def write_cache(name: str, data_dir: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """Random uint8 images and labels 0-9 of dataset ``name`` in ``data_dir``, in the
    layout and format of the real Keras-cache file(s)."""
    rng = np.random.default_rng(seed)
    shape = IMAGE_SHAPES[name]
    x_train, x_test = fake_images(rng, n_train, shape), fake_images(rng, n_test, shape)
    y_train, y_test = (rng.integers(0, 10, n, dtype=np.uint8) for n in (n_train, n_test))
    data_dir.mkdir(parents=True, exist_ok=True)
    if name == "mnist":
        np.savez(data_dir / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    elif name == "fashion_mnist":
        for split, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
            write_idx_gz(data_dir / "fashion-mnist" / f"{split}-images-idx3-ubyte.gz", x)
            write_idx_gz(data_dir / "fashion-mnist" / f"{split}-labels-idx1-ubyte.gz", y)
    elif name == "cifar10":
        if n_train % CIFAR_TRAIN_BATCHES:
            raise ValueError(f"cifar10: n_train={n_train}, expected a multiple of {CIFAR_TRAIN_BATCHES}")
        folder = data_dir / "cifar-10-batches-py"
        for i, (x, y) in enumerate(zip(np.split(x_train, CIFAR_TRAIN_BATCHES), np.split(y_train, CIFAR_TRAIN_BATCHES))):
            write_cifar_batch(folder / f"data_batch_{i + 1}", x, y)
        write_cifar_batch(folder / "test_batch", x_test, y_test)
    else:
        raise ValueError(f"{name}: not a Keras-cache dataset; expected one of {sorted(IMAGE_SHAPES)}")
