"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016).

Data-dependent: the kernels are first drawn by the spec's ``base`` (orthogonal by
default), then, for each hidden layer l = 1..depth in order, the kernel is rescaled

    W_l ← W_l / √Var(z_l)        until |Var(z_l) − 1| < tol or max_iter rescalings,

where z_l is layer l's output before the activation on a batch of training data
(the fixed probe batch of the member's split). Later layers see the already
rescaled earlier ones, hence "layer-sequential". Only members whose spec is LSUV
are touched; the others in the pack keep their draws.

Everything here works on a stacked model's weights (member axis first, see
:mod:`initstudy.models.packed`) through its stateless forward function, so it
needs no trainer: weights in, weights out.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.study.specs import InitSpec

#: ``forward(params, x) -> (logits, [(pre-activation, activation) per hidden layer])``.
Forward = Callable


def make_preactivation_variance(forward: Forward):
    """Compiled ``(params, x) -> (layers, members)`` variances of each hidden pre-activation."""

    def variances(params, x):
        _, hidden = forward(params, x)
        return ops.stack([ops.var(pre, axis=tuple(range(1, len(pre.shape)))) for pre, _ in hidden])

    return runtime.compile_step(variances)


def apply(forward: Forward, params: Sequence, x, specs: Sequence[InitSpec],
          kernel_positions: Sequence[int]) -> tuple[list, list[dict | None]]:
    """LSUV for the members whose spec is LSUV; ``(new params, per-member log)``.

    ``params`` are the stacked weights, ``kernel_positions[l]`` the index of hidden
    layer l+1's kernel among them, ``x`` the probe batch (one per member, stacked),
    ``specs`` the members' initializer specs. The new params are NumPy arrays (the
    input ones, unchanged, when no member is LSUV). The log of a member is ``None``
    (not LSUV) or ``{"method": "lsuv", "layers": [{"layer", "iterations", "variance"}...]}``
    with the variance reached after the last rescaling (or at the start, when no
    rescaling was needed).
    """
    members = len(specs)
    chosen = np.array([s.is_data_dependent and s.name == "lsuv" for s in specs])
    if not chosen.any():
        return list(params), [None] * members
    tol = np.array([s.arguments.get("tol", 0.0) for s in specs])
    max_iter = np.array([s.arguments.get("max_iter", 0) for s in specs])
    variance_of = make_preactivation_variance(forward)
    params = [ops.convert_to_numpy(p) for p in params]
    layers: list[list[dict]] = [[] for _ in specs]
    for layer, position in enumerate(kernel_positions):
        iterations = np.zeros(members, dtype=int)
        while True:
            var = ops.convert_to_numpy(variance_of(params, x))[layer].astype("float64")
            todo = chosen & (np.abs(var - 1.0) >= tol) & (iterations < max_iter) & np.isfinite(var) & (var > 0)
            if not todo.any():
                break
            scale = np.where(todo, 1.0 / np.sqrt(np.where(todo, var, 1.0)), 1.0).astype(params[position].dtype)
            params[position] = params[position] * scale.reshape((-1,) + (1,) * (params[position].ndim - 1))
            iterations += todo
        for m in np.flatnonzero(chosen):
            layers[m].append({"layer": layer + 1, "iterations": int(iterations[m]),
                              "variance": float(var[m]) if np.isfinite(var[m]) else None})
    return params, [{"method": "lsuv", "layers": layers[m]} if chosen[m] else None for m in range(members)]
