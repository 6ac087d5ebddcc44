"""Export of one trained member as a standard ``.keras`` file.

The member's weights go into :func:`initstudy.models.packed.reference_model` (the
plain ``keras.Sequential`` a user would write), compiled with the run's optimizer
(at its learning rate) and loss, so ``keras.models.load_model`` gives a model that
trains and evaluates like any other.
"""

from __future__ import annotations

import keras

from initstudy.models.packed import PackedNet, member_weights, reference_model
from initstudy.study.runs import Run
from initstudy.train.optimizers import make_optimizer


def export_member(model: PackedNet, index: int, run: Run, num_classes: int, training: dict,
                  path: str) -> keras.Sequential:
    """Save member ``index`` of ``model`` (holding the trained values) to ``path``."""
    ref = reference_model(run, model.member_input_shape, num_classes, training)
    ref.set_weights(member_weights(model, index))
    ref.compile(optimizer=make_optimizer(run.optimizer, run.training_settings(training)),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    ref.optimizer.build(ref.trainable_variables)  # saved with fresh slots, so it loads cleanly
    ref.save(path)
    return ref
