"""What several claim families compute from the tidy tables: accuracy above chance,
the activations' second moment, per-seed values and sub-claim labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logit

from initstudy.analysis import stats
from initstudy.analysis.intervals import mean_intervals
from initstudy.study.fields import CELL

#: How accuracy above chance is measured (a family parameter ``scale``).
SCALES = {
    "identity": "test accuracy - chance",
    "logit": "logit(test accuracy) - logit(chance)",
}
#: Accuracies are clipped to [EPS, 1 - EPS] before the logit.
EPS = 1e-6


def check_scale(scale: str) -> None:
    if scale not in SCALES:
        from initstudy.analysis.claims.registry import ClaimError

        raise ClaimError(f"claim.params.scale: {scale!r}; expected one of {', '.join(SCALES)}")


def scored_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with ``score`` (test accuracy; a diverged run scores chance, the study's
    ``chance`` policy) and ``chance`` (1 / classes)."""
    return stats.scored(runs, "chance").assign(chance=1.0 / runs["num_classes"])


def excess(runs: pd.DataFrame, scale: str) -> pd.Series:
    """Each scored run's accuracy above chance, on ``scale`` (:data:`SCALES`)."""
    check_scale(scale)
    if scale == "identity":
        return runs["score"] - runs["chance"]
    return pd.Series(logit(runs["score"].clip(EPS, 1 - EPS)) - logit(runs["chance"]), index=runs.index)


def accuracy_bound(chance: float, bound: float, scale: str) -> float:
    """The accuracy at which the excess over ``chance`` on ``scale`` equals ``bound``."""
    if scale == "identity":
        return chance + bound
    return float(1 / (1 + np.exp(-(logit(chance) + bound))))


def second_moment(signal: pd.DataFrame) -> pd.Series:
    """E[a²] of each layer's activations over batch and units: std² + mean²."""
    return signal["activation_std"] ** 2 + signal["activation_mean"] ** 2


def label(row, columns=("arch", "activation", "optimizer", "depth", "initializer")) -> str:
    """A sub-claim's name from its cell: ``mlp relu adam d30 he_normal``."""
    parts = []
    for column in columns:
        value = row.get(column, "")
        if value == "" or value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        parts.append(f"d{int(value)}" if column == "depth" else str(value))
    return " ".join(parts)


def per_seed(frame: pd.DataFrame, keys: list[str], value: str, part: str, pool=()) -> pd.DataFrame:
    """Samples of ``part``: one value per ``keys`` and seed (the mean of the rows that
    share them, e.g. a statistic at init over optimizers), labelled by ``keys``.

    ``pool`` names grid dimensions whose levels enter one sample together (a larger
    design): the sub-claim is then per ``keys`` without them, and each of their levels
    at each seed is one value (e.g. ``optimizer``: the runs of both optimizers)."""
    keys = [k for k in keys if k not in pool]
    grouped = frame.groupby([*keys, *pool, "seed"], sort=True, dropna=False)[value].mean().reset_index()
    grouped = grouped.rename(columns={value: "value"})
    grouped["part"] = part
    named = [c for c in ("arch", "activation", "optimizer", "depth", "initializer") if c not in pool]
    labels = [label(row, named) for row in grouped.to_dict("records")]
    if pool:
        levels = grouped.groupby(keys, sort=False, dropna=False)[list(pool)].transform(
            lambda c: "+".join(map(str, sorted(c.unique()))))
        labels = [f"{name} ({', '.join(row)})" for name, row in zip(labels, levels.itertuples(index=False))]
    grouped["subclaim"] = labels
    return grouped


def check_pool(pool, frame: pd.DataFrame) -> list[str]:
    """The ``pool`` parameter: grid dimensions of the cell that the study has."""
    from initstudy.analysis.claims.registry import ClaimError

    unknown = [c for c in pool if c not in CELL or c not in frame.columns]
    if unknown:
        raise ClaimError(f"claim.params.pool: {unknown} are not grid dimensions of the cell; "
                         f"expected some of {', '.join(CELL)}")
    return list(pool)


def intervals(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean and the study's CI (BCa bootstrap) of ``value`` per group of ``by``."""
    return mean_intervals(frame, by, value)


def cells(frame: pd.DataFrame) -> list[str]:
    """The cell's columns ``frame`` has."""
    return [c for c in CELL if c in frame.columns]
