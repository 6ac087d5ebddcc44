"""How Keras lays out a kernel and cuts a normal: fans and the truncation, without Keras.

A Dense kernel is ``(in, out)``; a convolution kernel is ``(k1, ..., kd, in, out)``,
with receptive field ``prod(k)``, ``fan_in = prod(k) * in`` and ``fan_out = prod(k) *
out`` (``keras.src.initializers.compute_fans``). Keras' truncated normal re-draws
values beyond :data:`CUT` standard deviations and divides the target standard
deviation by :data:`TRUNCATED_STD`, so that the draws have the target variance.

These are facts about Keras that both the initializers (:mod:`initstudy.inits.custom`
draws with them) and the analysis (:mod:`initstudy.analysis.scheme` states what a
scheme intends with them) need. Here they import neither Keras nor TensorFlow, so
that the analysis' scheme model, and the paper that cites the audit's constants,
stay free of both. ``tests/test_audit.py`` holds them against Keras'
``compute_fans``.
"""

from __future__ import annotations

import math

import scipy.stats

#: Normal draws are cut at this many standard deviations (Keras' truncated normal).
CUT = 2.0

#: Standard deviation of N(0, 1) truncated to [-2, 2]; Keras divides the target
#: standard deviation by this (0.87962566103423978) so that the truncated draws
#: have the target variance.
TRUNCATED_STD = float(scipy.stats.truncnorm(-CUT, CUT).std())


def _product(dims) -> int:
    return math.prod(int(d) for d in dims)


def keras_fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a kernel laid out the Keras way, ``(k1, ..., kd, in, out)``.

    ``fan_in = prod(k) * in`` and ``fan_out = prod(k) * out``; a Dense kernel
    ``(in, out)`` has ``prod(k) = 1``. Same as ``keras.src.initializers.compute_fans``
    for kernels (rank >= 2).
    """
    if len(shape) < 2:
        raise ValueError(f"a kernel has rank >= 2; got shape {tuple(shape)}")
    receptive = _product(shape[:-2])
    return receptive * int(shape[-2]), receptive * int(shape[-1])


def channels_first_fans(shape) -> tuple[int, int]:
    """Fans of a kernel read as channels-first ``(out, in, k1, ..., kd)`` (PyTorch's layout).

    ``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] * prod(shape[2:])``
    for convolution kernels (rank > 2); a Dense kernel is read the Keras way
    ``(in, out)``. Applied to a Keras ``(kh, kw, in, out)`` kernel this is the
    classic porting bug: ``fan_in = kw * in * out`` instead of ``kh * kw * in``.
    """
    if len(shape) <= 2:
        return keras_fans(shape)
    receptive = _product(shape[2:])
    return int(shape[1]) * receptive, int(shape[0]) * receptive
