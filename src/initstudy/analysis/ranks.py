"""Mean ranks of the initializers, per cell and over cells, and which are not worse than the best.

The ``ranks`` table of :mod:`initstudy.analysis.stats` has each initializer's mean
Friedman rank (1 = best) per cell. Here it is summarised per setting: the rank at
each depth with the group the best does not beat significantly, and the mean over
depths (no test). The best is the study's one best initializer
(:mod:`initstudy.analysis.best`: the highest mean score), which need not have the
lowest mean rank: the group is the best's, whatever its rank.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis.best import best_initializers
from initstudy.analysis.settings import select, setting_columns, settings
from initstudy.study.fields import CELL, SETTING_COLUMNS

#: ``depth`` of the rows that pool a setting's depths.
POOLED = "all"
RANK_SUMMARY_COLUMNS = [*SETTING_COLUMNS, "depth", "initializer", "mean_rank", "with_best"]


def mean_rank_over_cells(ranks: pd.DataFrame, by: list[str]) -> pd.Series:
    """The mean over cells of each initializer's mean Friedman rank, grouped by ``by``
    and the initializer; with the same number of seeds in every cell this is the
    initializer's mean rank over all (cell, seed) blocks."""
    return ranks.groupby([*by, "initializer"])["mean_rank"].mean()


def not_worse_than_best(best: str, cell_ranks: pd.Series, cell_pairs: pd.DataFrame) -> list[str]:
    """The initializers of one cell that ``best`` (the cell's best initializer,
    :func:`initstudy.analysis.best.best_initializers`) does not beat significantly: no
    Holm-corrected rejection in the ``pairwise`` rows of the cell. The best is the first
    entry, the others follow by mean rank (``cell_ranks``)."""
    against = cell_pairs[(cell_pairs["initializer_a"] == best) | (cell_pairs["initializer_b"] == best)]
    beaten = against[against["reject"].fillna(False).astype(bool)]
    beaten = set(beaten["initializer_a"]) | set(beaten["initializer_b"])
    return [best, *(i for i in cell_ranks.sort_values().index if i != best and i not in beaten)]


def rank_summary(ranks: pd.DataFrame, pairwise: pd.DataFrame, bootstrap: pd.DataFrame) -> pd.DataFrame:
    """Per setting: each initializer's mean rank at each depth (``with_best``: in the
    group :func:`not_worse_than_best` of the cell's best, from ``bootstrap``), then
    pooled over depths (``depth`` = :data:`POOLED`, ``with_best`` empty: no test)."""
    best = best_initializers(bootstrap).set_index(list(CELL))["initializer"]
    rows, columns = [], setting_columns(ranks)
    for key, _ in settings(ranks):
        setting, pairs = select(ranks, key, columns), select(pairwise, key, columns)
        fields = setting.iloc[0][list(SETTING_COLUMNS)].to_dict()
        for depth, cell in setting.groupby("depth", sort=True):
            cell_key = tuple(cell.iloc[0][list(CELL)])
            cell = cell.set_index("initializer")["mean_rank"].dropna()
            if cell.empty:
                continue
            winner = best.get(cell_key)
            group = set(not_worse_than_best(winner, cell, pairs[pairs["depth"] == depth])) if winner else set()
            rows += [{**fields, "depth": str(depth), "initializer": label, "mean_rank": rank,
                      "with_best": label in group} for label, rank in cell.items()]
        pooled = mean_rank_over_cells(setting, []).dropna()
        rows += [{**fields, "depth": POOLED, "initializer": label, "mean_rank": rank, "with_best": pd.NA}
                 for label, rank in pooled.items()]
    table = pd.DataFrame(rows, columns=RANK_SUMMARY_COLUMNS)
    table["with_best"] = table["with_best"].astype("boolean")
    return table
