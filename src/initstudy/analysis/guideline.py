"""The empirical guideline: per activation, the best initializer(s) beside the textbook.

The textbook family per activation: Glorot & Bengio 2010 for symmetric saturating
units, He et al. 2015 for rectifiers, Klambauer et al. 2017 for SELU. The empirical
best have the lowest mean rank over the activation's cells that have ranks
(:func:`initstudy.analysis.ranks.mean_rank_over_cells`; ties within 1e-9 all
listed), the runner-up the next lowest.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from initstudy.analysis.ranks import mean_rank_over_cells
from initstudy.study.fields import CELL

#: The textbook initializer family per activation; activations without one are absent.
TEXTBOOK = {
    "tanh": "glorot",
    "sigmoid": "glorot",
    "linear": "glorot",
    "relu": "he",
    "leaky_relu": "he",
    "selu": "lecun",
}
FAMILY_NAMES = {"glorot": "Glorot", "he": "He", "lecun": "LeCun"}
#: ``best`` holds the best labels joined by :data:`LIST_SEPARATOR` (a CSV cell).
GUIDELINE_COLUMNS = [
    "activation", "textbook", "best", "best_rank", "runner_up", "runner_up_rank", "n_cells",
    "wins_runner_up", "wins_others", "pairs_others", "marked", "agreement",
]
LIST_SEPARATOR = ";"


def family(label: str) -> str | None:
    """The textbook family of an initializer label (``he_normal`` -> ``he``), or None."""
    match = re.match(r"(glorot|he|lecun)_(normal|uniform)(?![a-z_])", label)
    return match.group(1) if match else None


def significant_wins(pairs: pd.DataFrame, initializer: str) -> pd.DataFrame:
    """The rows of ``pairwise`` in which ``initializer`` beats the other one significantly
    (Holm-corrected rejection and a positive mean difference in its favour), with the
    loser in a column ``other``."""
    as_a = pairs[(pairs["initializer_a"] == initializer) & (pairs["mean_diff"] > 0)]
    as_b = pairs[(pairs["initializer_b"] == initializer) & (pairs["mean_diff"] < 0)]
    wins = pd.concat([as_a.assign(other=as_a["initializer_b"]), as_b.assign(other=as_b["initializer_a"])])
    return wins[wins["reject"].fillna(False).astype(bool)]


def guideline_frame(ranks: pd.DataFrame, pairwise: pd.DataFrame) -> pd.DataFrame:
    """One row per activation with ranks.

    ``wins_runner_up``: cells in which the (first) best beats the runner-up
    significantly; ``wins_others``: (cell, other initializer) pairs it beats
    significantly, of ``pairs_others``; ``marked``: it beats the runner-up in every
    cell. ``agreement`` is agree / disagree, "not tested" when the grid has no
    initializer of the textbook family, "--" without a textbook rule.
    """
    rows = []
    for activation, act_ranks in ranks.groupby("activation"):
        means = mean_rank_over_cells(act_ranks, []).dropna().sort_values(kind="stable")
        if means.empty:
            continue
        best = list(means.index[np.isclose(means, means.iloc[0], rtol=0, atol=1e-9)])
        rest = means.drop(best)
        runner_up = rest.index[0] if len(rest) else None
        pairs = pairwise[pairwise["activation"] == activation]
        pairs = pairs[(pairs["initializer_a"] == best[0]) | (pairs["initializer_b"] == best[0])]
        wins = significant_wins(pairs, best[0])
        n_cells = len(act_ranks.dropna(subset=["mean_rank"]).drop_duplicates(list(CELL)))
        textbook = TEXTBOOK.get(activation)
        tested = [label for label in means.index if family(label) == textbook]
        if textbook is None:
            agreement = "--"
        elif not tested:
            agreement = "not tested"
        else:
            agreement = "agree" if any(family(b) == textbook for b in best) else "disagree"
        wins_runner_up = int((wins["other"] == runner_up).sum())
        rows.append({
            "activation": activation,
            "textbook": FAMILY_NAMES.get(textbook, "--"),
            "best": LIST_SEPARATOR.join(best),
            "best_rank": means.iloc[0],
            "runner_up": runner_up,
            "runner_up_rank": rest.iloc[0] if len(rest) else np.nan,
            "n_cells": n_cells,
            "wins_runner_up": wins_runner_up,
            "wins_others": len(wins),
            "pairs_others": len(pairs),
            "marked": runner_up is not None and wins_runner_up == n_cells,
            "agreement": agreement,
        })
    return pd.DataFrame(rows, columns=GUIDELINE_COLUMNS)
