"""Mean-field theory of signal propagation at initialization, and its measurement.

For an MLP with input ``x`` (``d0`` features), kernels ``W_l`` and zero biases,
pre-activations ``h_1 = x W_1`` and ``h_l = phi(h_{l-1}) W_l``. With i.i.d.
zero-mean weights of variance ``Var(W_l) = sigma_w2 / fan_in`` and biases of
variance ``sigma_b2``, the second moment ``q_l = E[h_l**2]`` of a unit follows,
in the wide limit (Poole et al., 2016, arXiv:1606.05340; Schoenholz et al.,
2017, arXiv:1611.01232)::

    q_1 = sigma_w2 * q0 + sigma_b2,          q0 = mean over features of x**2
    q_l = sigma_w2 * E_{z~N(0,1)}[phi(sqrt(q_{l-1}) z)**2] + sigma_b2,   l >= 2

``q0`` is the input's mean square per feature (about 1 for standardized
inputs); the input itself is not passed through ``phi``. ``sigma_w2 =
fan_in * Var(W)`` comes from the initializer's intended scheme
(:func:`initstudy.analysis.scheme.intended_scheme`): He 2, LeCun 1, Glorot with equal fans
1, ``random_normal(stddev=0.01)`` at fan-in 128: ``128e-4``.

The Gaussian expectation is :func:`initstudy.analysis.meanfield.gaussian_second_moment`
(adaptive quadrature split at the kink at 0; the reason is given there), with the numpy
twins of the activations, the fixed points and the depth scales.

:func:`theory_tables` sets the prediction for the study's MLPs beside what the trainer
measured at init (:mod:`initstudy.train.probes`, epoch 0); the stability verdicts
and the table that compares them are :mod:`initstudy.analysis.stability`'s. The
measurement is the variance ``mean(z**2) - mean(z)**2`` over a probe batch and a
layer's units, the prediction the mean square ``q``. They differ by the squared mean,
whose expectation under i.i.d. zero-mean weights is ``sigma**2 sum_i abar_i**2 / width
<= q / width`` (``abar_i``: the batch mean of input ``i``; Jensen): at most ``1 /
width`` relative.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from initstudy.analysis.meanfield import gaussian_second_moment, resolve_activation
from initstudy.analysis.sampling import class_declaration
from initstudy.analysis.scheme import intended_scheme
from initstudy.analysis.stability import CURVE, measured_profiles, stability_table
from initstudy.data.datasets import DATASETS
from initstudy.inits.resolve import build
from initstudy.study.specs import parse


def predicted_variance(
    activation: str | Callable,
    sigma_w2: float | Sequence[float],
    depth: int,
    q0: float,
    sigma_b2: float = 0.0,
) -> np.ndarray:
    """``[q_1, ..., q_depth]``: the mean-field pre-activation variance per layer.

    ``q_1 = sigma_w2 q0 + sigma_b2``; ``q_l = sigma_w2 E[phi(sqrt(q_{l-1}) z)**2] + sigma_b2``.
    ``sigma_w2`` is one value or one per layer (the first layer's fan-in is the
    input's, so it may differ). Once ``q`` overflows float64 it stays ``inf``.
    """
    sw2 = np.broadcast_to(np.asarray(sigma_w2, dtype=np.float64), (depth,))
    q = np.empty(depth)
    q[0] = sw2[0] * q0 + sigma_b2
    for layer in range(1, depth):
        if not math.isfinite(q[layer - 1]):  # overflowed float64: stays infinite
            q[layer:] = math.inf
            break
        q[layer] = sw2[layer] * gaussian_second_moment(activation, q[layer - 1]) + sigma_b2
    return q


def sigma_w2_of(spec: Any, fan_in: int, fan_out: int) -> float:
    """``fan_in * Var(W)`` of a ``(fan_in, fan_out)`` Dense kernel drawn from ``spec``.

    Uses the intended scheme the audit checks (:func:`initstudy.analysis.scheme.intended_scheme`).
    For orthogonal kernels, ``Var(W)`` is the mean square ``gain**2 / max(fan_in,
    fan_out)``. An all-zero kernel has ``sigma_w2 = 0``: every pre-activation is 0
    (no signal). Raises ``ValueError``, with the reason as its message, when the
    theory does not apply: data-dependent or undeclared schemes, other constant or
    identity kernels, non-zero mean.
    """
    parsed = parse(spec)
    if parsed.is_data_dependent:
        raise ValueError(f"data-dependent ({parsed.name}): rescaled on data, no variance ex ante")
    scheme = intended_scheme(parsed, class_declaration)
    if scheme is None:
        raise ValueError("no intended scheme declared")
    if scheme.family == "constant" and scheme.mean == 0:
        return 0.0
    if not (scheme.is_random or scheme.family == "orthogonal"):
        raise ValueError(f"{scheme.text}: not random")
    if scheme.mean != 0:
        raise ValueError(f"{scheme.text}: non-zero mean")
    return fan_in * scheme.variance((fan_in, fan_out))


def measured_variance(
    spec: Any,
    activation: str | Callable,
    width: int,
    depth: int,
    x: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Per-layer ``mean(h_l**2)`` over units and inputs in one random ``width x depth`` MLP.

    Kernels of layer ``l = 0, 1, ...`` are ``build(spec, seed + l)(shape=(fan_in, width))``,
    biases zero, computed in float64 numpy (no training; the network at init).
    The mean square estimates ``q_l`` (the variance under the zero-mean weight ensemble).
    """
    phi = resolve_activation(activation)
    parsed = parse(spec)
    signal = np.asarray(x, dtype=np.float64)
    q = np.empty(depth)
    for layer in range(depth):
        kernel = build(parsed, seed + layer)(shape=(signal.shape[1], width))
        h = signal @ keras.ops.convert_to_numpy(kernel).astype(np.float64)
        q[layer] = np.mean(h**2)
        signal = phi(h)
    return q


# --------------------------------------------------------------------------------------
# Theory beside measurement: the prediction for the study's MLPs against the per-layer
# statistics the trainer measured at init (``results/signal.parquet``, epoch 0),
# compared by :mod:`initstudy.analysis.stability`.

def input_size(dataset: str) -> int:
    """Features of a flattened input of ``dataset``: the first Dense layer's fan-in."""
    return math.prod(DATASETS[dataset].input_shape)


def predicted_profiles(
    specs: list,
    datasets: Sequence[str],
    activations: Sequence[str],
    width: int,
    depth: int,
    q0: float = 1.0,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Mean-field ``q_1..q_depth`` of an MLP with ``width`` units per layer, per curve.

    Returns the long table ``dataset, activation, initializer, layer, predicted`` and,
    for the specs the theory does not cover (:func:`sigma_w2_of` refuses them),
    ``{label: reason}``. The first layer's fan-in is the dataset's input size
    (:func:`input_size`); ``q0 = 1`` because every input channel is standardized on
    the training split (:func:`initstudy.data.datasets.standardize`).
    """
    rows, skipped = [], {}
    for spec, dataset in itertools.product(specs, datasets):
        label = parse(spec).label
        try:
            first, hidden = (sigma_w2_of(spec, n, width) for n in (input_size(dataset), width))
        except ValueError as exc:
            skipped[label] = str(exc)
            continue
        for activation in activations:
            q = predicted_variance(activation, [first] + [hidden] * (depth - 1), depth, q0)
            rows += [(dataset, activation, label, layer + 1, v) for layer, v in enumerate(q)]
    return pd.DataFrame(rows, columns=[*CURVE, "layer", "predicted"]), skipped


def theory_tables(config: dict[str, Any], signal: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Theory beside measurement for a study: ``theory_predicted``
    (:func:`predicted_profiles` for every (dataset, activation, initializer) of the grid
    at ``training.width`` and depths ``1..max(grid.depths)``), ``theory_measured``
    (:func:`~initstudy.analysis.stability.measured_profiles` of the study's MLPs) and
    ``theory`` (the stability table, :func:`~initstudy.analysis.stability.stability_table`,
    one row per curve)."""
    grid, width = config["grid"], config["training"]["width"]
    depth = max(grid["depths"])
    labels = [parse(spec).label for spec in grid["initializers"]]
    predicted, skipped = predicted_profiles(
        grid["initializers"], grid["datasets"], grid["activations"], width, depth
    )
    measured = measured_profiles(signal)
    curves = list(itertools.product(grid["datasets"], grid["activations"], labels))
    return {"theory_predicted": predicted, "theory_measured": measured,
            "theory": stability_table(predicted, measured, skipped, curves)}
