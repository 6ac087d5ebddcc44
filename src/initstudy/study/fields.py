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
#: A run's identifying fields as they appear in records and tables (``run_id`` first).
RUN_FIELDS: tuple[str, ...] = ("run_id", *GRID_DIMENSIONS.values())
#: A cell of the comparisons: everything but the treatment (initializer) and the block (seed).
CELL: tuple[str, ...] = ("dataset", "arch", "activation", "optimizer", "depth")
#: The dimensions a figure or table splits into settings (panels); activation always,
#: the others when they take more than one value.
SETTING_COLUMNS: tuple[str, ...] = ("dataset", "arch", "optimizer", "activation")
#: What every epoch records, in ``history.parquet`` (and the last epoch's in ``runs.parquet``).
EPOCH_METRICS: tuple[str, ...] = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
#: The per-layer signal statistics of the probe batch (``signal.parquet``); see
#: :mod:`initstudy.train.probes` for their definitions.
SIGNAL_FIELDS: tuple[str, ...] = ("activation_mean", "activation_std", "preactivation_var",
                                  "saturated_fraction", "dead_fraction", "grad_norm", "kernel_std")
