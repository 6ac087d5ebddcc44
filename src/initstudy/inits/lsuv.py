"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016).

Data-dependent: the kernels are first drawn by the spec's ``base`` (orthogonal by
default), then, for each hidden layer l = 1..depth in order, the kernel is rescaled

    W_l ← W_l / √Var(z_l)        until |Var(z_l) − 1| < tol or max_iter rescalings,

where z_l is layer l's output before the activation on a batch of training data
(the fixed probe batch of the member's split). Later layers see the already
rescaled earlier ones, hence "layer-sequential". Only members whose spec is LSUV
are touched; the others in the pack keep their draws.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from initstudy.core import runtime


def make_preactivation_variance(model):
    """Compiled ``(params, x) -> (layers, members)`` variances of each hidden pre-activation."""

    def variances(params, x):
        (_, hidden), _ = model.stateless_call(params, [], x, return_hidden=True)
        return ops.stack([ops.var(pre, axis=tuple(range(1, len(pre.shape)))) for pre, _ in hidden])

    return runtime.compile_step(variances)


def apply(trainer) -> list[dict | None]:
    """Rescale the kernels of the pack's LSUV members in place; per member, what was done.

    Returns, for each member, ``None`` (not LSUV) or ``{"method": "lsuv", "layers":
    [{"layer", "iterations", "variance"}...]}`` with the variance reached after the
    last rescaling (or at the start, when no rescaling was needed).
    """
    specs = [run.init for run in trainer.pack.runs]
    chosen = np.array([s.is_data_dependent and s.name == "lsuv" for s in specs])
    if not chosen.any():
        return [None] * trainer.members
    tol = np.array([s.arguments.get("tol", 0.0) for s in specs])
    max_iter = np.array([s.arguments.get("max_iter", 0) for s in specs])
    variance_of = make_preactivation_variance(trainer.model)
    params = [ops.convert_to_numpy(p) for p in trainer.params]
    positions = trainer.kernel_positions
    x = trainer.probe_x
    layers: list[list[dict]] = [[] for _ in specs]
    for layer, position in enumerate(positions):
        iterations = np.zeros(trainer.members, dtype=int)
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
    trainer.set_state(params, [ops.convert_to_numpy(v) for v in trainer.opt_vars])
    return [{"method": "lsuv", "layers": layers[m]} if chosen[m] else None for m in range(trainer.members)]
