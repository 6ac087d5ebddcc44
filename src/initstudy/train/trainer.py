"""The packed trainer: one loop for packs of any size (a solo run is a pack of one).

The parts, each in its module: the step and its batches (:mod:`.step`), evaluation
(:mod:`.evaluate`), signal statistics and weight histograms (:mod:`.observers`),
the checkpoint (:mod:`.checkpoint`), LSUV (:mod:`initstudy.inits.lsuv`). The loop:

1. restore the checkpoint if there is one for this pack, else initialize: LSUV for
   its members, initial kernels kept, signal measured at epoch 0;
2. per epoch: the steps, then validation on the whole validation split; the train
   loss/accuracy of the epoch are averaged over its examples as Keras reports them;
   a member whose loss turns NaN/Inf stops there (its history ends with nulls);
3. after each epoch: signal measured, full state saved atomically, so a killed job
   restarts from its last completed epoch and produces bit-identical numbers;
4. test evaluation, histograms, and one result dict per member.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from keras import ops

from initstudy.core import faults
from initstudy.inits import lsuv
from initstudy.models.packed import PackedNet, build_packed, stateless_forward
from initstudy.study.runs import Pack, Run
from initstudy.train import checkpoint as checkpoints
from initstudy.train import probes
from initstudy.train.evaluate import evaluate, make_eval_step
from initstudy.train.observers import SignalLog, WeightHistograms
from initstudy.train.optimizers import make_optimizer
from initstudy.train.records import finite_or_none
from initstudy.train.step import PackData, TrainStep

if TYPE_CHECKING:
    from initstudy.data.datasets import Dataset


class PackTrainer:
    """Trains one pack; :meth:`fit` returns one result dict per member."""

    def __init__(self, pack: Pack, training: dict, data: "Callable[[Run], Dataset]",
                 checkpoint: str | Path | None = None):
        """``data(run)`` loads a member's dataset split; it is called once per seed."""
        self.pack, self.training = pack, training
        self.members = len(pack.runs)
        self.data = PackData(pack, data)
        first = self.data.groups[0]
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.model: PackedNet = build_packed(pack, first.input_shape, first.num_classes, training)
        optimizer = make_optimizer(pack.runs[0].optimizer, training)
        optimizer.build(self.model.trainable_variables)
        self.train_step = TrainStep(self.model, optimizer, self.data)
        self.eval_step = make_eval_step(self.model)
        self.forward = stateless_forward(self.model)
        self.kernel_positions = self.model.kernel_positions
        self.probe_x, self.probe_y = self.data.train_rows(
            probes.probe_indices(self.data.n_train, training["probe_size"]))
        self.signal = SignalLog(self.forward, self.kernel_positions, self.probe_x, self.probe_y,
                                [r.activation for r in pack.runs])
        self.histograms = WeightHistograms(self.kernel_positions)
        self.active = np.ones(self.members, dtype=bool)
        self.history: list[list[dict[str, Any]]] = [[] for _ in pack.runs]
        self.diverged_epoch: list[int | None] = [None] * self.members
        self.init_stats: list[dict | None] = [None] * self.members
        self.epochs_done = 0

    @property
    def params(self) -> list:
        """Current weights, in ``model.trainable_variables`` order."""
        return self.train_step.params

    def fit(self) -> list[dict[str, Any]]:
        """Train (resuming from the checkpoint if there is one); per member, its results.
        Afterwards the model's variables hold the trained values."""
        if not self._restore():
            self.initialize()
        for epoch in range(self.epochs_done + 1, self.training["epochs"] + 1):
            if not self.active.any():
                break
            active_before = self.active.copy()
            self.run_epoch(epoch)
            self.signal.measure(self.params, epoch, active_before)
            self._save()
            faults.point(f"epoch{epoch}-saved")
        test_loss, test_acc = evaluate(self.eval_step, self.params, self.data, "test")
        self.train_step.sync_model()
        histograms = self.histograms(self.params, [h[-1]["epoch"] if h else 0 for h in self.history])
        return [{
            "history": self.history[m],
            "signal": self.signal.rows[m],
            "weights": histograms[m],
            **({"init_stats": self.init_stats[m]} if self.init_stats[m] else {}),
            "test": {"loss": finite_or_none(test_loss[m]), "accuracy": finite_or_none(test_acc[m])},
            "diverged": self.diverged_epoch[m] is not None,
            "diverged_epoch": self.diverged_epoch[m],
        } for m in range(self.members)]

    def initialize(self) -> None:
        """Data-dependent initialization (LSUV), then the epoch-0 observations."""
        params, self.init_stats = lsuv.apply(self.forward, self.params, self.probe_x,
                                             [r.init for r in self.pack.runs], self.kernel_positions)
        self.train_step.set_state(params, self.train_step.opt_vars)
        self.histograms.start(self.params)
        self.signal.measure(self.params, 0, np.ones(self.members, dtype=bool))

    def run_epoch(self, epoch: int) -> None:
        """Train one epoch, validate, and append each member's row to its history."""
        n = self.data.n_train
        loss_sum, correct = np.zeros(self.members), np.zeros(self.members)
        active_at_start = self.active.copy()
        for step, (idx, w) in enumerate(self.data.batches(epoch, self.training["batch_size"])):
            faults.point(f"epoch{epoch}-step{step}")
            keep, l, c = self.train_step(self.active, idx, w)
            self.active = ops.convert_to_numpy(keep).astype(bool)
            loss_sum += ops.convert_to_numpy(l)
            correct += ops.convert_to_numpy(c)
            if not self.active.any():
                break
        val_loss, val_acc = evaluate(self.eval_step, self.params, self.data, "val")
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

    # ---- checkpointing (resume after a kill) ------------------------------------------
    def _save(self) -> None:
        if not self.checkpoint:
            return
        progress = {"epochs_done": self.epochs_done, "history": self.history, "signal": self.signal.rows,
                    "diverged_epoch": self.diverged_epoch, "init_stats": self.init_stats,
                    "active": self.active.tolist()}
        checkpoints.save(self.checkpoint, checkpoints.signature(self.pack, self.training), checkpoints.Saved(
            self.params, self.train_step.opt_vars, self.histograms.initial, progress))

    def _restore(self) -> bool:
        """Take up the saved state, if there is a checkpoint of this pack; whether there was."""
        if not self.checkpoint:
            return False
        saved = checkpoints.load(self.checkpoint, checkpoints.signature(self.pack, self.training))
        if saved is None:
            return False
        self.train_step.set_state(saved.params, saved.opt_vars)
        self.histograms.initial = saved.initial_kernels
        p = saved.progress
        self.epochs_done, self.history, self.signal.rows = p["epochs_done"], p["history"], p["signal"]
        self.diverged_epoch, self.init_stats = p["diverged_epoch"], p["init_stats"]
        self.active = np.array(p["active"], dtype=bool)
        return True
