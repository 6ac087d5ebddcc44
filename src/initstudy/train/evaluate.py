"""Evaluation of every member of a pack on its group's validation or test split.

Per member m: loss = Σ_i CE_m(i) / n and accuracy = Σ_i [argmax logits_m(i) = y_i] / n
over the n examples of the split, computed in batches of at most ``EVAL_BATCH``
(the last one padded with weight-0 examples, so the step compiles once), as
Keras' ``model.evaluate`` reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.train.step import PackData

if TYPE_CHECKING:
    import keras

EVAL_BATCH = 1024


def make_eval_step(model: "keras.Model"):
    """Compiled ``(params, x, y, w) -> (Σ_b w·CE, Σ_b w·correct)`` per member."""

    def step(params, x, y, w):
        logits, _ = model.stateless_call(params, [], x)
        ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
        correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32")
        return ops.sum(ce * w, axis=1), ops.sum(correct * w, axis=1)

    return runtime.compile_step(step)


def evaluate(eval_step, params: list, data: PackData, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Per member (mean loss, accuracy) on ``split`` ("val" or "test"); NaN for an empty split."""
    xs = [getattr(d, f"x_{split}") for d in data.groups]
    ys = [getattr(d, f"y_{split}") for d in data.groups]
    n, members = len(ys[0]), data.members
    if n == 0:
        return np.full(members, np.nan), np.full(members, np.nan)
    size = min(EVAL_BATCH, n)
    loss, correct = np.zeros(members), np.zeros(members)
    for start in range(0, n, size):
        xb = np.stack([x[start:start + size] for x in xs])
        yb = np.stack([y[start:start + size] for y in ys]).astype("int32")
        real = yb.shape[1]
        w = np.zeros((members, size), dtype="float32")
        w[:, :real] = 1.0
        if real < size:  # pad to one shape, so the step compiles once
            xb = np.concatenate([xb, np.zeros((xb.shape[0], size - real, *xb.shape[2:]), xb.dtype)], axis=1)
            yb = np.concatenate([yb, np.zeros((yb.shape[0], size - real), "int32")], axis=1)
        l, c = eval_step(params, xb[data.group], yb[data.group], w)
        loss += ops.convert_to_numpy(l)
        correct += ops.convert_to_numpy(c)
    return loss / n, correct / n
