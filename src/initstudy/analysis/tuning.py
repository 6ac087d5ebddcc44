"""Learning-rate tuning on validation data, and how sensitive each initializer is to the rate.

The protocol (what DeepOBS and AlgoPerf do before they compare): for each cell and
initializer, the chosen rate is the one with the highest mean final **validation**
accuracy over the selection seeds,

    η*(cell, init) = argmax_η  mean_{s ∈ selection} val_score(cell, init, η, s),

ties going to the smaller rate. The test set takes no part in the choice; the
comparison then reports the test accuracy of each initializer at its own η*, over the
evaluation seeds (all seeds when the config names no selection seeds; a disjoint set
when it does, so the reported numbers are not those the choice was made on).

A diverged run's validation score follows the study's diverged policy as the test
score does (:func:`initstudy.analysis.stats.scored`): chance accuracy, or no score.

Robustness: the rates whose mean validation score is within ``margin`` of the best,
``val(η) ≥ val(η*) − margin``, and their span in decades, log10(η_max / η_min) over
them (0 when only η* qualifies). An initializer with a wide span needs little tuning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis import stats
from initstudy.study.fields import CELL

#: The rate column of the runs table.
RATE = "learning_rate"
TUNING_COLUMNS = [*CELL, "initializer", RATE, "val_score", "n_selection", "test_score", "n_evaluation",
                  "n_rates"]
SENSITIVITY_COLUMNS = [*CELL, "initializer", RATE, "val_mean", "val_sd", "test_mean", "n"]
ROBUSTNESS_COLUMNS = [*CELL, "initializer", "best_rate", "best_val", "margin", "rate_low", "rate_high",
                      "decades", "n_within", "n_rates"]


def _validation_scored(runs: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """``runs`` with ``val_score`` (final validation accuracy, diverged runs by the policy)
    and ``score`` (the same for test accuracy, :func:`stats.scored`)."""
    scored = stats.scored(runs, diverged_policy)
    replacement = 1.0 / runs["num_classes"] if diverged_policy == "chance" else np.nan
    val = runs["val_accuracy"].astype(float).where(~scored["diverged"], replacement)
    return scored.assign(val_score=val)


def selection_runs(runs: pd.DataFrame, selection_seeds) -> pd.DataFrame:
    """The runs the choice sees: every rate on the selection seeds (all seeds when None);
    the sensitivity to the rate is measured on them, where every rate trained."""
    return runs if selection_seeds is None else runs[runs["seed"].isin(list(selection_seeds))]


def sensitivity_table(runs: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """One row per cell, initializer and rate: mean and sd of the validation score over
    seeds, the mean test score, and the seeds with a validation score."""
    scored = _validation_scored(runs, diverged_policy)
    table = scored.groupby([*CELL, "initializer", RATE]).agg(
        val_mean=("val_score", "mean"), val_sd=("val_score", "std"), test_mean=("score", "mean"),
        n=("val_score", "count")).reset_index()
    return table[SENSITIVITY_COLUMNS]


def choose_rates(runs: pd.DataFrame, diverged_policy: str, selection_seeds=None) -> pd.DataFrame:
    """Per cell and initializer: the rate with the highest mean validation score over the
    selection seeds (all seeds when None), that score, and how many seeds and rates it saw."""
    scored = _validation_scored(selection_runs(runs, selection_seeds), diverged_policy)
    means = scored.groupby([*CELL, "initializer", RATE]).agg(
        val_score=("val_score", "mean"), n_selection=("val_score", "count")).reset_index()
    # highest score first, then the smaller rate: the first row of each group is the
    # choice (a group without any score, every run diverged under ``exclude``, keeps its
    # smallest rate, so the comparisons still see it and say why it has no result)
    ordered = means.sort_values([*CELL, "initializer", "val_score", RATE],
                                ascending=[True] * (len(CELL) + 1) + [False, True], na_position="last")
    chosen = ordered.groupby([*CELL, "initializer"], sort=True).head(1)
    n_rates = means.groupby([*CELL, "initializer"])[RATE].nunique().rename("n_rates").reset_index()
    return chosen.merge(n_rates, on=[*CELL, "initializer"]).reset_index(drop=True)


def tuned_runs(runs: pd.DataFrame, chosen: pd.DataFrame, evaluation_seeds=None) -> pd.DataFrame:
    """The runs of each cell and initializer at its chosen rate (the evaluation seeds only,
    when given): what the comparisons (Friedman, Wilcoxon, bootstrap, guideline) take."""
    keys = [*CELL, "initializer", RATE]
    out = runs.merge(chosen[keys], on=keys, how="inner")
    if evaluation_seeds is not None:
        out = out[out["seed"].isin(list(evaluation_seeds))]
    return out.reset_index(drop=True)


def tuning_table(runs: pd.DataFrame, diverged_policy: str, selection_seeds=None,
                 evaluation_seeds=None) -> pd.DataFrame:
    """``tuning.csv``: per cell and initializer, the chosen rate, the validation score it was
    chosen on (and over how many seeds), and the mean tuned test score over the evaluation
    seeds (and how many)."""
    return tune(runs, diverged_policy, selection_seeds, evaluation_seeds)["tuning"]


def robustness_table(sensitivity: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Per cell and initializer: the best rate and its mean validation score, and the
    rates within ``margin`` of it: lowest, highest, their span in decades and count."""
    if not margin >= 0:
        raise ValueError(f"margin={margin!r}: expected a number >= 0")
    rows = []
    for key, group in sensitivity.dropna(subset=["val_mean"]).groupby([*CELL, "initializer"], sort=True):
        best = group.sort_values(["val_mean", RATE], ascending=[False, True]).iloc[0]
        within = group[group["val_mean"] >= best["val_mean"] - margin][RATE]
        rows.append({**dict(zip([*CELL, "initializer"], key)), "best_rate": best[RATE],
                     "best_val": best["val_mean"], "margin": margin, "rate_low": within.min(),
                     "rate_high": within.max(), "decades": float(np.log10(within.max() / within.min())),
                     "n_within": len(within), "n_rates": len(group)})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)


def tune(runs: pd.DataFrame, diverged_policy: str, selection_seeds, evaluation_seeds) -> dict[str, pd.DataFrame]:
    """What ``initstudy tune`` writes: ``tuning`` (:func:`tuning_table`) and
    ``compared_runs``, the runs the comparisons take: each cell and initializer at its
    chosen rate, over the evaluation seeds. ``selection_seeds`` None: the choice sees
    every seed (one stage)."""
    chosen = choose_rates(runs, diverged_policy, selection_seeds)
    compared = tuned_runs(runs, chosen, evaluation_seeds)
    test = stats.scored(compared, diverged_policy).groupby([*CELL, "initializer"]).agg(
        test_score=("score", "mean"), n_evaluation=("score", "count")).reset_index()
    table = chosen.merge(test, on=[*CELL, "initializer"], how="left")
    return {"tuning": table[TUNING_COLUMNS], "compared_runs": compared}
