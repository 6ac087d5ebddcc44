"""Singular values of an MLP's input-output Jacobian at init: the dynamical-isometry diagnostic.

Convention (Keras ``Dense``: row vectors, kernels of shape ``(fan_in, fan_out)``)::

    h_1 = x W_1 + b_1,    h_{l+1} = phi(h_l) W_{l+1} + b_{l+1},    l = 1 .. L-1

The Jacobian of the last given layer's pre-activation with respect to the input, written
for column vectors (``J[i, j] = d h_L[i] / d x[j]``, shape ``(fan_out_L, d_0)``), is::

    J(x) = W_L^T D_{L-1} W_{L-1}^T ... D_1 W_1^T,     D_l = diag(phi'(h_l(x)))

There is no ``D_L``: pass the kernels up to the layer whose pre-activation is wanted (the
hidden layers only, or with the classifier's kernel). A network is *dynamically
isometric* when all singular values of ``J`` concentrate near 1 (Saxe et al., 2013,
arXiv:1312.6120; Pennington et al., 2017, arXiv:1711.04735): a deep linear network with
orthogonal weights has ``J`` orthogonal; with Gaussian weights, or any ReLU network, the
spread of ``log s`` grows with depth.

``J`` is built by the forward recursion ``M_1 = W_1``, ``M_{l+1} = M_l diag(phi'(h_l)) W_{l+1}``
(``M_l = J_l^T``, shape ``(d_0, fan_out_l)``), for all inputs at once in float64: ``L``
batched products of ``d_0 x width`` by ``width x width``, so width 128 at depth 64 takes a
fraction of a second. The singular values come from ``numpy.linalg.svd``, accurate to
about ``1e-16`` times the largest one: a condition number beyond ~``1e12`` is resolved
only roughly at the small end.

Pure numpy; the activation and its derivative are passed in as numpy functions (the twins
of the Keras activations and their derivatives are
:data:`initstudy.models.activations.ACTIVATIONS` and ``DERIVATIVES``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def input_output_jacobians(
    x: np.ndarray,
    kernels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray] | None,
    activation: Callable,
    derivative: Callable,
) -> np.ndarray:
    """``M[n] = J(x[n])^T = d h_L / d x`` per input, shape ``(inputs, d_0, fan_out_L)``.

    ``x``: ``(inputs, d_0)``; ``kernels[l]``: ``(fan_in, fan_out)``; ``biases[l]``:
    ``(fan_out,)``, or ``None`` for zero biases. ``activation`` and ``derivative``: ``phi``
    and ``phi'`` as elementwise numpy functions.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    kernels = [np.asarray(w, dtype=np.float64) for w in kernels]
    if not kernels:
        raise ValueError("no kernels: the network needs at least one layer")
    biases = [np.zeros(w.shape[1]) for w in kernels] if biases is None else [
        np.asarray(b, dtype=np.float64) for b in biases]
    if len(biases) != len(kernels):
        raise ValueError(f"{len(kernels)} kernels but {len(biases)} biases")
    if x.shape[1] != kernels[0].shape[0]:
        raise ValueError(f"inputs have {x.shape[1]} features, the first kernel's fan-in is {kernels[0].shape[0]}")
    h = x @ kernels[0] + biases[0]
    jac = np.broadcast_to(kernels[0], (x.shape[0], *kernels[0].shape))
    for kernel, bias in zip(kernels[1:], biases[1:]):
        jac = (jac * derivative(h)[:, None, :]) @ kernel
        h = activation(h) @ kernel + bias
    return np.array(jac)


def jacobian_singular_values(
    x: np.ndarray,
    kernels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray] | None,
    activation: Callable,
    derivative: Callable,
) -> np.ndarray:
    """Singular values of ``J(x[n])`` per input, descending: shape ``(inputs, min(d_0, fan_out_L))``.

    Arguments as in :func:`input_output_jacobians`.
    """
    jac = input_output_jacobians(x, kernels, biases, activation, derivative)
    return np.linalg.svd(jac, compute_uv=False)


#: Singular values below ``RANK_RTOL`` times the largest of their input's are numerically zero:
#: about ``numpy.linalg.matrix_rank``'s rule ``max(d_0, fan_out) * eps`` at widths up to ~450.
#: They are exact zeros (a ReLU layer's dead units remove directions) or true values that
#: float64 cannot resolve in the product (a deep Gaussian network's small end falls like
#: ``exp(-c L)``).
RANK_RTOL = 1e-13
#: The statistics :func:`spectrum_summary` returns, in order.
SPECTRUM_FIELDS = ("mean_log_s", "std_log_s", "max_s", "min_s", "condition", "mean_s2", "rank_fraction",
                   "count")


def spectrum_summary(singular_values: np.ndarray, rtol: float = RANK_RTOL) -> dict[str, float]:
    """Summary of singular values ``(inputs, k)``, pooled over inputs.

    Of the numerically non-zero values (``s > rtol * max(s of the same input)``; see
    :data:`RANK_RTOL`): ``mean_log_s`` and ``std_log_s`` (population std, ``ddof = 0``) of
    ``ln s``, the spread Pennington et al. (2017) track with depth, 0 for an isometry;
    ``min_s`` and ``condition = max_s / min_s``. Of all values: ``max_s``; ``mean_s2``, the
    mean squared singular value (``trace(J J^T) / k``), which mean-field theory says grows
    by ``chi_1`` per layer; ``rank_fraction``, the share that is non-zero (1 for an
    isometry, about 1/2 after one ReLU layer); ``count``, all values. The log statistics
    are thus those of the resolvable spectrum, and ``rank_fraction`` says how much of it
    fell below the floor.
    """
    s = np.atleast_2d(np.asarray(singular_values, dtype=np.float64))
    if s.size == 0:
        raise ValueError("no singular values to summarize")
    nonzero = s[s > rtol * s.max(axis=-1, keepdims=True)]
    if nonzero.size == 0:
        raise ValueError("every singular value is zero: the Jacobian vanishes")
    log_s = np.log(nonzero)
    return {
        "mean_log_s": float(log_s.mean()),
        "std_log_s": float(log_s.std()),
        "max_s": float(s.max()),
        "min_s": float(nonzero.min()),
        "condition": float(nonzero.max() / nonzero.min()),
        "mean_s2": float(np.mean(s**2)),
        "rank_fraction": nonzero.size / s.size,
        "count": int(s.size),
    }
