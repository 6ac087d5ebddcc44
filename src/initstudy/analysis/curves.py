"""Learning curves: validation metrics per epoch, mean and CI over seeds.

Epochs after a run diverged have no values, so late means cover the seeds still
training (``n`` says how many).
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis.intervals import INTERVAL_COLUMNS, mean_intervals
from initstudy.study.fields import CELL

#: The metrics of ``history.parquet`` the curves show.
CURVE_METRICS = ("val_accuracy", "val_loss")
CURVES_COLUMNS = [*CELL, "initializer", "epoch", "metric", *INTERVAL_COLUMNS]


def learning_curves(history: pd.DataFrame) -> pd.DataFrame:
    """One row per cell, initializer, epoch and metric of :data:`CURVE_METRICS`."""
    by = [*CELL, "initializer", "epoch"]
    parts = [mean_intervals(history, by, metric).assign(metric=metric) for metric in CURVE_METRICS]
    return pd.concat(parts, ignore_index=True)[CURVES_COLUMNS]

