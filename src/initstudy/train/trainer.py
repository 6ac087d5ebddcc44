"""The packed trainer: one loop for packs of any size (a solo run is a pack of one).

Per step, for the stacked model of M members (see :mod:`initstudy.models.packed`):

- member m gets its own batch ``idx[m]`` of its training split: members with the
  same seed share the split and the batches (common random numbers), members with
  different seeds have their own split (``data[g]``) and their own permutation;
- loss = Σ_m active_m · CE_m, with CE_m the mean cross-entropy of member m's batch,
  so ∂loss/∂θ_m = ∂CE_m/∂θ_m, the gradient member m would get alone;
- a member whose CE is NaN/Inf becomes inactive: its gradient is zeroed and its
  parameters keep their values (its updates stop); nothing of it reaches another
  member, whose numbers are unchanged;
- the optimizer (SGD, momentum, Adam, RMSprop: element-wise) updates all members.

The last batch of an epoch is padded to the batch size with weight-0 examples, so
the step compiles once and the mean is over the real examples only (as
``model.fit``'s partial last batch). Train loss/accuracy of an epoch are averaged
over its examples as Keras reports them; validation metrics are computed after the
epoch on the whole validation split.

After every epoch the full state (weights, optimizer state, active mask, history)
is saved atomically to a checkpoint; a killed job restarts from its last completed
epoch and produces bit-identical numbers, because the batch order of epoch e is a
pure function of (data-order seed, e).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np
from keras import ops

from initstudy.core import faults

from initstudy.inits import lsuv

from initstudy.core import runtime

from initstudy.train import probes as signal
from initstudy.core.atomic import atomic_path
from initstudy.models.packed import PackedNet, build_packed
from initstudy.train.records import finite_or_none
from initstudy.study.runs import Pack, Run

if TYPE_CHECKING:
    from initstudy.data.datasets import Dataset

EVAL_BATCH = 1024


def make_optimizer(name: str, training: dict) -> keras.optimizers.Optimizer:
    lr = training["learning_rate"][name]
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=lr, momentum=training["momentum"])
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    raise ValueError(f"unknown optimizer {name!r}; expected sgd, momentum, adam or rmsprop")


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of the training split for ``epoch`` (a pure function of both)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _member_mask(flags, like):
    """(M,) booleans broadcast against a stacked tensor of shape (M, ...)."""
    return ops.reshape(flags, (flags.shape[0],) + (1,) * (len(like.shape) - 1))


class PackTrainer:
    """Trains one pack; :meth:`fit` returns one result dict per member."""

    def __init__(self, pack: Pack, training: dict, data: "Callable[[Run], Dataset]",
                 checkpoint: str | Path | None = None):
        """``data(run)`` loads a member's dataset split; it is called once per seed."""
        self.pack, self.training = pack, training
        self.members = len(pack.runs)
        # One data group per seed: its split, its batch order. Members index into it.
        seeds = sorted({r.seed for r in pack.runs})
        firsts = [next(r for r in pack.runs if r.seed == s) for s in seeds]
        self.data = [data(r) for r in firsts]
        self.order_seeds = [r.data_order_seed for r in firsts]
        self.group = np.array([seeds.index(r.seed) for r in pack.runs])
        first = self.data[0]
        self.n_train = len(first.y_train)
        if any(len(d.y_train) != self.n_train for d in self.data):
            raise ValueError(f"pack {pack.pack_id}: training splits differ in size across seeds")
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.model: PackedNet = build_packed(pack, first.input_shape, first.num_classes, training)
        self.optimizer = make_optimizer(pack.runs[0].optimizer, training)
        self.optimizer.build(self.model.trainable_variables)
        # TensorFlow has no stateless optimizer step: there the state stays in the
        # Keras variables; on JAX it is carried as arrays and synced back at the end.
        self.stateful = runtime.backend() == "tensorflow"
        self._params = [v.value for v in self.model.trainable_variables]
        self._opt_vars = [v.value for v in self.optimizer.variables]
        self.active = np.ones(self.members, dtype=bool)
        self.history: list[list[dict[str, Any]]] = [[] for _ in pack.runs]
        self.diverged_epoch: list[int | None] = [None] * self.members
        self.epochs_done = 0
        # All groups' training splits back to back; group g's example i is row g·n + i.
        self._x_train = ops.convert_to_tensor(np.concatenate([d.x_train for d in self.data]))
        self._y_train = ops.convert_to_tensor(np.concatenate([d.y_train for d in self.data]).astype("int32"))
        self._train_step = runtime.compile_step(self._step_stateful if self.stateful else self._step_functional)
        self._eval_step = runtime.compile_step(self._eval)
        probe = signal.probe_indices(self.n_train, training["probe_size"])
        self.probe_x = np.stack([d.x_train[probe] for d in self.data])[self.group]
        self.probe_y = np.stack([d.y_train[probe] for d in self.data])[self.group].astype("int32")
        variables = self.model.trainable_variables
        #: Position of each hidden kernel in ``params`` (= model.trainable_variables).
        self.kernel_positions = [next(i for i, v in enumerate(variables) if v is layer.kernel)
                                 for layer in self.model.hidden]
        self._probe = signal.make_probe(self.model, self.kernel_positions)
        self.signal: list[list[dict[str, Any]]] = [[] for _ in pack.runs]
        self.init_stats: list[dict | None] = [None] * self.members
        depth = len(self.model.hidden)
        #: Hidden layers (1-based) whose weight histograms are recorded: first, middle, last.
        self.histogram_layers = sorted({1, (depth + 1) // 2, depth})
        self.initial_kernels: dict[int, np.ndarray] = {}

    # ---- compiled pieces (keras.ops only) -------------------------------------------
    def _loss(self, params, x, y, w, active):
        logits, _ = self.model.stateless_call(params, [], x)
        ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
        examples = ops.sum(w, axis=1)
        per_member = ops.sum(ce * w, axis=1) / examples
        keep = ops.logical_and(active, ops.isfinite(per_member))
        total = ops.sum(ops.where(keep, per_member, ops.zeros_like(per_member)))
        correct = ops.sum(ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32") * w, axis=1)
        return total, (per_member * examples, correct, keep)

    def _masked_grads(self, grads, keep):
        return [ops.where(_member_mask(keep, g), g, ops.zeros_like(g)) for g in grads]

    def _step_functional(self, params, opt_vars, active, x_all, y_all, idx, w):
        """JAX: a pure step, state in and state out."""
        x, y = ops.take(x_all, idx, axis=0), ops.take(y_all, idx, axis=0)
        (_, (loss_sum, correct, keep)), grads = runtime.value_and_grad(self._loss)(params, x, y, w, active)
        new_params, new_opt = self.optimizer.stateless_apply(opt_vars, self._masked_grads(grads, keep), params)
        new_params = [ops.where(_member_mask(keep, n), n, o) for n, o in zip(new_params, params)]
        return new_params, new_opt, keep, loss_sum, correct

    def _step_stateful(self, active, x_all, y_all, idx, w):
        """TensorFlow (no ``stateless_apply``): update the variables in place."""
        variables = self.model.trainable_variables
        params = [v.value for v in variables]
        x, y = ops.take(x_all, idx, axis=0), ops.take(y_all, idx, axis=0)
        (_, (loss_sum, correct, keep)), grads = runtime.value_and_grad(self._loss)(params, x, y, w, active)
        self.optimizer.apply(self._masked_grads(grads, keep), variables)
        for var, old in zip(variables, params):
            var.assign(ops.where(_member_mask(keep, old), var.value, old))
        return keep, loss_sum, correct

    def _eval(self, params, x, y, w):
        logits, _ = self.model.stateless_call(params, [], x)
        ce = ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
        correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32")
        return ops.sum(ce * w, axis=1), ops.sum(correct * w, axis=1)

    # ---- host-side loop ---------------------------------------------------------------
    def _batches(self, epoch: int):
        n, b = self.n_train, self.training["batch_size"]
        orders = np.stack([epoch_order(s, epoch, n) + g * n for g, s in enumerate(self.order_seeds)])
        orders = orders[self.group]
        for start in range(0, n, b):
            idx = orders[:, start:start + b]
            real = idx.shape[1]
            w = np.zeros((self.members, b), dtype="float32")
            w[:, :real] = 1.0
            if real < b:
                idx = np.pad(idx, ((0, 0), (0, b - real)))
            yield idx.astype("int32"), w

    def evaluate(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-member (mean loss, accuracy) on ``split`` ("val" or "test") of its group."""
        xs = [getattr(d, f"x_{split}") for d in self.data]
        ys = [getattr(d, f"y_{split}") for d in self.data]
        n = len(ys[0])
        if n == 0:
            return np.full(self.members, np.nan), np.full(self.members, np.nan)
        size = min(EVAL_BATCH, n)
        loss, correct = np.zeros(self.members), np.zeros(self.members)
        for start in range(0, n, size):
            xb = np.stack([x[start:start + size] for x in xs])
            yb = np.stack([y[start:start + size] for y in ys]).astype("int32")
            real = yb.shape[1]
            w = np.zeros((self.members, size), dtype="float32")
            w[:, :real] = 1.0
            if real < size:  # pad to one shape, so the step compiles once
                xb = np.concatenate([xb, np.zeros((xb.shape[0], size - real, *xb.shape[2:]), xb.dtype)], axis=1)
                yb = np.concatenate([yb, np.zeros((yb.shape[0], size - real), "int32")], axis=1)
            l, c = self._eval_step(self.params, xb[self.group], yb[self.group], w)
            loss += ops.convert_to_numpy(l)
            correct += ops.convert_to_numpy(c)
        return loss / n, correct / n

    def run_epoch(self, epoch: int) -> None:
        n = self.n_train
        loss_sum, correct = np.zeros(self.members), np.zeros(self.members)
        active_at_start = self.active.copy()
        for step, (idx, w) in enumerate(self._batches(epoch)):
            faults.point(f"epoch{epoch}-step{step}")
            if self.stateful:
                keep, l, c = self._train_step(self.active, self._x_train, self._y_train, idx, w)
            else:
                self._params, self._opt_vars, keep, l, c = self._train_step(
                    self._params, self._opt_vars, self.active, self._x_train, self._y_train, idx, w)
            self.active = ops.convert_to_numpy(keep).astype(bool)
            loss_sum += ops.convert_to_numpy(l)
            correct += ops.convert_to_numpy(c)
            if not self.active.any():
                break
        val_loss, val_acc = self.evaluate("val")
        for m in np.flatnonzero(active_at_start):
            ok = bool(self.active[m])
            self.history[m].append({
                "epoch": epoch,
                "train_loss": finite_or_none(loss_sum[m] / n) if ok else None,
                "train_accuracy": finite_or_none(correct[m] / n) if ok else None,
                "val_loss": finite_or_none(val_loss[m]) if ok else None,
                "val_accuracy": finite_or_none(val_acc[m]) if ok else None,
            })
            if not ok:
                self.diverged_epoch[m] = epoch
        self.epochs_done = epoch

    def fit(self) -> list[dict[str, Any]]:
        """Train (resuming from the checkpoint if there is one); per member, its results."""
        self._restore()
        if self.epochs_done == 0:
            self.init_stats = lsuv.apply(self)
            self.initial_kernels = self._histogram_kernels()
            self.measure_signal(0, np.ones(self.members, dtype=bool))
        for epoch in range(self.epochs_done + 1, self.training["epochs"] + 1):
            if not self.active.any():
                break
            active_before = self.active.copy()
            self.run_epoch(epoch)
            self.measure_signal(epoch, active_before)
            self._save()
            faults.point(f"epoch{epoch}-saved")
        test_loss, test_acc = self.evaluate("test")
        self.sync_model()
        histograms = self.weight_histograms()
        return [{
            "history": self.history[m],
            "signal": self.signal[m],
            "weights": histograms[m],
            **({"init_stats": self.init_stats[m]} if self.init_stats[m] else {}),
            "test": {"loss": finite_or_none(test_loss[m]), "accuracy": finite_or_none(test_acc[m])},
            "diverged": self.diverged_epoch[m] is not None,
            "diverged_epoch": self.diverged_epoch[m],
        } for m in range(self.members)]

    def measure_signal(self, epoch: int, members: np.ndarray) -> None:
        """Per-layer statistics on the probe batch for the given members (see :mod:`signal`)."""
        stats = self._probe(self.params, self.probe_x, self.probe_y)
        rows = signal.to_rows(stats, [r.activation for r in self.pack.runs], epoch)
        for i in np.flatnonzero(members):
            self.signal[i].extend(rows[i])

    def _histogram_kernels(self) -> dict[int, np.ndarray]:
        return {layer: ops.convert_to_numpy(self.params[self.kernel_positions[layer - 1]])
                for layer in self.histogram_layers}

    def weight_histograms(self, bins: int = 40) -> list[list[dict[str, Any]]]:
        """Per member, histograms of the recorded layers' kernels at init (epoch 0) and
        now (its last epoch), on common edges spanning both: ±max|w| (±1 if all zero)."""
        now = self._histogram_kernels()
        out: list[list[dict[str, Any]]] = [[] for _ in range(self.members)]
        for m in range(self.members):
            last = self.history[m][-1]["epoch"] if self.history[m] else 0
            for layer in self.histogram_layers:
                pair = (self.initial_kernels[layer][m], now[layer][m])
                finite = [w[np.isfinite(w)] for w in pair]
                limit = max((float(np.abs(w).max()) for w in finite if w.size), default=0.0) or 1.0
                edges = np.linspace(-limit, limit, bins + 1)
                for epoch, w in zip((0, last), finite):
                    out[m].append({"epoch": epoch, "layer": layer, "bin_edges": edges.tolist(),
                                   "counts": np.histogram(w, edges)[0].tolist()})
        return out

    @property
    def params(self) -> list:
        """Current weights, in ``model.trainable_variables`` order."""
        if self.stateful:
            return [v.value for v in self.model.trainable_variables]
        return self._params

    @property
    def opt_vars(self) -> list:
        if self.stateful:
            return [v.value for v in self.optimizer.variables]
        return self._opt_vars

    def set_state(self, params: list, opt_vars: list) -> None:
        if self.stateful:
            for var, value in zip(self.model.trainable_variables, params):
                var.assign(value)
            for var, value in zip(self.optimizer.variables, opt_vars):
                var.assign(value)
        else:
            self._params = [ops.convert_to_tensor(v) for v in params]
            self._opt_vars = [ops.convert_to_tensor(v) for v in opt_vars]

    def sync_model(self) -> None:
        """Make the Keras model's variables hold the trained values (for export)."""
        if not self.stateful:
            for var, value in zip(self.model.trainable_variables, self._params):
                var.assign(value)
            for var, value in zip(self.optimizer.variables, self._opt_vars):
                var.assign(value)

    # ---- checkpointing (resume after a kill) ------------------------------------------
    def signature(self) -> str:
        """Identifies what is being trained; a checkpoint of anything else is ignored."""
        payload = json.dumps([[r.to_dict() for r in self.pack.runs], self.training,
                              runtime.settings()], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _save(self) -> None:
        if not self.checkpoint:
            return
        arrays = {f"p{i}": ops.convert_to_numpy(v) for i, v in enumerate(self.params)}
        arrays |= {f"o{i}": ops.convert_to_numpy(v) for i, v in enumerate(self.opt_vars)}
        arrays |= {f"w0_{layer}": w for layer, w in self.initial_kernels.items()}
        meta = {"signature": self.signature(), "epochs_done": self.epochs_done,
                "history": self.history, "signal": self.signal, "diverged_epoch": self.diverged_epoch,
                "init_stats": self.init_stats,
                "active": self.active.tolist()}
        with atomic_path(self.checkpoint) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

    def _restore(self) -> None:
        if not (self.checkpoint and self.checkpoint.exists()):
            return
        with np.load(self.checkpoint, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta["signature"] != self.signature():
                return
            self.set_state([z[f"p{i}"] for i in range(len(self.model.trainable_variables))],
                           [z[f"o{i}"] for i in range(len(self.optimizer.variables))])
            self.initial_kernels = {layer: z[f"w0_{layer}"] for layer in self.histogram_layers}
        self.epochs_done = meta["epochs_done"]
        self.history = meta["history"]
        self.signal = meta["signal"]
        self.init_stats = meta["init_stats"]
        self.diverged_epoch = meta["diverged_epoch"]
        self.active = np.array(meta["active"], dtype=bool)
