"""Example custom initializers: how to plug your own scheme into the study.

Each class is a ``keras.initializers.Initializer`` usable from a config as::

    {name: "initstudy.inits.custom:FixedUniform", limit: 0.05}

and each declares what it *means* to draw through ``intended_scheme()``: an
initializer spec of a Keras built-in with the same distribution (for example
``{"name": "random_uniform", "minval": -0.05, "maxval": 0.05}``), or a scheme
Keras lacks (``{"name": "clipped_normal", "stddev": s}``). :mod:`initstudy.analysis.sampling`
draws from the class and tests the draws against that declaration, so a bug in
the implementation (``ChannelsFirstHe``) shows up as a failed audit row.

Each also declares the values its numeric and string arguments take, as the class
attribute ``argument_ranges``: a mapping argument -> kind from
:mod:`initstudy.study.arguments` (``Real(above=0)``: a finite number > 0, never a
bool; ``Integer(at_least=1)``; ``Choice((...))``). A config's spec is checked
against it when the train job imports the class (:func:`initstudy.inits.resolve.check`),
with the one-line error a built-in's bad value gets when the workflow is parsed;
an argument left out of the mapping is passed to the class unchecked. The
constructor keeps its own checks: the class is usable without a config too.

Seeds follow Keras: an integer ``seed`` is passed to ``keras.random``, so the same
seed draws the same values for the same shape on every call; ``seed=None`` draws
fresh values each call.

Fans follow Keras (``keras.initializers.VarianceScaling``; :mod:`initstudy.study.fans`):
a Dense kernel is ``(in, out)``; a convolution kernel is ``(k1, ..., kd, in, out)``,
with receptive field ``prod(k)``, ``fan_in = prod(k) * in`` and ``fan_out = prod(k) * out``.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from initstudy.study.arguments import Choice, Real
from initstudy.study.fans import CUT, TRUNCATED_STD, channels_first_fans, keras_fans


class _Seeded(keras.initializers.Initializer):
    """Shared plumbing: an integer (or ``None``) seed handed to ``keras.random``."""

    def __init__(self, seed: int | None = None):
        if seed is not None and not isinstance(seed, int):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class FixedUniform(_Seeded):
    """Uniform on a fixed interval: ``W ~ U(-limit, limit)``, ``Var(W) = limit**2 / 3``.

    The tutorial example: no dependence on the kernel's shape, so the output
    variance of a layer grows with its fan-in (compare ``lecun_uniform``, whose
    limit is ``sqrt(3 / fan_in)``; LeCun et al., *Efficient BackProp*, 1998).
    """

    argument_ranges = {"limit": Real(above=0)}

    def __init__(self, limit: float = 0.05, seed: int | None = None):
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit!r}")
        self.limit = float(limit)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return keras.random.uniform(
            shape, minval=-self.limit, maxval=self.limit, dtype=dtype, seed=self.seed
        )

    def intended_scheme(self) -> dict[str, Any]:
        return {"name": "random_uniform", "minval": -self.limit, "maxval": self.limit}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "limit": self.limit}


class ClippedNormal(_Seeded):
    """Normal draws *clipped* (not resampled) at two standard deviations.

    ``W = clip(Z, -2 stddev, 2 stddev)`` with ``Z ~ N(0, stddev**2)``: values beyond
    the bounds are set to the bound, so each bound carries the probability mass
    ``P(Z > 2 stddev) = 1 - Phi(2) = 0.02275``, and
    ``Var(W) = stddev**2 * (2 Phi(2) - 1 - 4 phi(2) + 8 (1 - Phi(2))) = 0.9205 stddev**2``.
    Keras' ``truncated_normal`` instead *re-draws* those values (no point masses,
    ``Var = 0.7737 stddev**2``); the audit tells the two apart.
    """

    argument_ranges = {"stddev": Real(above=0)}

    def __init__(self, stddev: float = 0.05, seed: int | None = None):
        if stddev <= 0:
            raise ValueError(f"stddev must be positive, got {stddev!r}")
        self.stddev = float(stddev)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        draws = keras.random.normal(shape, stddev=self.stddev, dtype=dtype, seed=self.seed)
        bound = CUT * self.stddev
        return keras.ops.clip(draws, -bound, bound)

    def intended_scheme(self) -> dict[str, Any]:
        return {"name": "clipped_normal", "stddev": self.stddev}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev}


class HandVarianceScaling(_Seeded):
    """Variance scaling written out by hand: ``Var(W) = scale / n``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (``mode``), with
    fans computed the Keras way (:func:`keras_fans`). ``distribution`` follows Keras:

    - ``"uniform"``: ``U(-sqrt(3 scale / n), sqrt(3 scale / n))``;
    - ``"untruncated_normal"``: ``N(0, scale / n)``;
    - ``"truncated_normal"`` (alias ``"normal"``, as in Keras): a normal with
      ``stddev = sqrt(scale / n) / 0.8796`` re-drawn beyond two standard
      deviations, whose variance is ``scale / n``.

    ``scale=2, mode="fan_in"`` is He et al. (2015), arXiv:1502.01852;
    ``scale=1, mode="fan_avg"`` is Glorot & Bengio (2010).
    """

    #: How the kernel's shape becomes ``(fan_in, fan_out)``.
    fan_rule = staticmethod(keras_fans)
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")
    argument_ranges = {"scale": Real(above=0), "mode": Choice(("fan_in", "fan_out", "fan_avg")),
                       "distribution": Choice((*_DISTRIBUTIONS, "normal"))}

    def __init__(
        self,
        scale: float = 2.0,
        mode: str = "fan_in",
        distribution: str = "normal",
        seed: int | None = None,
    ):
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be normal or one of {self._DISTRIBUTIONS}, got {distribution!r}"
            )
        self.scale = float(scale)
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def stddev(self, shape) -> float:
        """``sqrt(scale / max(1, n))`` for this kernel shape."""
        fan_in, fan_out = self.fan_rule(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return math.sqrt(self.scale / max(1.0, n))

    def __call__(self, shape, dtype=None):
        std = self.stddev(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return keras.random.normal(shape, stddev=std, dtype=dtype, seed=self.seed)
        return keras.random.truncated_normal(
            shape, stddev=std / TRUNCATED_STD, dtype=dtype, seed=self.seed
        )

    def intended_scheme(self) -> dict[str, Any]:
        return {
            "name": "variance_scaling",
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }


class ChannelsFirstHe(HandVarianceScaling):
    """He normal with the classic layout bug: conv fans read as channels-first.

    Intends ``he_normal`` (``Var(W) = 2 / fan_in``, truncated normal) but computes
    fans with :func:`channels_first_fans`, as if a Keras ``(kh, kw, in, out)``
    kernel were PyTorch's ``(out, in, kh, kw)``: ``fan_in = kw * in * out``. Dense
    kernels come out right; a ``(3, 3, 16, 32)`` kernel gets ``Var = 2 / 1536``
    instead of ``2 / 144`` (10.7 times too small), so activations shrink layer by
    layer in a CNN. Kept as a known-bad example for the audit.
    """

    fan_rule = staticmethod(channels_first_fans)
    argument_ranges = {}  # scale, mode and distribution are fixed

    def __init__(self, seed: int | None = None):
        super().__init__(scale=2.0, mode="fan_in", distribution="truncated_normal", seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}
