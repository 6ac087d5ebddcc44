"""Does initialization matter more with depth? (the study's first question)

Per cell, the Friedman test across initializers and the spread of the mean score
(best minus worst bootstrap mean, in percentage points), with the cell's best
initializer (:mod:`initstudy.analysis.best`). Summarised at the shallowest and the
deepest depth: the mean spread over settings and how many cells' Friedman tests
reject.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis.best import best_initializers
from initstudy.study.fields import CELL

DEPTH_COLUMNS = [*CELL, "statistic", "p_value", "reject", "best", "spread"]
DEPTH_SUMMARY_COLUMNS = ["which", "depth", "mean_spread", "friedman_rejected"]
#: The verb that compares the mean spread at the deepest depth with the shallowest.
SPREAD_CHANGE = {1: "grows", -1: "shrinks"}


def depth_frame(friedman: pd.DataFrame, bootstrap: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: Friedman's statistic, p and rejection, the best initializer
    and the spread of the initializers' mean scores in percentage points."""
    keys = list(CELL)
    best = best_initializers(bootstrap)[[*keys, "initializer"]].rename(columns={"initializer": "best"})
    by_cell = bootstrap.dropna(subset=["mean"]).groupby(keys)["mean"]
    spread = (100 * (by_cell.max() - by_cell.min())).rename("spread").reset_index()
    cells = friedman[[*keys, "statistic", "p_value", "reject"]]
    return cells.merge(best, on=keys, how="left").merge(spread, on=keys, how="left")[DEPTH_COLUMNS]


def depth_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Two rows, ``MinDepth`` and ``MaxDepth``: the mean spread over the cells at that
    depth (rounded to 0.1 pp, as cited) and how many of their Friedman tests reject."""
    rows = []
    for which, depth in (("MinDepth", frame["depth"].min()), ("MaxDepth", frame["depth"].max())):
        at = frame[frame["depth"] == depth]
        rows.append({"which": which, "depth": depth, "mean_spread": round(float(at["spread"].mean()), 1),
                     "friedman_rejected": int(at["reject"].fillna(False).astype(bool).sum())})
    return pd.DataFrame(rows, columns=DEPTH_SUMMARY_COLUMNS)


def spread_change(summary: pd.DataFrame) -> str:
    """How the mean spread changes from the shallowest to the deepest depth, in a word
    (``--`` when a depth has no spread: no cell there has a score)."""
    spread = summary.set_index("which")["mean_spread"]
    if spread[["MinDepth", "MaxDepth"]].isna().any():
        return "--"
    return SPREAD_CHANGE.get(np.sign(spread["MaxDepth"] - spread["MinDepth"]), "stays the same")
