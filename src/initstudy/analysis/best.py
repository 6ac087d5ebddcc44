"""The best initializer of a cell: the one definition every table, figure and macro uses.

The best initializer of a cell is the one with the highest mean score over seeds in
the ``bootstrap`` table of :mod:`initstudy.analysis.stats`, where diverged runs are
scored by the study's diverged policy (chance accuracy, or excluded). Ties go to the
first label in sorted order; cells without any score have no best.
"""

from __future__ import annotations

import pandas as pd

from initstudy.study.fields import CELL

BEST_COLUMNS = [*CELL, "initializer", "mean"]


def best_initializers(bootstrap: pd.DataFrame) -> pd.DataFrame:
    """One row per cell with a score: its best initializer and that initializer's mean."""
    scored = bootstrap.dropna(subset=["mean"]).sort_values([*CELL, "initializer"], kind="stable")
    if scored.empty:
        return pd.DataFrame(columns=BEST_COLUMNS)
    best = scored.loc[scored.groupby(list(CELL), sort=True)["mean"].idxmax()]
    return best[BEST_COLUMNS].reset_index(drop=True)
