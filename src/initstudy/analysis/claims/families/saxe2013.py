"""Saxe, McClelland & Ganguli (2013/2014), *Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks* (arXiv:1312.6120), Sec. 3-4 and Fig. 6: a deep
linear network started from random orthogonal weights learns in a time that does not
grow with depth, while one started from scaled random Gaussian weights (Var W = 1 /
fan_in) slows down as it deepens: the product of many Gaussian matrices is far from an
isometry (most of its singular values shrink exponentially with depth over width),
the product of orthogonal ones is one exactly.

The measurement (:mod:`initstudy.analysis.time_to_threshold`): each run's time, in
optimizer steps, to first reach a training loss at or below ``threshold``. The history
records the training loss once per epoch (the mean over the epoch's steps), so the
crossing is interpolated linearly between the last epoch above the threshold and the
first at or below it, and epochs become steps by ``steps_per_epoch`` =
ceil(n_train / batch_size), the number of batches of
:meth:`initstudy.train.step.PackData.epoch_batches` (n_train: the training split after
the validation split is set aside; the last batch may be short). The tables do not carry
n_train or the batch size, so the claim config states the number.

One value per seed (a seed whose slope is undefined, with fewer than 3 runs of finite
time, gives none, and `unresolved` counts its runs): within a seed (one data split and batch order, shared by every run of
that seed), the least-squares slope b_s of time against depth over the seed's runs of one
initializer (:func:`~initstudy.analysis.time_to_threshold.depth_slopes` with
``by="seed"``), in steps per layer. A slope per seed keeps the seeds the independent
blocks the claims layer tests, and the two initializers' slopes of one seed form a pair.

Parts (one sub-claim per cell without depth: dataset, arch, activation, optimizer):

``orthogonal_slope``  b_s of the ``orthogonal`` runs (the claim: not above a small margin);
``gaussian_slope``    b_s of the ``gaussian`` runs (the claim: above a margin);
``slope_difference``  b_s(gaussian) − b_s(orthogonal), paired by seed (the claim: above
                      a margin);
``unresolved``        per initializer and seed, the share of its runs whose time is only
                      a bound: never reached while the loss was finite (right-censored; a
                      diverged run ends its record), or reached already at the first
                      recorded epoch (an upper bound).

Censoring counts against the claim. A run that never reaches the threshold enters its
slope at ``last_steps``, the time it was observed up to, a lower bound of its time; left
out, it would flatten the slope of the deep, slow runs unseen. The bound makes a slope
only a bound too (lower where the run is deeper than the seed's mean depth, upper where it
is shallower), so a claim config should rule on ``unresolved`` (e.g. below 0.1): with any
unresolved run in most seeds that sub-claim cannot pass, and neither can the conjunction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.stats

from initstudy.analysis.claims.registry import ClaimError, figure_tables, register
from initstudy.analysis.claims.rule import boundaries, decide
from initstudy.analysis.time_to_threshold import (
    AT_FIRST_POINT,
    CENSORED,
    depth_slopes,
    slope_difference,
    time_to_threshold,
)

PARAMS = {
    "threshold": None,
    "steps_per_epoch": None,
    "loss": "train_loss",
    "orthogonal": "orthogonal",
    "gaussian": "gaussian",
}
SLOPE = "slope of steps to threshold vs depth (steps/layer)"
#: The parts whose value is a slope: part -> the initializer parameter it fits (None: the difference).
SLOPE_PARTS = {"orthogonal_slope": "orthogonal", "gaussian_slope": "gaussian", "slope_difference": None}
#: Columns of the ``slopes`` figure table.
SLOPES_COLUMNS = ["dataset", "arch", "activation", "optimizer", "part", "initializer", "kind", "seed", "slope",
                  "ci_low", "ci_high", "rule_low", "rule_high", "direction", "bound_low", "bound_high"]
#: The cell's columns that name a sub-claim: every one but depth, which the slope runs over.
SUBCLAIM_CELL = ["dataset", "arch", "activation", "optimizer"]


def _check(params, history: pd.DataFrame) -> None:
    threshold, steps = params["threshold"], params["steps_per_epoch"]
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ClaimError(f"claim.params.threshold: {threshold!r}; expected the training loss a run must reach, "
                         "a number")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ClaimError(f"claim.params.steps_per_epoch: {steps!r}; expected ceil(n_train / batch_size), a "
                         "positive integer")
    for key in ("orthogonal", "gaussian"):
        if params[key] not in set(history["initializer"]):
            raise ClaimError(f"claim.params.{key}: initializer {params[key]!r} not in the study; it has "
                             f"{sorted(history['initializer'].unique())}")


def run_times(tables, params) -> pd.DataFrame:
    """Per run of the two initializers: its fields, ``steps`` to threshold (NaN when never
    reached), ``status``, ``last_steps`` and ``fit_steps``, the time its slope uses
    (``steps``, or ``last_steps`` for a censored run: a lower bound)."""
    history = tables.history
    _check(params, history)
    chosen = history[history["initializer"].isin([params["orthogonal"], params["gaussian"]])]
    times = time_to_threshold(chosen, float(params["threshold"]), loss=params["loss"],
                              steps_per_unit=params["steps_per_epoch"])
    return times.assign(fit_steps=times["steps"].where(times["status"] != CENSORED, times["last_steps"]))


def _name(key: dict, what: str) -> str:
    return " ".join([*(str(key[c]) for c in ("arch", "activation", "optimizer")), what])


def seed_slopes(times: pd.DataFrame) -> pd.DataFrame:
    """Per cell (without depth), initializer and seed: the slope of ``fit_steps`` on depth
    (:func:`~initstudy.analysis.time_to_threshold.depth_slopes` over the seed's runs)."""
    rows = []
    for key, frame in times.groupby([*SUBCLAIM_CELL, "initializer"], sort=True):
        slopes = depth_slopes(frame, by="seed", y="fit_steps")
        rows.append(slopes[["seed", "slope", "intercept"]].assign(**dict(zip([*SUBCLAIM_CELL, "initializer"], key))))
    return pd.concat(rows, ignore_index=True)


@register("saxe2013", parts={
    "orthogonal_slope": SLOPE,
    "gaussian_slope": SLOPE,
    "slope_difference": "slope(gaussian) - slope(orthogonal) (steps/layer)",
    "unresolved": "share of runs whose time to threshold is only a bound",
}, params=PARAMS)
def saxe2013(tables, params) -> pd.DataFrame:
    times = run_times(tables, params)
    slopes = seed_slopes(times)
    parts = []
    for part, which in (("orthogonal_slope", "orthogonal"), ("gaussian_slope", "gaussian")):
        chosen = slopes[slopes["initializer"] == params[which]]
        parts.append(chosen.assign(part=part, value=chosen["slope"],
                                   subclaim=[_name(r, r["initializer"]) for r in chosen.to_dict("records")]))
    wide = slopes.pivot_table(index=[*SUBCLAIM_CELL, "seed"], columns="initializer", values="slope").reset_index()
    label = f"{params['gaussian']} - {params['orthogonal']}"
    difference = wide[[*SUBCLAIM_CELL, "seed"]].assign(
        part="slope_difference", initializer=label, value=wide[params["gaussian"]] - wide[params["orthogonal"]])
    difference["subclaim"] = [_name(r, label) for r in difference.to_dict("records")]
    parts.append(difference)
    bound = times.assign(value=times["status"].isin([CENSORED, AT_FIRST_POINT]).astype(float))
    unresolved = bound.groupby([*SUBCLAIM_CELL, "initializer", "seed"], sort=True)["value"].mean().reset_index()
    unresolved["part"] = "unresolved"
    unresolved["subclaim"] = [_name(r, r["initializer"]) for r in unresolved.to_dict("records")]
    parts.append(unresolved)
    columns = ["part", "subclaim", "seed", "value", *SUBCLAIM_CELL, "initializer"]
    return pd.concat([p[columns] for p in parts], ignore_index=True).dropna(subset=["value"])


def _fitted_band(frame: pd.DataFrame, depths: np.ndarray, confidence: float) -> pd.DataFrame:
    """The pooled least-squares line of ``fit_steps`` on depth over ``frame``'s runs, at
    ``depths``, with the confidence band of the mean time: ŷ(x) ± t_{(1+c)/2, n−2} s
    sqrt(1/n + (x − x̄)² / Sxx), s² the residual variance (the interval R's
    ``predict(lm, interval = "confidence")`` gives); NaN with fewer than 3 runs or one depth."""
    ok = frame[np.isfinite(frame["fit_steps"].to_numpy(float))]
    x, y = ok["depth"].to_numpy(float), ok["fit_steps"].to_numpy(float)
    n = len(x)
    if n < 3 or len(np.unique(x)) < 2:
        return pd.DataFrame({"depth": depths, "mean": np.nan, "ci_low": np.nan, "ci_high": np.nan})
    fit = scipy.stats.linregress(x, y)
    fitted = fit.intercept + fit.slope * depths
    residual = y - (fit.intercept + fit.slope * x)
    s = math.sqrt(float(residual @ residual) / (n - 2))
    half = scipy.stats.t.ppf((1 + confidence) / 2, n - 2) * s * np.sqrt(
        1 / n + (depths - x.mean()) ** 2 / float(((x - x.mean()) ** 2).sum()))
    return pd.DataFrame({"depth": depths, "mean": fitted, "ci_low": fitted - half, "ci_high": fitted + half})


@figure_tables("saxe2013")
def saxe2013_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``times``: every run's time to threshold (``steps``, NaN when censored;
    ``last_steps``; ``status``; ``fit_steps``); ``lines``: per cell and initializer the
    pooled least-squares line of time on depth over all its runs with the confidence band
    of the mean time (level 1 − alpha of ``orthogonal_slope``'s rule, else 0.95);
    ``slopes``: per cell, one row per seed slope (``kind`` = ``seed``) of each slope part,
    then (``kind`` = ``pooled``) its pooled slope with the t interval of
    :func:`~initstudy.analysis.time_to_threshold.depth_slopes` (the difference: the Welch
    interval of :func:`~initstudy.analysis.time_to_threshold.slope_difference`), the
    interval of its rule's test over the seed slopes (``rule_low``, ``rule_high``: the
    verdict's), its rule's direction and bounds (blank and NaN without a rule). With the same depths in every
    seed the pooled slope is the mean of the seed slopes (a least-squares slope is linear
    in the times, with weights fixed by the depths), the verdict's estimate."""
    alpha = rules.get("orthogonal_slope", {}).get("alpha", 0.05)
    times = run_times(tables, params)
    per_seed = seed_slopes(times)
    lines, slopes = [], []
    label = f"{params['gaussian']} - {params['orthogonal']}"
    for key, cell in times.groupby(SUBCLAIM_CELL, sort=True):
        names = dict(zip(SUBCLAIM_CELL, key))
        depths = np.sort(cell["depth"].unique()).astype(float)
        for init, frame in cell.groupby("initializer", sort=True):
            lines.append(_fitted_band(frame, depths, 1 - alpha).assign(**names, initializer=init))
        pooled = depth_slopes(cell, y="fit_steps", confidence=1 - alpha).set_index("initializer")
        seeds = per_seed[np.logical_and.reduce([per_seed[c] == v for c, v in names.items()])]
        for part, which in SLOPE_PARTS.items():
            bounds = boundaries(rules[part]) if part in rules else ()
            low, high = (bounds[0], bounds[-1]) if bounds else (math.nan, math.nan)
            if which is None:
                wide = seeds.pivot_table(index="seed", columns="initializer", values="slope")
                values = wide[params["gaussian"]] - wide[params["orthogonal"]]
                diff = slope_difference(pooled.reset_index(), params["gaussian"], params["orthogonal"],
                                        confidence=1 - alpha)
                summary = {"slope": diff["difference"], "ci_low": diff["ci_low"], "ci_high": diff["ci_high"]}
                init = label
            else:
                init = params[which]
                values = seeds[seeds["initializer"] == init].set_index("seed")["slope"]
                summary = pooled.loc[init, ["slope", "ci_low", "ci_high"]].to_dict()
            decided = decide(values.to_numpy(float), rules[part]) if part in rules else {}
            fields = {**names, "part": part, "initializer": init, "direction": rules.get(part, {}).get("direction", ""),
                      "bound_low": low, "bound_high": high}
            slopes += [{**fields, "kind": "seed", "seed": seed, "slope": value} for seed, value in values.items()]
            slopes.append({**fields, "kind": "pooled", **summary, "rule_low": decided.get("ci_low", math.nan),
                           "rule_high": decided.get("ci_high", math.nan)})
    times_table = times[[*SUBCLAIM_CELL, "depth", "initializer", "seed", "steps", "status", "last_steps",
                         "fit_steps"]]
    return {"times": times_table, "lines": pd.concat(lines, ignore_index=True),
            "slopes": pd.DataFrame(slopes, columns=SLOPES_COLUMNS)}
