"""Saxe, McClelland & Ganguli (2013/2014), *Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks* (arXiv:1312.6120): a deep linear network started
from random orthogonal weights learns in a time that does not grow with depth, while one
started from scaled random Gaussian weights (Var W = 1 / fan_in) slows down as it
deepens. The source compares depths each at its own learning rate (its analysis: the
largest stable, and the best, rate falls as 1 / depth, and the time in units of
1 / rate is then depth-independent for the orthogonal product, which is an isometry,
while the product of many Gaussian matrices has singular values that shrink
exponentially with depth over width, so its weak modes take exponentially long).

The measurement (:mod:`initstudy.analysis.time_to_threshold`): each run's time, in
optimizer steps, to first reach a training loss at or below ``threshold``. The history
records the training loss once per epoch as the mean over the epoch's steps, which is,
to first order, the loss at the epoch's midpoint; so epoch e is placed at e − 1/2 epochs
and the crossing is interpolated linearly between the last record above the threshold and
the first at or below it. Epochs become steps by ``steps_per_epoch`` = ceil(n_train /
batch_size) (:meth:`initstudy.train.step.PackData.epoch_batches`; the tables do not carry
n_train or the batch size, so the claim config states the number). Without the shift
every time would carry an extra half epoch, which cancels in differences of times but not
in their logarithms, where it pulls every ratio towards 1.

The rate (one stage, on the claim's runs; a training-loss quantity, so the test set and
validation set play no part): for each cell (dataset, arch, activation, optimizer, depth)
and initializer i, among the rates of ``grid.learning_rates``,

    η*(cell, i) = argmin_η  median_s T(cell, i, η, s)          (ties: the smaller rate),

T the time to threshold of seed s's run, +∞ when it never reached it (censored, diverged
included) and its bound when it was below the threshold at the first record. Each seed's
run at η* is the compared run. The median over the seeds resists one slow seed; choosing
on the same seeds that are then compared favours the chosen rate slightly (the smallest
of a few medians), the same way at every depth and for both initializers.

One value per seed and cell without depth (least-squares fits over the seed's depths, with
``fit_steps``: the time, or for a censored run the time it was observed up to, a lower
bound), expressed as the fitted change over the depth range (slope × (deepest − shallowest
depth)), so that a value reads as the log of a factor:

``orthogonal_flat``  the change of ln T_orthogonal with depth (the claim: within a margin
                     of 0, as the source says: depth-independent; a falling time fails it
                     as a rising one does);
``ratio_growth``     the change of ln(T_gaussian / T_orthogonal) with depth, the two runs
                     of a seed and depth paired (the claim: above a margin);
``unresolved``       per seed, the share of its compared runs (both initializers, every
                     depth) whose time is only a bound: never reached while the loss was
                     finite, or already reached at the first record.

Why ln T against depth, not against ln depth: the theory's Gaussian slowdown is
exponential in depth (the smallest singular values of a product of d Gaussian matrices
decay like exp(−c d / width)), so ln T is linear in depth, and a depth-independent time
is flat on either scale.

Censoring counts against the claim (``unresolved``), and a censored run enters its fit at
a lower bound rather than being dropped (dropped, the slowest deep runs would flatten the
fits unseen).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from initstudy.analysis.claims.registry import ClaimError, figure_tables, register
from initstudy.analysis.claims.rule import boundaries, decide
from initstudy.analysis.time_to_threshold import AT_FIRST_POINT, CENSORED, time_to_threshold

PARAMS = {
    "threshold": None,
    "steps_per_epoch": None,
    "loss": "train_loss",
    "orthogonal": "orthogonal",
    "gaussian": "gaussian",
}
#: The rate column of the tables.
RATE = "learning_rate"
#: The history's record of epoch e stands for the loss at e − MIDPOINT epochs.
MIDPOINT = 0.5
#: The parts whose value is a fitted change over the depth range: part -> what it fits.
CHANGE_PARTS = {"orthogonal_flat": "orthogonal", "ratio_growth": "ratio"}
#: Columns of the ``changes`` figure table.
CHANGES_COLUMNS = ["dataset", "arch", "activation", "optimizer", "part", "kind", "seed", "value", "ci_low",
                   "ci_high", "direction", "bound_low", "bound_high"]
#: Columns of the ``rates`` figure table.
RATES_COLUMNS = ["dataset", "arch", "activation", "optimizer", "depth", "initializer", RATE, "median_steps",
                 "n_reached", "n_seeds", "chosen", "at_edge"]
#: The cell's columns that name a sub-claim: every one but depth, which the fits run over.
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
    if RATE not in history.columns:
        raise ClaimError(f"claim.statistic: saxe2013 chooses a rate per depth from the history's {RATE!r} "
                         f"column, which the study's history lacks")


def run_times(tables, params) -> pd.DataFrame:
    """Per run of the two initializers: its fields, ``learning_rate``, ``steps`` to
    threshold (NaN when never reached), ``status``, ``last_steps`` and ``fit_steps``
    (``steps``, or ``last_steps`` for a censored run: a lower bound), with each epoch's
    record placed at its midpoint (module docstring)."""
    history = tables.history
    _check(params, history)
    chosen = history[history["initializer"].isin([params["orthogonal"], params["gaussian"]])]
    chosen = chosen.assign(midpoint=chosen["epoch"].astype(float) - MIDPOINT)
    times = time_to_threshold(chosen, float(params["threshold"]), loss=params["loss"], time="midpoint",
                              steps_per_unit=params["steps_per_epoch"])
    rates = chosen.groupby("run_id")[RATE].first()
    times[RATE] = rates.reindex(times["run_id"]).to_numpy(float)
    return times.assign(fit_steps=times["steps"].where(times["status"] != CENSORED, times["last_steps"]))


def rate_table(times: pd.DataFrame) -> pd.DataFrame:
    """Per cell (with depth), initializer and rate: the median time to threshold over the
    seeds (censored: +∞; NaN where more than half never reached it), how many reached it,
    and ``chosen``: the rate of smallest median (ties: the smaller rate); ``at_edge``: the
    chosen rate is the smallest or largest of the grid (its optimum may lie outside)."""
    keys = [*SUBCLAIM_CELL, "depth", "initializer"]
    ranked = times.assign(rank_steps=times["steps"].where(times["status"] != CENSORED, np.inf))
    table = ranked.groupby([*keys, RATE], sort=True).agg(
        median_steps=("rank_steps", "median"), n_reached=("status", lambda s: int((s != CENSORED).sum())),
        n_seeds=("seed", "nunique")).reset_index()
    order = table.sort_values([*keys, "median_steps", RATE]).groupby(keys, sort=False).head(1).index
    table["chosen"] = table.index.isin(order)
    grid = table.groupby(SUBCLAIM_CELL)[RATE].agg(["min", "max"]).reset_index()
    table = table.merge(grid, on=SUBCLAIM_CELL)
    table["at_edge"] = table["chosen"] & ((table[RATE] == table["min"]) | (table[RATE] == table["max"]))
    table.loc[~table["chosen"], "at_edge"] = False
    table["median_steps"] = table["median_steps"].replace(np.inf, np.nan)
    return table[RATES_COLUMNS]


def compared_runs(times: pd.DataFrame) -> pd.DataFrame:
    """Every seed's run at its cell and initializer's chosen rate (:func:`rate_table`)."""
    chosen = rate_table(times)
    chosen = chosen[chosen["chosen"]][[*SUBCLAIM_CELL, "depth", "initializer", RATE]]
    return times.merge(chosen, on=[*SUBCLAIM_CELL, "depth", "initializer", RATE], how="inner")


def _change(depths: np.ndarray, values: np.ndarray) -> float:
    """The least-squares slope of ``values`` on ``depths`` times the depth range (NaN with
    fewer than 3 finite points or one depth)."""
    ok = np.isfinite(values)
    x, y = depths[ok].astype(float), values[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan
    slope = float(np.polyfit(x, y, 1)[0])
    return slope * float(np.ptp(x))


def seed_changes(compared: pd.DataFrame, params) -> pd.DataFrame:
    """Per cell (without depth) and seed: ``orthogonal`` (the fitted change of ln T of the
    orthogonal runs over the depth range) and ``ratio`` (of ln(T_gaussian / T_orthogonal),
    over the depths where the seed has both), and the depth columns' log values."""
    wide = compared.pivot_table(index=[*SUBCLAIM_CELL, "seed", "depth"], columns="initializer",
                                values="fit_steps").reset_index()
    for init in (params["orthogonal"], params["gaussian"]):
        if init not in wide:
            wide[init] = np.nan
    wide["log_orthogonal"] = np.log(wide[params["orthogonal"]].astype(float))
    wide["log_ratio"] = np.log(wide[params["gaussian"]].astype(float)) - wide["log_orthogonal"]
    rows = []
    for key, frame in wide.groupby([*SUBCLAIM_CELL, "seed"], sort=True):
        depths = frame["depth"].to_numpy(float)
        rows.append({**dict(zip([*SUBCLAIM_CELL, "seed"], key)),
                     "orthogonal": _change(depths, frame["log_orthogonal"].to_numpy(float)),
                     "ratio": _change(depths, frame["log_ratio"].to_numpy(float))})
    return pd.DataFrame(rows, columns=[*SUBCLAIM_CELL, "seed", "orthogonal", "ratio"])


def _name(key: dict, what: str) -> str:
    return " ".join([*(str(key[c]) for c in ("arch", "activation", "optimizer")), what])


@register("saxe2013", parts={
    "orthogonal_flat": "change of ln(steps to threshold), orthogonal, over the depth range",
    "ratio_growth": "change of ln(T_gaussian / T_orthogonal) over the depth range",
    "unresolved": "share of the compared runs whose time to threshold is only a bound",
}, params=PARAMS)
def saxe2013(tables, params) -> pd.DataFrame:
    compared = compared_runs(run_times(tables, params))
    changes = seed_changes(compared, params)
    label = f"{params['gaussian']} / {params['orthogonal']}"
    parts = []
    for part, column, what in (("orthogonal_flat", "orthogonal", params["orthogonal"]),
                               ("ratio_growth", "ratio", label)):
        frame = changes.assign(part=part, value=changes[column], initializer=what)
        frame["subclaim"] = [_name(r, what) for r in frame.to_dict("records")]
        parts.append(frame)
    bound = compared.assign(value=compared["status"].isin([CENSORED, AT_FIRST_POINT]).astype(float))
    unresolved = bound.groupby([*SUBCLAIM_CELL, "seed"], sort=True)["value"].mean().reset_index()
    both = f"{params['orthogonal']}+{params['gaussian']}"
    unresolved = unresolved.assign(part="unresolved", initializer=both)
    unresolved["subclaim"] = [_name(r, f"{both} runs") for r in unresolved.to_dict("records")]
    parts.append(unresolved)
    columns = ["part", "subclaim", "seed", "value", *SUBCLAIM_CELL, "initializer"]
    return pd.concat([p[columns] for p in parts], ignore_index=True).dropna(subset=["value"])


@figure_tables("saxe2013")
def saxe2013_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``times``: every run's time to threshold at every rate (``steps``, NaN when
    censored; ``last_steps``; ``status``; ``fit_steps``) and ``chosen`` (the run is at its
    cell and initializer's chosen rate: a compared run); ``rates``: :func:`rate_table`
    (per depth, initializer and rate the median time, and which rate was chosen: the
    mechanism check that the best rate falls with depth); ``changes``: per cell, one row
    per seed (``kind`` = ``seed``) of each fitted-change part, then (``kind`` = ``mean``)
    their mean with the interval of its rule's test (the verdict's), the rule's direction
    and bounds (blank and NaN without a rule)."""
    times = run_times(tables, params)
    compared = compared_runs(times)
    rates = rate_table(times)
    keys = [*SUBCLAIM_CELL, "depth", "initializer", RATE]
    times = times.merge(compared[["run_id"]].assign(chosen=True), on="run_id", how="left")
    times["chosen"] = times["chosen"].fillna(False).astype(bool)
    changes = seed_changes(compared, params)
    rows = []
    for key, cell in changes.groupby(SUBCLAIM_CELL, sort=True):
        names = dict(zip(SUBCLAIM_CELL, key))
        for part, column in CHANGE_PARTS.items():
            rule = rules.get(part)
            bounds = boundaries(rule) if rule else ()
            low, high = (bounds[0], bounds[-1]) if bounds else (math.nan, math.nan)
            values = cell.set_index("seed")[column].dropna()
            fields = {**names, "part": part, "direction": rule["direction"] if rule else "", "bound_low": low,
                      "bound_high": high}
            rows += [{**fields, "kind": "seed", "seed": seed, "value": v} for seed, v in values.items()]
            decided = decide(values.to_numpy(float), rule) if rule and len(values) else {}
            rows.append({**fields, "kind": "mean", "value": float(values.mean()) if len(values) else math.nan,
                         "ci_low": decided.get("ci_low", math.nan), "ci_high": decided.get("ci_high", math.nan)})
    times_table = times[[*keys, "seed", "steps", "status", "last_steps", "fit_steps", "chosen"]]
    return {"times": times_table, "rates": rates, "changes": pd.DataFrame(rows, columns=CHANGES_COLUMNS)}
