"""Signal-propagation diagnostics: per-layer statistics on a fixed probe batch.

Measured at initialization (epoch 0, before any update) and after every epoch, for
every member of a pack at once (what Glorot & Bengio 2010 plot per layer, and what
the weight/gradient monitoring callbacks of tutorials print). For hidden layer l of
member m, with pre-activation z and activation a = φ(z) on the probe batch:

- ``activation_mean``, ``activation_std``: mean and std of a over batch and units;
- ``preactivation_var``: mean of z² minus mean(z)² (what the mean-field recursion predicts);
- ``saturated_fraction``: tanh: share of |a| > 0.99; sigmoid: share of a < 0.01 or
  a > 0.99 (null for other activations);
- ``dead_fraction``: relu: share of units (Dense units, or conv feature maps) whose
  output is 0 for the whole batch (null for other activations);
- ``grad_norm``: ‖∂L/∂W_l‖₂ of the member's mean cross-entropy on the probe batch;
- ``kernel_std``: std of the entries of W_l.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.train.records import finite_or_none

#: Activations whose units saturate, and the test for it.
SATURATING = {"tanh", "sigmoid"}
DYING = {"relu"}
FIELDS = ("activation_mean", "activation_std", "preactivation_var", "saturated_fraction",
          "dead_fraction", "grad_norm", "kernel_std")
#: What the compiled probe returns: the fields, with saturation measured both ways
#: (the member's activation picks one in :func:`to_rows`).
PROBED = tuple(f for f in FIELDS if f != "saturated_fraction") + ("saturated_tanh", "saturated_sigmoid")


def probe_indices(n_train: int, size: int, seed: int = 0) -> np.ndarray:
    """A fixed probe batch from the training split (the same for every run of a dataset)."""
    return np.sort(np.random.default_rng(seed).permutation(n_train)[:min(size, n_train)])


def _reduce_axes(t) -> tuple[int, ...]:
    return tuple(range(1, len(t.shape)))


def _member_norm(g):
    return ops.sqrt(ops.sum(ops.square(g), axis=_reduce_axes(g)))


def make_probe(forward, kernel_positions: list[int]):
    """A compiled function ``(params, x, y) -> dict of (layers, members) arrays``, for the
    stateless ``forward(params, x) -> (logits, hidden)`` of a stacked model."""

    def loss(params, x, y):
        logits, hidden = forward(params, x)
        ce = ops.mean(ops.sparse_categorical_crossentropy(y, logits, from_logits=True), axis=1)
        return ops.sum(ce), hidden

    def probe(params, x, y):
        (_, hidden), grads = runtime.value_and_grad(loss)(params, x, y)
        rows = {f: [] for f in PROBED}
        for layer, (pre, act) in enumerate(hidden):
            axes = _reduce_axes(act)
            rows["activation_mean"].append(ops.mean(act, axis=axes))
            rows["activation_std"].append(ops.std(act, axis=axes))
            rows["preactivation_var"].append(ops.var(pre, axis=axes))
            rows["saturated_tanh"].append(ops.mean(ops.cast(ops.abs(act) > 0.99, "float32"), axis=axes))
            outside = ops.logical_or(act < 0.01, act > 0.99)
            rows["saturated_sigmoid"].append(ops.mean(ops.cast(outside, "float32"), axis=axes))
            unit_max = ops.max(ops.abs(act), axis=axes[:-1])  # (M, units)
            rows["dead_fraction"].append(ops.mean(ops.cast(unit_max == 0, "float32"), axis=1))
            kernel = params[kernel_positions[layer]]
            rows["grad_norm"].append(_member_norm(grads[kernel_positions[layer]]))
            rows["kernel_std"].append(ops.std(kernel, axis=_reduce_axes(kernel)))
        return {k: ops.stack(v) for k, v in rows.items()}

    return runtime.compile_step(probe)


def to_rows(stats: dict, activations: list[str], epoch: int) -> list[list[dict]]:
    """Per member, one row per hidden layer (JSON-ready: non-finite values are null)."""
    arrays = {k: ops.convert_to_numpy(v) for k, v in stats.items()}
    layers, members = arrays["activation_mean"].shape
    out = []
    for m in range(members):
        act = activations[m]
        rows = []
        for layer in range(layers):
            row = {"epoch": epoch, "layer": layer + 1}
            for field in ("activation_mean", "activation_std", "preactivation_var", "grad_norm", "kernel_std"):
                row[field] = finite_or_none(arrays[field][layer, m])
            row["saturated_fraction"] = (finite_or_none(arrays[f"saturated_{act}"][layer, m])
                                         if act in SATURATING else None)
            row["dead_fraction"] = (finite_or_none(arrays["dead_fraction"][layer, m])
                                    if act in DYING else None)
            rows.append(row)
        out.append(rows)
    return out
