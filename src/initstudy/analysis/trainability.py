"""Does the signal at initialization predict trainability? (the study's third question)

Per run, ``sigma_last`` is the activation std of the last hidden layer at epoch 0
(inputs are standardized, so 1 means the input's scale arrived intact) and
``distortion`` = |log10 sigma_last|, the decades by which the signal vanished or
exploded (infinite when it is exactly 0). ``score`` is the final test accuracy with
diverged runs scored by the diverged policy (:func:`initstudy.analysis.stats.scored`).
Spearman's rank correlation of distortion and score is computed per setting and over
all runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from initstudy.analysis import stats
from initstudy.analysis.settings import select, setting_columns, settings
from initstudy.study.fields import RUN_FIELDS, RUN_SETTINGS

TRAINABILITY_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "diverged", "test_accuracy", "score", "sigma_last", "distortion"]
SPEARMAN_COLUMNS = ["setting", "columns", "n", "rho", "p_value"]
#: The ``setting`` of the correlation over all runs.
ALL = "all"
#: Distortion (decades) up to which a signal is drawn on a linear scale: within one
#: decade of the input's scale it has neither vanished nor exploded.
DISTORTION_LINEAR = 1


def signal_trainability(signal: pd.DataFrame, runs: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """One row per run: its score and the signal that reached its last hidden layer at init."""
    last = signal[(signal["epoch"] == 0) & (signal["layer"] == signal["depth"])]
    scored = stats.scored(runs, diverged_policy)
    merged = scored.merge(last[["run_id", "activation_std"]], on="run_id", validate="one_to_one")
    sigma = merged["activation_std"]
    distortion = np.abs(np.log10(sigma.where(sigma > 0))).mask(sigma == 0, np.inf)
    return merged.assign(sigma_last=sigma, distortion=distortion)[TRAINABILITY_COLUMNS]


def spearman(frame: pd.DataFrame) -> dict:
    """Spearman's rank correlation of ``distortion`` and ``score`` over the rows where
    both are defined (infinite distortions rank highest): ``scipy.stats.spearmanr``,
    the Pearson correlation of the ranks, two-sided p from the t distribution with
    n - 2 degrees of freedom. NaN when n < 3 or a column is constant."""
    both = frame[["distortion", "score"]].dropna()
    n = len(both)
    if n < 3 or both.nunique().min() < 2:
        return {"n": n, "rho": np.nan, "p_value": np.nan}
    result = spearmanr(both["distortion"], both["score"])
    return {"n": n, "rho": float(result.statistic), "p_value": float(result.pvalue)}


def spearman_table(trainability: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho per setting (titled as the figure's panels), then over all runs
    (setting :data:`ALL`); ``columns`` names the setting's grid dimensions."""
    columns = ", ".join(setting_columns(trainability))
    rows = [{"setting": title, **spearman(select(trainability, key))} for key, title in settings(trainability)]
    rows.append({"setting": ALL, **spearman(trainability)})
    return pd.DataFrame(rows).assign(columns=columns)[SPEARMAN_COLUMNS]
