"""Signal at initialization per hidden layer, mean and CI over seeds.

For each setting the deepest networks are shown, where vanishing and exploding show
most: their signal statistics at epoch 0 (before any update), per initializer and
hidden layer.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis.intervals import INTERVAL_COLUMNS, mean_intervals
from initstudy.study.fields import CELL, SETTING_COLUMNS

#: The signal statistics profiled.
PROFILE_METRICS = ("activation_std", "grad_norm")
PROFILE_COLUMNS = [*CELL, "initializer", "layer", "metric", *INTERVAL_COLUMNS]


def deepest_at_init(signal: pd.DataFrame) -> pd.DataFrame:
    """The signal rows at initialization (epoch 0) of each setting's deepest networks."""
    init = signal[signal["epoch"] == 0]
    deepest = init.groupby(list(SETTING_COLUMNS))["depth"].transform("max")
    return init[init["depth"] == deepest]


def signal_profiles(signal: pd.DataFrame) -> pd.DataFrame:
    """One row per setting's deepest cell, initializer, hidden layer and metric of
    :data:`PROFILE_METRICS`: mean and CI over seeds at initialization."""
    init = deepest_at_init(signal)
    by = [*CELL, "initializer", "layer"]
    parts = [mean_intervals(init, by, metric).assign(metric=metric) for metric in PROFILE_METRICS]
    return pd.concat(parts, ignore_index=True)[PROFILE_COLUMNS]
