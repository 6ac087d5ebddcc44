"""Which runs the weight histograms show.

Per setting, the deepest network at the lowest seed, and of its initializers the one
with the highest and the one with the lowest final test accuracy (a run without one
counts as lowest; ties go to the first label). Runs whose weights at initialization
are constant (one occupied bin in every layer, as for ``zeros``) have no shape to
show and are passed over while there are others.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis.settings import select, settings
from initstudy.study.fields import RUN_FIELDS, RUN_SETTINGS

CHOICES = ("highest", "lowest")
WEIGHT_RUNS_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "test_accuracy", "choice"]


def weight_runs(runs: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """One row per chosen run, with ``choice`` ("highest" or "lowest")."""
    init = weights[(weights["epoch"] == 0) & (weights["count"] > 0)]
    occupied = init.groupby(["run_id", "layer"]).size().groupby("run_id").max()
    candidates_all = runs[runs["run_id"].isin(weights["run_id"])]
    candidates_all = candidates_all.assign(constant=candidates_all["run_id"].map(occupied).fillna(0).le(1))
    chosen = []
    for key, _ in settings(candidates_all):
        setting = select(candidates_all, key)
        candidates = setting[(setting["depth"] == setting["depth"].max()) & (setting["seed"] == setting["seed"].min())]
        if not candidates["constant"].all():
            candidates = candidates[~candidates["constant"]]
        ranked = {
            choice: candidates.sort_values(["test_accuracy", "initializer"], ascending=[ascending, True],
                                           na_position="first" if ascending else "last").iloc[0]
            for choice, ascending in zip(CHOICES, (False, True))
        }
        picks = pd.DataFrame([row.to_dict() | {"choice": choice} for choice, row in ranked.items()])
        chosen.append(picks.drop_duplicates("run_id"))
    if not chosen:
        return pd.DataFrame(columns=WEIGHT_RUNS_COLUMNS)
    return pd.concat(chosen, ignore_index=True)[WEIGHT_RUNS_COLUMNS]
