"""Final accuracy per cell and initializer, as the results table shows it.

The score is the final test accuracy with diverged runs scored by the diverged policy
(:func:`initstudy.analysis.stats.scored`): ``mean`` and ``sd`` over the seeds with a
score, ``n_diverged`` the seeds that diverged, and ``best`` marks the cell's best
initializer (:mod:`initstudy.analysis.best`).
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis import stats
from initstudy.analysis.best import best_initializers
from initstudy.study.fields import CELL

ACCURACY_COLUMNS = [*CELL, "initializer", "mean", "sd", "n_diverged", "best"]


def accuracy_table(runs: pd.DataFrame, bootstrap: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """One row per cell and initializer: mean, sd and divergences of the score, and ``best``."""
    scored = stats.scored(runs, diverged_policy)
    table = scored.groupby([*CELL, "initializer"]).agg(
        mean=("score", "mean"), sd=("score", "std"), n_diverged=("diverged", "sum")
    ).reset_index()
    best = best_initializers(bootstrap)[[*CELL, "initializer"]].assign(best=True)
    table = table.merge(best, on=[*CELL, "initializer"], how="left")
    table["best"] = table["best"].fillna(False).astype(bool)
    return table[ACCURACY_COLUMNS]
