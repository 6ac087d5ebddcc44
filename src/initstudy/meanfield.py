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
(:func:`initstudy.audit.intended_scheme`): He 2, LeCun 1, Glorot with equal fans
1, ``random_normal(stddev=0.01)`` at fan-in 128: ``128e-4``.

The Gaussian expectation is integrated with ``scipy.integrate.quad`` on the two
half-lines split at 0, not with Gauss-Hermite quadrature: Gauss-Hermite nodes
spread over ``|z| < ~sqrt(4 N)`` and miss the transition of a saturating
activation at large ``q`` (``tanh`` at ``q = 100``: 5 % error with 101 nodes) and
converge only algebraically across the kink at 0 of ReLU-type activations (SELU
at ``q = 1``: 1e-4 with 101 nodes), whereas adaptive quadrature with the kink as
an end point reaches ``1e-10`` relative for any activation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import matplotlib
import seaborn as sns
import numpy as np
import pandas as pd
import scipy.integrate
import scipy.special
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, StrMethodFormatter

from initstudy.atomic import atomic_path
from initstudy.audit import intended_scheme
from initstudy.initializers import InitializerError, build, parse

#: SELU constants (Klambauer et al., 2017, arXiv:1706.02515), as in ``tf.nn.selu``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def linear(x):
    """``phi(x) = x`` (``keras.activations.linear``)."""
    return np.asarray(x, dtype=np.float64)


def relu(x):
    """``max(x, 0)`` (``keras.activations.relu`` with its defaults)."""
    return np.maximum(x, 0.0)


def leaky_relu(x, negative_slope: float = 0.2):
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


def _activation(activation: str | Callable) -> Callable:
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[activation]


_SQRT_2PI = math.sqrt(2 * math.pi)


def gaussian_second_moment(activation: str | Callable, q: float) -> float:
    """``E_{z~N(0,1)}[phi(sqrt(q) z)**2]`` by adaptive quadrature on ``(-inf, 0]``, ``[0, inf)``."""
    phi = _activation(activation)
    if q == 0:
        return float(phi(np.float64(0.0)) ** 2)
    root = math.sqrt(q)

    def integrand(z: float) -> float:
        return float(phi(np.float64(root * z)) ** 2) * math.exp(-z * z / 2) / _SQRT_2PI

    halves = [
        scipy.integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-10, limit=200)[0]
        for a, b in ((-np.inf, 0.0), (0.0, np.inf))
    ]
    return float(sum(halves))


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
    input's, so it may differ).
    """
    sw2 = np.broadcast_to(np.asarray(sigma_w2, dtype=np.float64), (depth,))
    q = np.empty(depth)
    q[0] = sw2[0] * q0 + sigma_b2
    for layer in range(1, depth):
        q[layer] = sw2[layer] * gaussian_second_moment(activation, q[layer - 1]) + sigma_b2
    return q


def sigma_w2_of(spec: Any, fan_in: int, fan_out: int) -> float:
    """``fan_in * Var(W)`` of a ``(fan_in, fan_out)`` Dense kernel drawn from ``spec``.

    Uses the intended scheme the audit checks (:func:`initstudy.audit.intended_scheme`).
    For orthogonal kernels, ``Var(W)`` is the mean square ``gain**2 / max(fan_in,
    fan_out)``. Raises ``ValueError`` when the theory does not apply: constant or
    identity kernels, non-zero mean, data-dependent or undeclared schemes.
    """
    try:
        scheme = intended_scheme(spec)
    except InitializerError as exc:
        raise ValueError(f"no weight variance for mean-field theory: {exc}") from None
    if scheme is None:
        raise ValueError(f"{parse(spec).label}: no intended scheme declared")
    variance = scheme.variance((fan_in, fan_out))
    if scheme.mean != 0:
        raise ValueError(f"{scheme.text}: mean-field theory here assumes zero-mean weights")
    return fan_in * variance


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
    phi = _activation(activation)
    parsed = parse(spec)
    signal = np.asarray(x, dtype=np.float64)
    q = np.empty(depth)
    for layer in range(depth):
        kernel = build(parsed, seed + layer)(shape=(signal.shape[1], width))
        h = signal @ keras.ops.convert_to_numpy(kernel).astype(np.float64)
        q[layer] = np.mean(h**2)
        signal = phi(h)
    return q


def theory_vs_measurement(
    specs: list,
    activations: list[str],
    width: int,
    depth: int,
    x: np.ndarray,
    seeds: Sequence[int] = (0,),
) -> pd.DataFrame:
    """Long table: ``activation, initializer, layer (1..depth), seed, predicted, measured``.

    The prediction uses each layer's own ``sigma_w2`` (first layer: ``fan_in = x.shape[1]``)
    and ``q0 = mean(x**2)``.
    """
    q0 = float(np.mean(np.asarray(x, dtype=np.float64) ** 2))
    rows = []
    for spec in specs:
        label = parse(spec).label
        hidden = sigma_w2_of(spec, width, width)
        sw2 = [sigma_w2_of(spec, x.shape[1], width)] + [hidden] * (depth - 1)
        for activation in activations:
            predicted = predicted_variance(activation, sw2, depth, q0)
            for seed in seeds:
                measured = measured_variance(spec, activation, width, depth, x, seed)
                rows += [
                    {
                        "activation": activation,
                        "initializer": label,
                        "layer": layer + 1,
                        "seed": seed,
                        "predicted": predicted[layer],
                        "measured": measured[layer],
                    }
                    for layer in range(depth)
                ]
    return pd.DataFrame(rows)


#: Print sizes at a 6.5-inch figure width: nothing under 8 pt.
_PRINT_STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "pdf.fonttype": 42,
}
_MARKERS = "osD^vP*Xhp"


def plot_theory_vs_measurement(df: pd.DataFrame, path) -> None:
    """Vector PDF: one panel per activation, ``q_l`` (log) against layer ``l``.

    Lines are the mean-field prediction, open markers the measurement (one per
    seed), one colour and marker per initializer. ``df`` as from
    :func:`theory_vs_measurement`. Written atomically and without a creation date
    (the same table gives the same bytes).
    """
    activations = list(dict.fromkeys(df["activation"]))
    initializers = list(dict.fromkeys(df["initializer"]))
    colours = dict(zip(initializers, sns.color_palette("colorblind", len(initializers))))
    markers = dict(zip(initializers, itertools.cycle(_MARKERS)))
    ncols = min(3, len(activations))
    nrows = math.ceil(len(activations) / ncols)
    with matplotlib.rc_context(_PRINT_STYLE):
        fig = Figure(figsize=(6.5, 0.6 + 2.0 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
        for ax, activation in zip(axes.flat, activations):
            _panel(ax, df[df["activation"] == activation], colours, markers)
            ax.set_title(activation)
        for k, ax in enumerate(axes.flat):
            if k >= len(activations):
                ax.set_visible(False)
            elif k + ncols >= len(activations):  # the lowest panel of its column
                ax.set_xlabel(r"layer $\ell$")
                ax.tick_params(labelbottom=True)
        for ax in axes[:, 0]:
            ax.set_ylabel(r"pre-activation variance $q_\ell$")
        handles = [
            Line2D([], [], color=colours[i], marker=markers[i], mfc="none", label=i)
            for i in initializers
        ]
        handles += [
            Line2D([], [], color="0.3", label="theory (line)"),
            Line2D([], [], color="0.3", ls="none", marker="o", mfc="none", label="measured"),
        ]
        fig.legend(
            handles=handles, loc="outside lower center", ncols=min(4, len(handles)), frameon=False
        )
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})


def _panel(ax, df: pd.DataFrame, colours: dict, markers: dict) -> None:
    """One activation: theory line and measured markers per initializer, log y."""
    positive = df.assign(
        predicted=df["predicted"].where(df["predicted"] > 0),
        measured=df["measured"].where(df["measured"] > 0),
    )
    for initializer, group in positive.groupby("initializer", sort=False):
        theory = group.groupby("layer")["predicted"].first()
        ax.plot(theory.index, theory.to_numpy(), color=colours[initializer], lw=1.2)
        ax.plot(
            group["layer"],
            group["measured"],
            ls="none",
            marker=markers[initializer],
            ms=4,
            mfc="none",
            mew=0.9,
            color=colours[initializer],
        )
    ax.set_yscale("log")
    values = positive[["predicted", "measured"]].stack()
    if values.max() / values.min() < 30:  # under ~1.5 decades: plain labels at 1, 2, 5 x 10^k
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.yaxis.set_minor_formatter(StrMethodFormatter("{x:g}"))
    ax.grid(True, which="major", lw=0.4, alpha=0.5)
