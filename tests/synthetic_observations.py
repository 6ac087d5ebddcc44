"""Synthetic per-layer observations of a set of runs, for the analysis and figure tests.

Each function takes the runs as tuples with the run's fields (``run_id``, ..., ``depth``,
``initializer``, ``seed``) and returns rows like the ones the trainer's records give
``signal.parquet`` and ``weights.parquet``; the callers type them as their tables need.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable, NamedTuple

import numpy as np

#: Per-layer gain of the synthetic signal at initialization: the activation std of
#: layer l is GAIN ** (l - 1), so 0.01 underflows float32 (to 0) in deep networks.
GAIN = {"he_normal": 1.0, "glorot_uniform": 0.8, "random_normal-stddev0.01": 0.01, "lecun_normal": 0.9}
#: Std of the synthetic weights per initializer (before and after training).
WEIGHT_STD = {"he_normal": 0.2, "glorot_uniform": 0.1, "random_normal-stddev0.01": 0.01, "lecun_normal": 0.15}


def signal_rows(runs: Iterable[NamedTuple], epochs=(0, 1)) -> list[dict]:
    """Activation std, gradient norm and (squared) pre-activation variance GAIN ** (l - 1)
    at layer l (seed s scales them by 1 + s/10), values below float32's smallest normal
    number set to 0, at each of ``epochs``."""
    rows = []
    for run in runs:
        for epoch, layer in itertools.product(epochs, range(1, run.depth + 1)):
            value = GAIN[run.initializer] ** (layer - 1) * (1 + run.seed / 10)
            value = value if value > np.finfo(np.float32).tiny else 0.0
            rows.append({**run._asdict(), "epoch": epoch, "layer": layer, "activation_mean": 0.0,
                         "activation_std": value, "preactivation_var": value**2, "saturated_fraction": np.nan,
                         "dead_fraction": np.nan, "grad_norm": value, "kernel_std": 0.1})
    return rows


def weight_rows(runs: Iterable[NamedTuple], last_epoch: int, bins: int = 40) -> list[dict]:
    """Hidden layers 1, ceil(depth/2) and depth, at epoch 0 and ``last_epoch``, ``bins``
    common bins of Gaussian draws whose std is WEIGHT_STD at initialization and 1.5
    times it after training (one seeded generator for all runs, in their order)."""
    rng = np.random.default_rng(1)
    rows = []
    for run in runs:
        std = WEIGHT_STD[run.initializer]
        for layer in sorted({1, math.ceil(run.depth / 2), run.depth}):
            samples = {0: rng.normal(0, std, 500), last_epoch: rng.normal(0, 1.5 * std, 500)}
            edges = np.histogram_bin_edges(np.concatenate(list(samples.values())), bins)
            for epoch, values in samples.items():
                counts, _ = np.histogram(values, edges)
                rows += [{**run._asdict(), "epoch": epoch, "layer": layer, "bin_left": lo, "bin_right": hi,
                          "count": int(c)} for lo, hi, c in zip(edges[:-1], edges[1:], counts)]
    return rows
