"""The study's activations as numpy functions, with their derivatives: the float64
twins of ``keras.activations`` (same constants, same side at a kink), for what is
computed outside Keras: the mean-field integrals (:mod:`initstudy.analysis.meanfield`)
and the Jacobian spectra at init (:mod:`initstudy.train.jacobian`). numpy and scipy
only, so both can use them without importing Keras."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.special

#: SELU constants (Klambauer et al., 2017, arXiv:1706.02515), as in ``tf.nn.selu``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
#: Keras 3's default negative slope of ``leaky_relu``.
LEAKY_SLOPE = 0.2


def linear(x):
    """``phi(x) = x`` (``keras.activations.linear``)."""
    return np.asarray(x, dtype=np.float64)


def relu(x):
    """``max(x, 0)`` (``keras.activations.relu`` with its defaults)."""
    return np.maximum(x, 0.0)


def leaky_relu(x, negative_slope: float = LEAKY_SLOPE):
    """``x`` if ``x >= 0`` else ``negative_slope * x``; Keras 3's default slope is 0.2."""
    return np.where(x >= 0, x, negative_slope * np.asarray(x))


def tanh(x):
    """``tanh(x)``."""
    return np.tanh(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return scipy.special.expit(x)


def selu(x):
    """``scale * x`` if ``x > 0`` else ``scale * alpha * (exp(x) - 1)``."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def gelu(x):
    """``x * Phi(x)``, the exact GELU (``keras.activations.gelu`` has ``approximate=False``)."""
    return np.asarray(x) * scipy.special.ndtr(x)


#: The numpy twins of the Keras activations the study uses, by config name.
ACTIVATIONS: dict[str, Callable] = {
    "linear": linear,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "selu": selu,
    "gelu": gelu,
}

#: ``phi'`` of each activation; at a kink, the side the activation's own ``where`` takes.
DERIVATIVES: dict[str, Callable] = {
    "linear": lambda x: np.ones_like(np.asarray(x, dtype=np.float64)),
    "relu": lambda x: np.where(np.asarray(x) > 0, 1.0, 0.0),
    "leaky_relu": lambda x: np.where(np.asarray(x) >= 0, 1.0, LEAKY_SLOPE),
    "tanh": lambda x: 1.0 - np.tanh(x) ** 2,
    "sigmoid": lambda x: scipy.special.expit(x) * scipy.special.expit(-np.asarray(x)),
    "selu": lambda x: SELU_SCALE * np.where(np.asarray(x) > 0, 1.0,
                                            SELU_ALPHA * np.exp(np.minimum(x, 0.0))),
    "gelu": lambda x: scipy.special.ndtr(x) + np.asarray(x) * np.exp(-np.asarray(x) ** 2 / 2)
    / math.sqrt(2 * math.pi),
}


def resolve_activation(activation: str | Callable) -> Callable:
    """The numpy activation of a config name (:data:`ACTIVATIONS`); a callable passes through."""
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[activation]
