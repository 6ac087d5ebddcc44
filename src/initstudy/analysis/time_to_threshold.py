"""Training time to a loss threshold, and its slope against depth (Saxe et al., 2013).

Saxe et al. (arXiv:1312.6120) find that deep linear networks with orthogonal weights learn
in a time roughly independent of depth, while scaled Gaussian weights slow down with depth.
The measurement here is each run's time to reach a training loss threshold
(:func:`time_to_threshold`), then per initializer the least-squares slope of that time
against depth with a t confidence interval (:func:`depth_slopes`), and the difference of
two slopes (:func:`slope_difference`).

Pandas, numpy and scipy only: it reads ``history.parquet`` (one row per run x epoch, the
columns of :data:`initstudy.tables.build.HISTORY_COLUMNS`: the run fields, ``epoch`` from
1 and the epoch metrics such as ``train_loss``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.stats

from initstudy.study.fields import RUN_FIELDS

#: A run's outcome in :func:`time_to_threshold`.
REACHED, AT_FIRST_POINT, CENSORED = "reached", "at_first_point", "censored"


def _crossing(times: np.ndarray, losses: np.ndarray, threshold: float) -> tuple[float, str, float]:
    """``(time, status, last_time)`` of one run's points sorted by time (see :func:`time_to_threshold`)."""
    finite = np.isfinite(losses)
    usable = len(losses) if finite.all() else int(np.argmin(finite))  # up to the first non-finite loss
    times, losses = times[:usable], losses[:usable]
    last = float(times[-1]) if usable else math.nan
    below = np.flatnonzero(losses <= threshold)
    if below.size == 0:
        return math.nan, CENSORED, last
    i = below[0]
    if i == 0:
        return float(times[0]), AT_FIRST_POINT, last
    t0, t1, l0, l1 = times[i - 1], times[i], losses[i - 1], losses[i]
    return float(t0 + (l0 - threshold) / (l0 - l1) * (t1 - t0)), REACHED, last


def time_to_threshold(
    history: pd.DataFrame,
    threshold: float,
    *,
    loss: str = "train_loss",
    time: str = "epoch",
    steps_per_unit: float = 1.0,
) -> pd.DataFrame:
    """Each run's training time, in steps, to first reach ``loss <= threshold``.

    ``history``: one row per run (``run_id``) and recorded point, with the ``time`` and
    ``loss`` columns; the other run fields (:data:`initstudy.study.fields.RUN_FIELDS`) that
    it has are kept. ``steps_per_unit`` converts ``time`` to optimizer steps: the steps
    per epoch for ``time = "epoch"``, 1 for a step column.

    Between recorded points the loss is taken as linear in time, so the time of the first
    crossing, between the last point above the threshold ``(t0, l0)`` and the first at or
    below it ``(t1, l1)``, is ``t0 + (l0 - threshold) / (l0 - l1) (t1 - t0)``. A history's
    ``train_loss`` is the mean over the epoch's steps recorded at the epoch's end, which
    delays every time by about half an epoch; the shift is the same for runs with the same
    steps per epoch, so it cancels in slopes against depth and in their differences.

    Returns one row per run: its fields, ``steps`` (the time to threshold), ``status``
    and ``last_steps`` (the last usable recorded time, in steps). ``status`` is

    - ``reached``: crossed between two recorded points (interpolated);
    - ``at_first_point``: already at or below the threshold at the first recorded point;
      there is no earlier point to interpolate from, so ``steps`` is that point's time,
      an upper bound;
    - ``censored``: never reached while the loss was finite (the run ended, or diverged:
      a non-finite loss ends the usable record); ``steps`` is NaN and the run is
      right-censored at ``last_steps``.
    """
    missing = {"run_id", time, loss} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks columns {sorted(missing)}")
    fields = [f for f in RUN_FIELDS if f in history.columns]
    rows = []
    for _, run in history.sort_values(["run_id", time]).groupby("run_id", sort=True):
        t, status, last = _crossing(run[time].to_numpy(np.float64), run[loss].to_numpy(np.float64),
                                    threshold)
        rows.append({**run.iloc[0][fields].to_dict(), "steps": t * steps_per_unit, "status": status,
                     "last_steps": last * steps_per_unit})
    return pd.DataFrame(rows, columns=[*fields, "steps", "status", "last_steps"])


#: Columns of :func:`depth_slopes`, after the group column.
SLOPE_COLUMNS = ["slope", "intercept", "stderr", "df", "ci_low", "ci_high", "n_runs", "n_depths",
                 "n_censored", "n_at_first_point"]


def depth_slopes(
    times: pd.DataFrame,
    *,
    by: str = "initializer",
    x: str = "depth",
    y: str = "steps",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per group (``by``), the least-squares slope of time to threshold against depth, with a CI.

    ``scipy.stats.linregress`` of ``y`` on ``x`` over the group's runs with a finite ``y``
    (every seed is a point); the interval is ``slope +- t_{(1+confidence)/2, n-2} stderr``,
    the exact interval of the normal linear model, which R's ``confint(lm(y ~ x))`` gives.
    Not a bootstrap: with a handful of depths and seeds (n ~ 10-20) the percentile
    bootstrap under-covers and its resamples can lose whole depths. The t interval assumes
    one residual variance across depths; times that spread more at larger depth widen the
    true uncertainty at the ends.

    ``n_censored`` counts the runs left out because they never reached the threshold:
    dropping them biases the slope down (the slowest runs are the deep ones), so a
    decision rule should require it to be 0 or count it against the claim.
    ``n_at_first_point`` counts runs whose time is only an upper bound. A group with
    fewer than 3 runs or a single depth has NaN slope statistics.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), not {confidence}")
    rows = []
    for group, frame in times.groupby(by, sort=True):
        ok = frame[np.isfinite(frame[y].to_numpy(np.float64))]
        n, depths = len(ok), ok[x].nunique()
        row = {by: group, "n_runs": n, "n_depths": depths, "n_censored": len(frame) - n,
               "n_at_first_point": int((ok["status"] == AT_FIRST_POINT).sum()) if "status" in ok else 0}
        if n >= 3 and depths >= 2:
            fit = scipy.stats.linregress(ok[x].to_numpy(np.float64), ok[y].to_numpy(np.float64))
            half = scipy.stats.t.ppf((1 + confidence) / 2, n - 2) * fit.stderr
            row.update(slope=fit.slope, intercept=fit.intercept, stderr=fit.stderr, df=n - 2,
                       ci_low=fit.slope - half, ci_high=fit.slope + half)
        else:
            row.update(dict.fromkeys(["slope", "intercept", "stderr", "df", "ci_low", "ci_high"], math.nan))
        rows.append(row)
    return pd.DataFrame(rows, columns=[by, *SLOPE_COLUMNS])


def slope_difference(slopes: pd.DataFrame, first: str, second: str, *, by: str = "initializer",
                     confidence: float = 0.95) -> dict[str, float]:
    """``slope(first) - slope(second)`` from :func:`depth_slopes`, with a Welch CI.

    The two fits are independent samples (different runs), so the difference has standard
    error ``se = sqrt(se_1**2 + se_2**2)`` and, allowing unequal residual variances (a
    Gaussian initializer's times scatter more than an orthogonal one's), Welch-Satterthwaite
    degrees of freedom ``df = se**4 / (se_1**4 / df_1 + se_2**4 / df_2)``; the interval is
    ``difference +- t_{(1+confidence)/2, df} se``. With the same depths and number of runs
    in both groups, ``se`` equals the standard error of the ``depth:initializer``
    interaction in the pooled model ``lm(time ~ depth * initializer)``, and ``df`` is at
    most its ``n_1 + n_2 - 4``. Runs of the two initializers share seeds (common random
    numbers for data order); a positive correlation would make this interval conservative.
    Returns ``difference``, ``stderr``, ``df``, ``ci_low``, ``ci_high``.
    """
    rows = slopes.set_index(by)
    missing = {first, second} - set(rows.index)
    if missing:
        raise ValueError(f"no slope for {sorted(missing)}; have {sorted(rows.index)}")
    a, b = rows.loc[first], rows.loc[second]
    se = math.hypot(a["stderr"], b["stderr"])
    df = se**4 / (a["stderr"] ** 4 / a["df"] + b["stderr"] ** 4 / b["df"]) if se > 0 else a["df"] + b["df"]
    difference = float(a["slope"] - b["slope"])
    half = float(scipy.stats.t.ppf((1 + confidence) / 2, df) * se)
    return {"difference": difference, "stderr": se, "df": float(df),
            "ci_low": difference - half, "ci_high": difference + half}
