"""The packed trainer: one loop for packs of any size (a solo run is a pack of one).

The parts, each in its module: the step and its batches (:mod:`.step`), evaluation
(:mod:`.evaluate`), signal statistics, weight histograms and Jacobian spectra
(:mod:`.observers`),
the checkpoint (:mod:`.checkpoint`), LSUV (:mod:`initstudy.inits.lsuv`). The loop:

1. restore the checkpoint if there is one for this pack, else initialize: LSUV for
   its members, initial kernels kept, signal (and, if asked, the Jacobian spectra)
   measured at epoch 0;
2. per epoch: the steps, then validation on the whole validation split; the train
   loss/accuracy of the epoch are averaged over its examples as Keras reports them;
   a member whose loss turns NaN/Inf stops there (its history ends with nulls). The
   epoch's steps run in one compiled loop (or in chunks of ``steps_per_call``), and
   validation in another: the host sees the results once per call;
3. after each epoch: signal measured; the full state is saved atomically after the
   epoch that ends ``training["checkpoint_every_s"]`` seconds after the last save
   (0: every epoch), so a killed job restarts from its last saved epoch and produces
   bit-identical numbers (a save writes every weight and the records so far: after
   every epoch of a 200-epoch depth-2 pack it took 40 % of the job);
4. test evaluation, histograms, and one result dict per member.

``loop="host"`` runs the reference instead: one compiled step per batch, fed and
read back by a Python loop, and one compiled evaluation call per batch. Both loops
compute the same numbers: bit for bit without XLA, to float precision under XLA
(see :mod:`.step`; tests/test_packing.py checks both).

Kill points (:mod:`initstudy.core.faults`), in epoch e: ``epoch<e>-step<k>`` before
the call that starts at step k (with whole-epoch calls, k = 0 only; the host loop:
before every step), ``epoch<e>-trained`` after the steps, before validation and the
checkpoint (mid-epoch: the in-memory state has moved on, nothing is saved),
``epoch<e>-saved`` after the checkpoint (only in an epoch that saves one).
"""

from __future__ import annotations

import time
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
from initstudy.train.evaluate import Evaluator, evaluate, make_eval_step
from initstudy.train.observers import JacobianSpectra, SignalLog, WeightHistograms
from initstudy.train.optimizers import pack_optimizer
from initstudy.train.records import finite_or_none
from initstudy.train.step import PackData, TrainStep, add_rows

if TYPE_CHECKING:
    from initstudy.data.datasets import Dataset


class PackTrainer:
    """Trains one pack; :meth:`fit` returns one result dict per member."""

    def __init__(self, pack: Pack, training: dict, data: "Callable[[Run], Dataset]",
                 checkpoint: str | Path | None = None, *, loop: str = "compiled",
                 steps_per_call: int | None = None):
        """``data(run)`` loads a member's dataset split; it is called once per seed.

        ``loop``: "compiled" (many steps per compiled call: the whole epoch, or
        ``steps_per_call`` at a time) or "host" (the reference: one call per step);
        without XLA the numbers do not depend on either choice, under XLA the loop
        can change their last bits (see :mod:`.step`)."""
        if loop not in ("compiled", "host"):
            raise ValueError(f"loop={loop!r}: expected 'compiled' or 'host'")
        if steps_per_call is not None and steps_per_call < 1:
            raise ValueError(f"steps_per_call={steps_per_call}: expected a positive number or None")
        self.loop, self.steps_per_call = loop, steps_per_call
        self.pack, self.training = pack, training
        self.members = len(pack.runs)
        self.data = PackData(pack, data)
        first = self.data.groups[0]
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.model: PackedNet = build_packed(pack, first.input_shape, first.num_classes, training)
        optimizer = pack_optimizer(pack.runs, training)  # a learning rate per member where they differ
        optimizer.build(self.model.trainable_variables)
        self.train_step = TrainStep(self.model, optimizer, self.data)
        self.eval_step = make_eval_step(self.model)
        self.evaluator = Evaluator(self.model, self.data)
        self.forward = stateless_forward(self.model)
        self.kernel_positions = self.model.kernel_positions
        self.probe_x, self.probe_y = self.data.train_rows(
            probes.probe_indices(self.data.n_train, training["probe_size"]))
        self.signal = SignalLog(self.forward, self.kernel_positions, self.probe_x, self.probe_y,
                                [r.activation for r in pack.runs])
        self.histograms = WeightHistograms(self.kernel_positions)
        self.spectra = None
        if training["jacobian_inputs"] and self.model.arch == "mlp":
            self.spectra = JacobianSpectra(self.kernel_positions, self.model.bias_positions, self.probe_x,
                                           [r.activation for r in pack.runs], training["jacobian_inputs"])
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
        saved_at = time.monotonic()
        for epoch in range(self.epochs_done + 1, self.training["epochs"] + 1):
            if not self.active.any():
                break
            active_before = self.active.copy()
            self.run_epoch(epoch)
            self.signal.measure(self.params, epoch, active_before)
            if self.checkpoint and time.monotonic() - saved_at >= self.training["checkpoint_every_s"]:
                self._save()
                saved_at = time.monotonic()
                faults.point(f"epoch{epoch}-saved")
        test_loss, test_acc = self.evaluate("test")
        self.train_step.sync_model()
        histograms = self.histograms(self.params, [h[-1]["epoch"] if h else 0 for h in self.history])
        return [{
            "history": self.history[m],
            "signal": self.signal.rows[m],
            "weights": histograms[m],
            **({"init_stats": self.init_stats[m]} if self.init_stats[m] else {}),
            **({"jacobian": self.spectra.rows[m]} if self.spectra else {}),
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
        if self.spectra:
            self.spectra.measure(self.params)

    def evaluate(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Per member (mean loss, accuracy) on ``split`` with the current weights."""
        if self.loop == "host":
            return evaluate(self.eval_step, self.params, self.data, split)
        return self.evaluator(self.params, split)

    def train_steps(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The steps of ``epoch`` (updating ``active``); per member (Σ CE, Σ correct) over
        its examples, summed in float64 in step order."""
        loss_sum, correct = np.zeros(self.members), np.zeros(self.members)
        if self.loop == "host":
            for step, (idx, w) in enumerate(self.data.batches(epoch, self.training["batch_size"])):
                faults.point(f"epoch{epoch}-step{step}")
                keep, l, c = self.train_step(self.active, idx, w)
                self.active = ops.convert_to_numpy(keep).astype(bool)
                loss_sum += ops.convert_to_numpy(l)
                correct += ops.convert_to_numpy(c)
                if not self.active.any():
                    break
            return loss_sum, correct
        idx, w = self.data.epoch_batches(epoch, self.training["batch_size"])
        steps = len(idx)
        chunk = min(self.steps_per_call or steps, steps)
        for start in range(0, steps, chunk):
            faults.point(f"epoch{epoch}-step{start}")
            count = min(chunk, steps - start)
            i, wi = idx[start:start + chunk], w[start:start + chunk]
            if count < chunk:  # the last chunk, padded to the compiled shape; its extra steps do not run
                i = np.concatenate([i, np.zeros((chunk - count, *i.shape[1:]), i.dtype)])
                wi = np.concatenate([wi, np.zeros((chunk - count, *wi.shape[1:]), wi.dtype)])
            keep, losses, corrects, done = self.train_step.run(self.active, i, wi, count)
            self.active = ops.convert_to_numpy(keep).astype(bool)
            add_rows(loss_sum, losses, done)
            add_rows(correct, corrects, done)
            if not self.active.any():
                break
        return loss_sum, correct

    def run_epoch(self, epoch: int) -> None:
        """Train one epoch, validate, and append each member's row to its history."""
        n = self.data.n_train
        active_at_start = self.active.copy()
        loss_sum, correct = self.train_steps(epoch)
        faults.point(f"epoch{epoch}-trained")
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

    # ---- checkpointing (resume after a kill) ------------------------------------------
    def _save(self) -> None:
        progress = {"epochs_done": self.epochs_done, "history": self.history, "signal": self.signal.rows,
                    "jacobian": self.spectra.rows if self.spectra else None,
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
        if self.spectra:
            self.spectra.rows = p["jacobian"]
        return True
