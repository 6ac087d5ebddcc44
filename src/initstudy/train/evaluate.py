"""Evaluation of every member of a pack on its group's validation or test split.

Per member m: loss = Σ_i CE_m(i) / n and accuracy = Σ_i [argmax logits_m(i) = y_i] / n
over the n examples of the split, computed in batches of at most ``EVAL_BATCH``
(the last one padded with weight-0 examples, so the step compiles once), as
Keras' ``model.evaluate`` reports them.

:class:`Evaluator` keeps each split on the device (batched, per data group) and runs
all its batches in one compiled loop, which writes each batch's per-member sums
into a (batches, M) table; the host adds the rows in float64 in batch order.
:func:`evaluate` is the reference: one compiled call per batch, fed from the host.
Both run the same step on the same batches, so their numbers are bit-identical.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.train.step import PackData, add_rows, write_row

if TYPE_CHECKING:
    import keras

EVAL_BATCH = 1024


def eval_sums(model: "keras.Model"):
    """``(params, x, y, w) -> (Σ_b w·CE, Σ_b w·correct)`` per member (not compiled)."""

    def step(params, x, y, w):
        logits, _ = model.stateless_call(params, [], x)
        ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
        correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32")
        return ops.sum(ce * w, axis=1), ops.sum(correct * w, axis=1)

    return step


def make_eval_step(model: "keras.Model"):
    """Compiled ``(params, x, y, w) -> (Σ_b w·CE, Σ_b w·correct)`` per member."""
    return runtime.compile_step(eval_sums(model))


def split_batches(data: PackData, split: str) -> tuple[int, list]:
    """(n, [(x, y, w) per batch]): ``split`` of each group, in batches of ``min(EVAL_BATCH, n)``,
    x (G, size, ...), y (G, size) int32, w (M, size) float32 (1 on real examples)."""
    xs = [getattr(d, f"x_{split}") for d in data.groups]
    ys = [getattr(d, f"y_{split}") for d in data.groups]
    n, members = len(ys[0]), data.members
    if n == 0:
        return 0, []
    size = min(EVAL_BATCH, n)
    out = []
    for start in range(0, n, size):
        xb = np.stack([x[start:start + size] for x in xs])
        yb = np.stack([y[start:start + size] for y in ys]).astype("int32")
        real = yb.shape[1]
        w = np.zeros((members, size), dtype="float32")
        w[:, :real] = 1.0
        if real < size:  # pad to one shape, so the step compiles once
            xb = np.concatenate([xb, np.zeros((xb.shape[0], size - real, *xb.shape[2:]), xb.dtype)], axis=1)
            yb = np.concatenate([yb, np.zeros((yb.shape[0], size - real), "int32")], axis=1)
        out.append((xb, yb, w))
    return n, out


def evaluate(eval_step, params: list, data: PackData, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Per member (mean loss, accuracy) on ``split`` ("val" or "test"); NaN for an empty split.
    One call of the compiled ``eval_step`` per batch (the reference for :class:`Evaluator`)."""
    n, batches = split_batches(data, split)
    if n == 0:
        return np.full(data.members, np.nan), np.full(data.members, np.nan)
    loss, correct = np.zeros(data.members), np.zeros(data.members)
    for xb, yb, w in batches:
        l, c = eval_step(params, xb[data.group], yb[data.group], w)
        loss += ops.convert_to_numpy(l)
        correct += ops.convert_to_numpy(c)
    return loss / n, correct / n


class Evaluator:
    """``evaluator(params, split)``: per member (mean loss, accuracy) on ``split``, all
    batches in one compiled call; each split goes to the device on first use."""

    def __init__(self, model: "keras.Model", data: PackData):
        self.data = data
        self._sums = eval_sums(model)
        self._loop = runtime.compile_step(self._all_batches)
        self._group = ops.convert_to_tensor(data.group.astype("int32"))
        self._splits: dict[str, tuple] = {}

    def _device_split(self, split: str) -> tuple:
        if split not in self._splits:
            n, batches = split_batches(self.data, split)
            stacked = tuple(ops.convert_to_tensor(np.stack(a)) for a in zip(*batches)) if n else ()
            self._splits[split] = (n, stacked)
        return self._splits[split]

    def _all_batches(self, params, group, x, y, w):
        def body(carry):
            b, losses, corrects = carry
            l, c = self._sums(params, ops.take(ops.take(x, b, axis=0), group, axis=0),
                              ops.take(ops.take(y, b, axis=0), group, axis=0), ops.take(w, b, axis=0))
            return b + 1, write_row(losses, b, l), write_row(corrects, b, c)

        batches, members, _ = ops.shape(w)  # a tensor where a retrace relaxed the dimension
        table = ops.zeros((batches, members), "float32")
        start = (ops.convert_to_tensor(0, "int32"), table, table)
        _, losses, corrects = runtime.while_loop(lambda carry: ops.less(carry[0], batches), body, start)
        return losses, corrects

    def __call__(self, params: list, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Per member (mean loss, accuracy) on ``split`` ("val" or "test"); NaN for an empty split."""
        n, arrays = self._device_split(split)
        members = self.data.members
        if n == 0:
            return np.full(members, np.nan), np.full(members, np.nan)
        losses, corrects = self._loop(params, self._group, *arrays)
        loss, correct = np.zeros(members), np.zeros(members)
        batches = arrays[0].shape[0]
        add_rows(loss, losses, batches)
        add_rows(correct, corrects, batches)
        return loss / n, correct / n
