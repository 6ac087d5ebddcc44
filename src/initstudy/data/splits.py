"""What every dataset source yields, and what every part of ``initstudy.data`` shares.

A source (a generator of :mod:`initstudy.data.generated`, a reader of
:mod:`initstudy.data.keras_cache`) returns the raw :class:`Splits`; the registry
(:mod:`initstudy.data.datasets`) checks them, holds out the validation split with
:func:`split_indices` and standardizes. These names live here, below both the sources
and the registry, so that sources never import the registry: imports go downward only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be loaded; the message names the dataset, value and expectation."""


class Splits(NamedTuple):
    """Raw arrays as a source yields them, before the validation split and standardization."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def read_only(splits: Splits) -> Splits:
    """Mark cached arrays read-only so that no caller can change what later loads get."""
    for array in splits:
        array.flags.writeable = False
    return splits


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` sorted indices; ``round(fraction * n)`` are held out.

    The held-out set is the first ``round(fraction * n)`` entries of
    ``np.random.default_rng(seed).permutation(n)``.
    """
    n_held_out = round(fraction * n)
    permutation = np.random.default_rng(seed).permutation(n)
    return np.sort(permutation[n_held_out:]), np.sort(permutation[:n_held_out])
