"""The names of the study's quantities, each defined once.

Every module that names a grid dimension, a cell, a run column, a metric or a
signal field takes it from here, so the tables, the statistics, the figures and the
paper agree on spelling and order.
"""

from __future__ import annotations

#: Grid dimensions in their canonical order: config key under ``grid`` -> the field
#: name a run, a record and a table row use. Initializers are the treatments of the
#: comparisons and seeds their blocks.
GRID_DIMENSIONS: dict[str, str] = {
    "datasets": "dataset",
    "architectures": "arch",
    "activations": "activation",
    "optimizers": "optimizer",
    "depths": "depth",
    "initializers": "initializer",
    "seeds": "seed",
}
#: Grid axes that take the place of a training setting: config key under ``grid`` ->
#: the run field. Where the grid has the axis (for ``learning_rates``: for an optimizer
#: it names), each of its values is a run of its own, with the field in its record,
#: run id and identity; elsewhere a run takes the training setting
#: (``training.learning_rate[optimizer]``, ``training.width``) and has no such field,
#: so a study without the axes keeps its run ids, identities and records. Tables show
#: every run's value (:data:`RUN_SETTINGS`) either way.
TRAINING_AXES: dict[str, str] = {"learning_rates": "learning_rate", "widths": "width"}
#: A run's own value of each of :data:`TRAINING_AXES`, as ``runs.parquet`` and
#: ``history.parquet`` show it after the run fields (a cnn's width is its filters per layer).
RUN_SETTINGS: tuple[str, ...] = tuple(TRAINING_AXES.values())
#: A run's identifying fields as they appear in records and tables (``run_id`` first).
RUN_FIELDS: tuple[str, ...] = ("run_id", *GRID_DIMENSIONS.values())
#: A cell of the comparisons: everything but the treatment (initializer), the block
#: (seed) and the learning rate, which each initializer gets tuned
#: (:mod:`initstudy.analysis.tuning`).
CELL: tuple[str, ...] = ("dataset", "arch", "activation", "optimizer", "depth", "width")
#: The dimensions a figure or table splits into settings (panels); activation always,
#: the others when they take more than one value.
SETTING_COLUMNS: tuple[str, ...] = ("dataset", "arch", "optimizer", "width", "activation")
#: What every epoch records, in ``history.parquet`` (and the last epoch's in ``runs.parquet``).
EPOCH_METRICS: tuple[str, ...] = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
#: The per-layer signal statistics of the probe batch (``signal.parquet``); see
#: :mod:`initstudy.train.probes` for their definitions.
SIGNAL_FIELDS: tuple[str, ...] = ("activation_mean", "activation_std", "preactivation_var",
                                  "saturated_fraction", "dead_fraction", "grad_norm", "kernel_std")
