"""The empirical guideline: per activation and depth band, the best initializer beside
the textbook's, and a decision only where the tests can make one.

The textbook family per activation: Glorot & Bengio 2010 for symmetric saturating
units, He et al. 2015 for rectifiers, Klambauer et al. 2017 for SELU. Depths are
pooled into bands (:data:`BAND_EDGES`): what holds at depth 2 need not at depth 50,
so a mean rank over all depths can hide the textbook result. In each (activation,
band), the best initializers have the lowest mean rank over the band's cells
(:func:`initstudy.analysis.ranks.mean_rank_over_cells`; ties within 1e-9 all listed),
and the textbook initializer is the best-ranked one of the textbook family. The
decision rule, fixed before the data:

- ``disagree``: in every cell of the band some initializer beats the textbook one
  significantly (Holm-corrected pairwise test, the study's alpha);
- ``agree``: in every cell the textbook initializer is in the best's group (the best
  does not beat it significantly, :func:`~initstudy.analysis.ranks.not_worse_than_best`)
  and in at least one cell it beats another initializer significantly (the tests
  can tell initializers apart there);
- ``no decision``: otherwise (for instance when no test can reject with the seeds);
- ``not tested`` (no initializer of the family in the grid), ``--`` (no textbook rule).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from initstudy.analysis.ranks import mean_rank_over_cells, not_worse_than_best
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
#: Depth bands: a depth belongs to the first band whose upper edge it does not exceed.
BAND_EDGES = (10,)
#: ``best`` holds the best labels joined by :data:`LIST_SEPARATOR` (a CSV cell).
GUIDELINE_COLUMNS = [
    "activation", "band", "depths", "textbook", "best", "best_rank", "textbook_initializer", "textbook_rank",
    "n_cells", "textbook_with_best", "textbook_beaten", "textbook_wins", "decision",
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


def significant_losses(pairs: pd.DataFrame, initializer: str) -> pd.DataFrame:
    """The rows of ``pairwise`` in which another initializer beats ``initializer``
    significantly (Holm-corrected rejection, mean difference against it)."""
    as_a = pairs[(pairs["initializer_a"] == initializer) & (pairs["mean_diff"] < 0)]
    as_b = pairs[(pairs["initializer_b"] == initializer) & (pairs["mean_diff"] > 0)]
    losses = pd.concat([as_a, as_b])
    return losses[losses["reject"].fillna(False).astype(bool)]


def band_of(depth: int) -> int:
    """The index of the depth band of ``depth`` (:data:`BAND_EDGES`)."""
    return next((i for i, edge in enumerate(BAND_EDGES) if depth <= edge), len(BAND_EDGES))


def _depths_label(depths) -> str:
    low, high = min(depths), max(depths)
    return str(low) if low == high else f"{low}-{high}"


def _decision(textbook: str | None, tested: str | None, n_cells: int, with_best: int, beaten: int,
              wins: int) -> str:
    if textbook is None:
        return "--"
    if tested is None:
        return "not tested"
    if beaten == n_cells:
        return "disagree"
    if with_best == n_cells and wins > 0:
        return "agree"
    return "no decision"


def guideline_frame(ranks: pd.DataFrame, pairwise: pd.DataFrame) -> pd.DataFrame:
    """One row per activation and depth band with ranks (see the module docstring)."""
    ranks = ranks.assign(band=ranks["depth"].map(band_of))
    rows = []
    for (activation, band), band_ranks in ranks.groupby(["activation", "band"], sort=True):
        means = mean_rank_over_cells(band_ranks, []).dropna().sort_values(kind="stable")
        if means.empty:
            continue
        best = list(means.index[np.isclose(means, means.iloc[0], rtol=0, atol=1e-9)])
        textbook = TEXTBOOK.get(activation)
        family_members = [label for label in means.index if family(label) == textbook]
        tested = family_members[0] if textbook is not None and family_members else None
        cells = band_ranks.dropna(subset=["mean_rank"])
        n_cells = with_best = beaten = wins = 0
        for key, cell in cells.groupby(list(CELL), sort=True):
            n_cells += 1
            if tested is None:
                continue
            pairs = pairwise.merge(pd.DataFrame([dict(zip(CELL, key))]), on=list(CELL))
            group = not_worse_than_best(cell.set_index("initializer")["mean_rank"], pairs)
            with_best += tested in group
            against = pairs[(pairs["initializer_a"] == tested) | (pairs["initializer_b"] == tested)]
            beaten += not significant_losses(against, tested).empty
            wins += not significant_wins(against, tested).empty
        rows.append({
            "activation": activation,
            "band": band,
            "depths": _depths_label(band_ranks["depth"].unique()),
            "textbook": FAMILY_NAMES.get(textbook, "--"),
            "best": LIST_SEPARATOR.join(best),
            "best_rank": means.iloc[0],
            "textbook_initializer": tested,
            "textbook_rank": means[tested] if tested is not None else np.nan,
            "n_cells": n_cells,
            "textbook_with_best": with_best,
            "textbook_beaten": beaten,
            "textbook_wins": wins,
            "decision": _decision(textbook, tested, n_cells, with_best, beaten, wins),
        })
    return pd.DataFrame(rows, columns=GUIDELINE_COLUMNS)
