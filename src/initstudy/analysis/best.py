"""The best initializer: the one definition every table, figure and macro uses.

**Definition.** The best initializer of a group of cells is the one with the highest
mean score: the mean over the group's cells of its mean over seeds in the
``bootstrap`` table of :mod:`initstudy.analysis.stats`, where a diverged run is scored
by the study's diverged policy (chance accuracy, or excluded). Ties go to the first
label in sorted order; an initializer without a score in any cell of the group is not
a candidate, and a group without any score has no best. For one cell
(:func:`best_initializers` with the default ``by``) this is the highest mean final
test accuracy of the cell; for a guideline band it is the highest mean over the
band's cells (:mod:`initstudy.analysis.guideline`). :func:`best_of` is the rule;
every consumer (``best``, ``accuracy``, ``depth``, ``overview``, ``rank_summary`` and
the figure that marks the best's group, the guideline) calls it through this module.

**Why the mean score, not the mean rank.** Both were in use; the mean
score is kept because

- it is the quantity a practitioner gains: the expected accuracy of the network the
  initializer gives. A mean rank counts a seed lost by 0.1 points the same as a seed
  lost to divergence; the policy-scored mean prices a divergence at what it costs;
- it is on the scale of the guideline's equivalence margin (an accuracy difference
  fixed in the config): "the textbook initializer is within the margin of the best"
  only reads one way if the best is the one with the highest mean accuracy;
- the tables show means (the results table bolds the best of each column, the depth
  table's spread is best minus worst mean), so a reader can check the winner in the
  numbers printed beside it: the bold cell is the largest of its column;
- pooled over cells with every initializer in every cell (the study's design), the
  difference of two pooled means is the mean of the per-cell differences, so cells of
  different difficulty do not favour anyone.

The mean rank stays what it is: the statistic of the Friedman test and of the
mean-rank figure, not a second definition of the winner.
"""

from __future__ import annotations

import pandas as pd

from initstudy.study.fields import CELL

BEST_COLUMNS = [*CELL, "initializer", "mean"]


def best_of(means: pd.Series) -> str | None:
    """The best of ``means`` (initializer label -> mean score): the highest mean, ties to
    the first label in sorted order, NaN never; None when no label has a mean. The one
    rule of the study's "best initializer"."""
    scored = means.dropna()
    if scored.empty:
        return None
    scored = scored.sort_index(kind="stable")
    return str(scored.idxmax())


def pooled_means(bootstrap: pd.DataFrame, by: list[str]) -> pd.Series:
    """Each initializer's mean score averaged over the cells of each group of ``by``
    (index: ``[*by, "initializer"]``); cells where it has no score are skipped."""
    return bootstrap.groupby([*by, "initializer"], sort=True)["mean"].mean()


def best_initializers(bootstrap: pd.DataFrame, by: list[str] | tuple[str, ...] = CELL) -> pd.DataFrame:
    """One row per group of ``by`` (by default: per cell) with a score: its best
    initializer (:func:`best_of`) and that initializer's (pooled) mean score."""
    by = list(by)
    columns = [*by, "initializer", "mean"]
    means = pooled_means(bootstrap.dropna(subset=["mean"]), by)
    rows = []
    for key, group in means.groupby(level=by, sort=True):
        group = group.droplevel(by)
        best = best_of(group)
        if best is not None:
            key = key if isinstance(key, tuple) else (key,)
            rows.append({**dict(zip(by, key)), "initializer": best, "mean": float(group[best])})
    return pd.DataFrame(rows, columns=columns)
