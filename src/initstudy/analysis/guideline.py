"""The empirical guideline: per activation and depth band, the best initializer beside
the textbook's, and a decision only where the data can make one.

The textbook family per activation: Glorot & Bengio 2010 for symmetric saturating
units, He et al. 2015 for rectifiers, Klambauer et al. 2017 for SELU. Depths are
pooled into bands (:data:`BAND_EDGES`): what holds at depth 2 need not at depth 50,
so a mean over all depths can hide the textbook result. In each (activation, band)
the best initializer is the study's one best (:mod:`initstudy.analysis.best`: the
highest mean score, here averaged over the band's cells), and the textbook
initializer is the best of the textbook family by the same rule.

The decision rule, fixed before the data (``alpha`` and the equivalence margin Delta
are ``stats.alpha`` and ``stats.equivalence_margin`` of the config):

- ``agree``: in every cell of the band the textbook initializer is *equivalent* to the
  best within Delta, by Schuirmann's two one-sided tests at level alpha
  (:mod:`initstudy.analysis.equivalence`): the ``(1 - 2 alpha)`` paired t interval of
  the mean difference "textbook minus rival" over the seeds lies inside
  ``(-Delta, Delta)``. The rival is the best of the *other* initializers of the cell
  (:func:`~initstudy.analysis.best.best_of` without the textbook one): the cell's best
  when the textbook initializer is not, else the runner-up. When the textbook
  initializer is the cell's best only the lower bound is required (``> -Delta``):
  being better than the runner-up by more than Delta is no reason to withhold
  agreement. (When it is not the best its paired mean difference is at most 0 under
  complete pairs, and then the lower bound alone already implies the upper one.)
  Requiring every cell is an intersection-union test: the band's "agree" has level
  alpha without a multiplicity correction. The rival is chosen by the data (the
  sample best), and the interval is not widened for that choice;
- ``disagree``: in every cell some initializer beats the textbook one significantly
  (Holm-corrected pairwise Wilcoxon test at alpha) and the band is not ``agree``: a
  difference the margin calls immaterial does not make a disagreement, however
  significant;
- ``no decision``: otherwise. In particular "not rejected" is not "agree": a textbook
  initializer that no test beats but whose interval reaches beyond Delta (too few
  seeds, too much noise) decides nothing;
- ``not tested`` (no initializer of the family in the grid), ``--`` (no textbook rule).

Each row gives the interval of its *worst* cell (the lowest lower bound; a cell
without an interval counts as the worst): if that one is within the margin, all are.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from initstudy.analysis import equivalence
from initstudy.analysis.best import best_of, pooled_means
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
#: ``worst_cell`` names a cell by its fields other than the activation, joined by this.
CELL_SEPARATOR = "/"
GUIDELINE_COLUMNS = [
    "activation", "band", "depths", "textbook", "best", "best_mean", "textbook_initializer", "textbook_mean",
    "n_cells", "textbook_equivalent", "textbook_beaten", "worst_cell", "rival", "n_pairs", "mean_diff",
    "ci_low", "ci_high", "confidence", "margin", "decision",
]


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


def _decision(textbook: str | None, tested: str | None, n_cells: int, equivalent: int, beaten: int) -> str:
    if textbook is None:
        return "--"
    if tested is None:
        return "not tested"
    if n_cells and equivalent == n_cells:
        return "agree"
    if n_cells and beaten == n_cells:
        return "disagree"
    return "no decision"


def _cell_label(key: tuple) -> str:
    """``dataset/arch/optimizer/depth/w<width>``: the cell without its activation (the band's)."""
    fields = {**dict(zip(CELL, key)), "width": f"w{dict(zip(CELL, key))['width']}"}
    return CELL_SEPARATOR.join(str(fields[c]) for c in CELL if c != "activation")


def textbook_comparison(blocks: pd.DataFrame, means: pd.Series, tested: str, alpha: float,
                        margin: float) -> dict:
    """One cell: the textbook initializer ``tested`` against its rival (the best of the
    others by ``means``, the cell's mean scores), the ``(1 - 2 alpha)`` interval of
    their paired difference over the seeds (``blocks``: seed x initializer scores) and
    whether it shows equivalence within ``margin`` (see the module docstring)."""
    rival = best_of(means.drop(tested, errors="ignore"))
    if rival is None or tested not in blocks or pd.isna(means.get(tested)):
        return {"rival": rival, **dict.fromkeys(equivalence.INTERVAL_KEYS, np.nan), "n": 0, "equivalent": False}
    interval = equivalence.paired_interval(blocks[tested], blocks[rival], alpha)
    if best_of(means) == tested:
        equivalent = equivalence.not_worse(interval["ci_low"], margin)
    else:
        equivalent = equivalence.within(interval["ci_low"], interval["ci_high"], margin)
    return {"rival": rival, **interval, "equivalent": equivalent}


def guideline_frame(scores: pd.DataFrame, bootstrap: pd.DataFrame, pairwise: pd.DataFrame, alpha: float,
                    margin: float) -> pd.DataFrame:
    """One row per activation and depth band (see the module docstring). ``scores`` has
    one row per run with its policy score (:func:`initstudy.analysis.stats.scored`),
    ``bootstrap`` and ``pairwise`` are the statistics tables."""
    bootstrap = bootstrap.dropna(subset=["mean"])
    bootstrap = bootstrap.assign(band=bootstrap["depth"].map(band_of))
    rows = []
    for (activation, band), band_means in bootstrap.groupby(["activation", "band"], sort=True):
        means = pooled_means(band_means, [])
        best = best_of(means)
        textbook = TEXTBOOK.get(activation)
        tested = best_of(means[[label for label in means.index if family(label) == textbook]])
        n_cells = equivalent = beaten = 0
        worst = None
        for key, cell in band_means.groupby(list(CELL), sort=True):
            n_cells += 1
            if tested is None:
                continue
            cell_scores = scores.merge(pd.DataFrame([dict(zip(CELL, key))]), on=list(CELL))
            blocks = cell_scores.pivot(index="seed", columns="initializer", values="score")
            comparison = textbook_comparison(blocks, cell.set_index("initializer")["mean"], tested, alpha, margin)
            equivalent += comparison["equivalent"]
            pairs = pairwise.merge(pd.DataFrame([dict(zip(CELL, key))]), on=list(CELL))
            against = pairs[(pairs["initializer_a"] == tested) | (pairs["initializer_b"] == tested)]
            beaten += not significant_losses(against, tested).empty
            low = comparison["ci_low"] if np.isfinite(comparison["ci_low"]) else -np.inf
            if worst is None or low < worst[0]:
                worst = (low, _cell_label(key), comparison)
        comparison = worst[2] if worst else {"rival": None, **dict.fromkeys(equivalence.INTERVAL_KEYS, np.nan)}
        rows.append({
            "activation": activation,
            "band": band,
            "depths": _depths_label(band_means["depth"].unique()),
            "textbook": FAMILY_NAMES.get(textbook, "--"),
            "best": best,
            "best_mean": means[best],
            "textbook_initializer": tested,
            "textbook_mean": means[tested] if tested is not None else np.nan,
            "n_cells": n_cells,
            "textbook_equivalent": equivalent,
            "textbook_beaten": beaten,
            "worst_cell": worst[1] if worst else None,
            "rival": comparison["rival"],
            "n_pairs": comparison["n"] if worst else np.nan,
            "mean_diff": comparison["mean_diff"],
            "ci_low": comparison["ci_low"],
            "ci_high": comparison["ci_high"],
            "confidence": equivalence.confidence(alpha),
            "margin": margin,
            "decision": _decision(textbook, tested, n_cells, equivalent, beaten),
        })
    return pd.DataFrame(rows, columns=GUIDELINE_COLUMNS)
