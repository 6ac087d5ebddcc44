"""The datasets generated in-process: MNIST-1D, scikit-learn's 8x8 digits and ``shapes``.

Each ``*_splits()`` returns the raw train/test :class:`~initstudy.data.splits.Splits`
from fixed seeds alone, needs no file and no network, and is cached per process
(``functools.cache``; the arrays are read-only so no caller can change what later loads
get). MNIST-1D comes from the ``mnist1d`` package and digits from scikit-learn;
``shapes`` is drawn here by :func:`make_shapes`, a Shapeset-3x2-like image set
(Glorot & Bengio 2010). Kept apart from the registry (:mod:`initstudy.data.datasets`)
because generating data is a job of its own, with its own constants and tests; the
registry imports these functions, never the other way round.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import threading
from collections.abc import Iterator

import numpy as np

from initstudy.data.splits import Splits, read_only, split_indices

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
def mnist1d_splits() -> Splits:
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
    return read_only(Splits(x_train, raw["y"], x_test, raw["y_test"]))


# --------------------------------------------------------------------------- digits

DIGITS_TEST_FRACTION = 0.2
DIGITS_TEST_SEED = 0


@functools.cache
def digits_splits() -> Splits:
    """scikit-learn's 8x8 digits (1797 images, grey levels 0..16), which has no test split.

    The test split is a fixed ``DIGITS_TEST_FRACTION`` (359 images) chosen by
    ``default_rng(DIGITS_TEST_SEED)``, a constant independent of the run seed, so the
    test set is the same for every run; the other 1438 images form the training set.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = split_indices(len(bunch.target), DIGITS_TEST_FRACTION, DIGITS_TEST_SEED)
    images = bunch.images[..., np.newaxis]
    return read_only(Splits(images[train], bunch.target[train], images[test], bunch.target[test]))


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
#: Raise when the shapes generator (make_shapes and its constants) changes what it draws:
#: it is the dataset's version, part of every shapes run's identity.
SHAPES_GENERATOR_VERSION = 1
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
def shapes_splits() -> Splits:
    """``SHAPES_TRAIN + SHAPES_TEST`` images from the fixed ``SHAPES_SEED``; the first train."""
    x, y = make_shapes(SHAPES_TRAIN + SHAPES_TEST, seed=SHAPES_SEED)
    return read_only(
        Splits(x[:SHAPES_TRAIN], y[:SHAPES_TRAIN], x[SHAPES_TRAIN:], y[SHAPES_TRAIN:])
    )
