"""The study's headline counts of tests, rejections and effects, in one row."""

from __future__ import annotations

import pandas as pd

OVERVIEW_COLUMNS = [
    "cells", "friedman_tested", "friedman_rejected", "pairwise_tests", "pairwise_rejected", "pairs",
    "unanimous_pairs", "median_abs_rank_biserial", "best_cells", "most_frequent_best", "most_frequent_best_wins",
]


def overview(friedman: pd.DataFrame, pairwise: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Counts over the statistics tables, the median |rank-biserial| effect, and the
    initializer that is best (:mod:`initstudy.analysis.best`) in the most cells (ties
    to the first label; empty when no cell has a best)."""
    tested = pairwise.dropna(subset=["p_value"])
    effect = pairwise["rank_biserial"].abs()
    wins = best["initializer"].value_counts()
    top = sorted(wins[wins == wins.max()].index)[0] if len(wins) else ""
    row = {
        "cells": len(friedman),
        "friedman_tested": int(friedman["p_value"].notna().sum()),
        "friedman_rejected": int(friedman["reject"].fillna(False).astype(bool).sum()),
        "pairwise_tests": len(tested),
        "pairwise_rejected": int(tested["reject"].fillna(False).astype(bool).sum()),
        "pairs": len(pairwise),
        "unanimous_pairs": int((effect == 1).sum()),
        "median_abs_rank_biserial": float(effect.median()) if effect.notna().any() else float("nan"),
        "best_cells": len(best),
        "most_frequent_best": top,
        "most_frequent_best_wins": int(wins[top]) if top else 0,
    }
    return pd.DataFrame([row], columns=OVERVIEW_COLUMNS)
