"""One training step of a pack, and the batches it is fed.

Per step, for the stacked model of M members (see :mod:`initstudy.models.packed`):

- member m gets its own batch ``idx[m]`` of its training split: members with the
  same seed share the split and the batches (common random numbers), members with
  different seeds have their own split (a data group each) and their own permutation;
- loss = Σ_m active_m · CE_m, with CE_m the mean cross-entropy of member m's batch,
  so ∂loss/∂θ_m = ∂CE_m/∂θ_m, the gradient member m would get alone;
- a member whose CE is NaN/Inf becomes inactive: its gradient is zeroed and its
  parameters keep their values (its updates stop); nothing of it reaches another
  member, whose numbers are unchanged;
- the optimizer (SGD, momentum, Adam, RMSprop: element-wise) updates all members.

The last batch of an epoch is padded to the batch size with weight-0 examples, so
the step compiles once and the mean is over the real examples only (as
``model.fit``'s partial last batch). The batch order of epoch e is a pure function
of (data-order seed, e), so a resumed job sees the batches it would have seen.

The trainer runs many steps per compiled call (:meth:`TrainStep.run`: a whole epoch,
or a chunk of it): the epoch's rows and weights for all its steps go to the device
once, the steps run in one compiled loop (:func:`initstudy.core.runtime.while_loop`)
that carries the active flags and writes each step's per-member loss and correct
sums into a (steps, M) table, and the loop stops after the step that leaves no
member active. Each step is the single step's computation (:meth:`TrainStep.__call__`,
the reference), on the same inputs, in the same order, and the host adds the table's
rows in float64 in step order as it adds the single steps' results. Without XLA the
numbers are bit-identical to a host loop of single steps; under XLA (TensorFlow's
``xla``, or JAX) the compiler builds a step inside a loop differently from a step
alone (fusion, threading), so some differ in their last bits (relative ~1e-8 to 1e-7;
records say which loop ran, in ``execution.loop``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.study.runs import Pack, Run

if TYPE_CHECKING:
    import keras

    from initstudy.data.datasets import Dataset


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of the training split for ``epoch`` (a pure function of both)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class PackData:
    """A pack's data: one group per seed (its split, its batch order); member m reads
    group ``group[m]``. ``load(run)`` is called once per seed, on its first member."""

    def __init__(self, pack: Pack, load: "Callable[[Run], Dataset]"):
        seeds = sorted({r.seed for r in pack.runs})
        firsts = [next(r for r in pack.runs if r.seed == s) for s in seeds]
        self.groups = [load(r) for r in firsts]
        self.order_seeds = [r.data_order_seed for r in firsts]
        self.group = np.array([seeds.index(r.seed) for r in pack.runs])
        self.n_train = len(self.groups[0].y_train)
        if any(len(d.y_train) != self.n_train for d in self.groups):
            raise ValueError(f"pack {pack.pack_id}: training splits differ in size across seeds")
        # All groups' training splits back to back; group g's example i is row g·n + i.
        self.x_train = ops.convert_to_tensor(np.concatenate([d.x_train for d in self.groups]))
        self.y_train = ops.convert_to_tensor(np.concatenate([d.y_train for d in self.groups]).astype("int32"))

    @property
    def members(self) -> int:
        return len(self.group)

    def train_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per member, ``rows`` of its training split: x (M, k, ...), y (M, k) int32."""
        x = np.stack([d.x_train[rows] for d in self.groups])[self.group]
        y = np.stack([d.y_train[rows] for d in self.groups])[self.group].astype("int32")
        return x, y

    def epoch_batches(self, epoch: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """All batches of ``epoch`` at once: rows of ``x_train`` (steps, M, size) int32 and
        weights (steps, M, size) float32; step k is the k-th of :meth:`batches`."""
        n = self.n_train
        steps = -(-n // size)
        orders = np.stack([epoch_order(s, epoch, n) + g * n for g, s in enumerate(self.order_seeds)])
        idx = np.zeros((self.members, steps * size), dtype="int32")
        idx[:, :n] = orders[self.group]
        w = np.zeros((self.members, steps * size), dtype="float32")
        w[:, :n] = 1.0

        def by_step(a):
            return np.ascontiguousarray(a.reshape(self.members, steps, size).transpose(1, 0, 2))
        return by_step(idx), by_step(w)

    def batches(self, epoch: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of ``epoch``, one step at a time: (rows of ``x_train``, weights), both (M, size)."""
        idx, w = self.epoch_batches(epoch, size)
        yield from zip(idx, w)


def member_mask(flags, like):
    """(M,) booleans broadcast against a stacked tensor of shape (M, ...)."""
    return ops.reshape(flags, (-1,) + (1,) * (len(like.shape) - 1))


def masked_loss(model: "keras.Model"):
    """``(params, x, y, w, active) -> (Σ kept CE_m, (Σ_b w·CE, Σ_b w·correct, kept))``.

    CE_m is member m's w-weighted mean cross-entropy; it is kept when the member is
    active and CE_m is finite.
    """

    def loss(params, x, y, w, active):
        logits, _ = model.stateless_call(params, [], x)
        ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
        examples = ops.sum(w, axis=1)
        per_member = ops.sum(ce * w, axis=1) / examples
        keep = ops.logical_and(active, ops.isfinite(per_member))
        total = ops.sum(ops.where(keep, per_member, ops.zeros_like(per_member)))
        correct = ops.sum(ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32") * w, axis=1)
        return total, (per_member * examples, correct, keep)

    return loss


def _masked_grads(grads, keep):
    return [ops.where(member_mask(keep, g), g, ops.zeros_like(g)) for g in grads]


def write_row(table, i, row):
    """``table`` (K, M) with row ``i`` replaced by ``row`` (M,): a select, exact for any value."""
    hit = ops.expand_dims(ops.equal(ops.arange(ops.shape(table)[0], dtype="int32"), i), 1)
    return ops.where(hit, ops.expand_dims(row, 0), table)


def add_rows(total: np.ndarray, table, done: int) -> None:
    """``total += table[k]`` for k < ``done``, in step order (float64 on the host, as the
    single steps' results are added)."""
    for row in ops.convert_to_numpy(table)[:done]:
        total += row


class TrainStep:
    """The pack's weights and optimizer state, and the compiled step that updates them.

    On JAX the step is pure (state in, state out) and the state is carried here as
    arrays; TensorFlow has no stateless optimizer step, so there the state stays in
    the Keras variables, updated in place. :meth:`sync_model` makes the model's
    variables hold the current values either way.
    """

    def __init__(self, model: "keras.Model", optimizer: "keras.optimizers.Optimizer", data: PackData):
        self.model, self.optimizer, self.data = model, optimizer, data
        self.stateful = runtime.backend() == "tensorflow"
        self._loss = masked_loss(model)
        if self.stateful:
            self._step = runtime.compile_step(self._stateful_step)
            self._loop = runtime.compile_step(self._stateful_loop)
        else:
            # The steps donate the state they replace (their arguments 0 and 1), so it is
            # held in this object's own buffers, never in arrays someone else holds.
            self.set_state([v.value for v in model.trainable_variables], [v.value for v in optimizer.variables])
            self._step = runtime.compile_step(self._functional_step, donate=(0, 1))
            self._loop = runtime.compile_step(self._functional_loop, donate=(0, 1))

    def __call__(self, active: np.ndarray, idx: np.ndarray, w: np.ndarray):
        """One step on the batch (``idx``, ``w``); per member (kept, Σ w·CE, Σ w·correct)."""
        if self.stateful:
            return self._step(active, self.data.x_train, self.data.y_train, idx, w)
        self._params, self._opt_vars, *out = self._step(
            self._params, self._opt_vars, active, self.data.x_train, self.data.y_train, idx, w)
        return out

    def run(self, active: np.ndarray, idx: np.ndarray, w: np.ndarray, count: int | None = None):
        """Steps 0..``count``-1 of (``idx``, ``w``), each (K, M, B), in one compiled call,
        stopping after a step that leaves no member active; ``count`` defaults to K (a
        shorter count lets a last, padded chunk reuse the compiled loop).

        Returns (kept (M,), per-step Σ w·CE (K, M), per-step Σ w·correct (K, M), steps
        run): the tables as tensors, their rows ≥ steps run zero.
        """
        count = np.asarray(len(idx) if count is None else count, dtype="int32")
        data = (self.data.x_train, self.data.y_train, idx, w, count)
        if self.stateful:
            keep, losses, corrects, done = self._loop(active, *data)
        else:
            self._params, self._opt_vars, keep, losses, corrects, done = self._loop(
                self._params, self._opt_vars, active, *data)
        return keep, losses, corrects, int(ops.convert_to_numpy(done))

    def _loop_start(self, active, idx):
        table = ops.zeros(ops.shape(idx)[:2], "float32")
        return ops.convert_to_tensor(0, "int32"), ops.convert_to_tensor(active), table, table

    @staticmethod
    def _go_on(count):
        """The loop's condition: steps left and a member active (carry: step first, the
        active flags third from last)."""
        return lambda carry: ops.logical_and(ops.less(carry[0], count), ops.any(carry[-3]))

    def _functional_loop(self, params, opt_vars, active, x_all, y_all, idx, w, count):
        def body(carry):
            i, params, opt_vars, active, losses, corrects = carry
            inputs = runtime.barrier((params, opt_vars, active, ops.take(idx, i, axis=0), ops.take(w, i, axis=0)))
            params, opt_vars, active, idx_i, w_i = inputs
            outputs = self._functional_step(params, opt_vars, active, x_all, y_all, idx_i, w_i)
            params, opt_vars, keep, l, c = runtime.barrier(tuple(outputs))
            return i + 1, params, opt_vars, keep, write_row(losses, i, l), write_row(corrects, i, c)

        i, active, losses, corrects = self._loop_start(active, idx)
        i, params, opt_vars, keep, losses, corrects = runtime.while_loop(
            self._go_on(count), body, (i, list(params), list(opt_vars), active, losses, corrects))
        return params, opt_vars, keep, losses, corrects, i

    def _stateful_loop(self, active, x_all, y_all, idx, w, count):
        def body(carry):
            i, active, losses, corrects = carry
            active, idx_i, w_i = runtime.barrier((active, ops.take(idx, i, axis=0), ops.take(w, i, axis=0)))
            keep, l, c = runtime.barrier(tuple(self._stateful_step(active, x_all, y_all, idx_i, w_i)))
            return i + 1, keep, write_row(losses, i, l), write_row(corrects, i, c)

        i, keep, losses, corrects = runtime.while_loop(self._go_on(count), body, self._loop_start(active, idx))
        return keep, losses, corrects, i

    def _functional_step(self, params, opt_vars, active, x_all, y_all, idx, w):
        x, y = ops.take(x_all, idx, axis=0), ops.take(y_all, idx, axis=0)
        (_, (loss_sum, correct, keep)), grads = runtime.value_and_grad(self._loss)(params, x, y, w, active)
        new_params, new_opt = self.optimizer.stateless_apply(opt_vars, _masked_grads(grads, keep), params)
        new_params = [ops.where(member_mask(keep, n), n, o) for n, o in zip(new_params, params)]
        return new_params, new_opt, keep, loss_sum, correct

    def _stateful_step(self, active, x_all, y_all, idx, w):
        variables = self.model.trainable_variables
        params = [v.value for v in variables]
        x, y = ops.take(x_all, idx, axis=0), ops.take(y_all, idx, axis=0)
        (_, (loss_sum, correct, keep)), grads = runtime.value_and_grad(self._loss)(params, x, y, w, active)
        self.optimizer.apply(_masked_grads(grads, keep), variables)
        for var, old in zip(variables, params):
            var.assign(ops.where(member_mask(keep, old), var.value, old))
        return keep, loss_sum, correct

    @property
    def params(self) -> list:
        """Current weights, in ``model.trainable_variables`` order."""
        if self.stateful:
            return [v.value for v in self.model.trainable_variables]
        return self._params

    @property
    def opt_vars(self) -> list:
        """Current optimizer state, in ``optimizer.variables`` order."""
        if self.stateful:
            return [v.value for v in self.optimizer.variables]
        return self._opt_vars

    def set_state(self, params: list, opt_vars: list) -> None:
        if self.stateful:
            for var, value in zip(self.model.trainable_variables, params):
                var.assign(value)
            for var, value in zip(self.optimizer.variables, opt_vars):
                var.assign(value)
        else:  # copies: the next step donates them
            self._params = [ops.copy(v) for v in params]
            self._opt_vars = [ops.copy(v) for v in opt_vars]

    def sync_model(self) -> None:
        """Make the Keras model's variables hold the current values (for export); copies,
        since a later step donates this object's buffers."""
        if not self.stateful:
            for var, value in zip(self.model.trainable_variables, self._params):
                var.assign(ops.copy(value))
            for var, value in zip(self.optimizer.variables, self._opt_vars):
                var.assign(ops.copy(value))
