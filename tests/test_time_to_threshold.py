"""Time to a loss threshold on synthetic histories with known answers, and the slope CIs against R."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from initstudy.analysis import time_to_threshold as ttt

NO_R = pytest.mark.skipif(shutil.which("Rscript") is None,
                          reason="Rscript is not installed (apt-get install r-base-core): the cross-check "
                                 "against R's lm needs it")


def _history(run_id, losses, **fields):
    base = {"dataset": "digits", "arch": "mlp", "activation": "linear", "optimizer": "sgd", "depth": 2,
            "initializer": "orthogonal", "seed": 0}
    return pd.DataFrame([{"run_id": run_id, **base, **fields, "epoch": e + 1, "train_loss": v}
                         for e, v in enumerate(losses)])


def test_crossing_times_interpolate_between_recorded_points():
    history = pd.concat([
        _history("a", [2.0, 1.5, 1.0, 0.5, 0.2]),            # 1.0 -> 0.5 between epochs 3 and 4
        _history("b", [2.0, 0.75, 0.1]),                     # exactly at the threshold at epoch 2
        _history("c", [2.0, 1.9, 1.8]),                      # never
        _history("d", [0.5, 0.4]),                           # below from the first point
        _history("e", [2.0, 1.0, math.nan, 0.1]),            # diverged before reaching
        _history("f", [2.0, 0.5, 3.0, 0.1]),                 # the first crossing counts
    ])
    times = ttt.time_to_threshold(history.sample(frac=1, random_state=0), 0.75, steps_per_unit=10)
    by_run = times.set_index("run_id")
    assert list(times.columns) == ["run_id", "dataset", "arch", "activation", "optimizer", "depth",
                                   "initializer", "seed", "steps", "status", "last_steps"]
    assert by_run.loc["a", "steps"] == pytest.approx(35.0) and by_run.loc["a", "status"] == "reached"
    assert by_run.loc["b", "steps"] == pytest.approx(20.0) and by_run.loc["b", "status"] == "reached"
    assert math.isnan(by_run.loc["c", "steps"]) and by_run.loc["c", "status"] == "censored"
    assert by_run.loc["c", "last_steps"] == 30.0
    assert by_run.loc["d", "steps"] == 10.0 and by_run.loc["d", "status"] == "at_first_point"
    assert math.isnan(by_run.loc["e", "steps"]) and by_run.loc["e", "status"] == "censored"
    assert by_run.loc["e", "last_steps"] == 20.0
    # 2.0 -> 0.5 over epochs 1..2: (2.0 - 0.75) / 1.5 of an epoch after epoch 1
    assert by_run.loc["f", "steps"] == pytest.approx(10 * (1 + 1.25 / 1.5))


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="train_loss"):
        ttt.time_to_threshold(pd.DataFrame({"run_id": ["a"], "epoch": [1]}), 0.5)


def _linear_loss_runs(slopes: dict[str, float], depths, seeds=(0,), intercept=4.0):
    """Losses falling linearly from 1 to 0 over ``2 (intercept + slope depth)`` epochs, recorded
    every epoch: they cross 0.5 at exactly ``intercept + slope depth`` epochs."""
    frames = []
    for init, slope in slopes.items():
        for depth in depths:
            for seed in seeds:
                total = 2 * (intercept + slope * depth)
                epochs = np.arange(1, math.ceil(total) + 2)
                losses = np.clip(1 - epochs / total, 0, None)
                frames.append(_history(f"{init}-{depth}-{seed}", losses, depth=depth,
                                       initializer=init, seed=seed))
    return pd.concat(frames)


def test_slopes_recover_known_depth_dependence_end_to_end():
    history = _linear_loss_runs({"orthogonal": 0.0, "glorot_normal": 1.5}, [2, 5, 10, 20, 50], seeds=(0, 1))
    times = ttt.time_to_threshold(history, 0.5, steps_per_unit=8)
    assert (times["status"] == "reached").all()
    slopes = ttt.depth_slopes(times).set_index("initializer")
    assert slopes.loc["glorot_normal", "slope"] == pytest.approx(8 * 1.5, rel=1e-9)
    assert slopes.loc["orthogonal", "slope"] == pytest.approx(0.0, abs=1e-9)
    assert slopes.loc["orthogonal", "intercept"] == pytest.approx(8 * 4.0, rel=1e-9)
    assert (slopes["n_runs"] == 10).all() and (slopes["n_depths"] == 5).all()
    difference = ttt.slope_difference(slopes.reset_index(), "glorot_normal", "orthogonal")
    assert difference["difference"] == pytest.approx(12.0, rel=1e-9)


def test_censored_runs_are_left_out_and_counted():
    times = pd.DataFrame({"initializer": ["g"] * 5, "depth": [2, 4, 8, 16, 32],
                          "steps": [10.0, 20.0, 40.0, 80.0, math.nan],
                          "status": ["at_first_point", "reached", "reached", "reached", "censored"]})
    row = ttt.depth_slopes(times).iloc[0]
    assert row["n_runs"] == 4 and row["n_censored"] == 1 and row["n_at_first_point"] == 1
    assert row["slope"] == pytest.approx(5.0)
    too_few = ttt.depth_slopes(times.iloc[[0, 1]]).iloc[0]
    assert math.isnan(too_few["slope"]) and math.isnan(too_few["ci_low"])


def rscript(code: str) -> list[float]:
    """Numbers R prints (``cat``) for ``code``."""
    out = subprocess.run(["Rscript", "-e", "options(digits = 15); " + code], capture_output=True, text=True,
                         timeout=60, check=True)
    return [float(v) for v in out.stdout.split()]


def _noisy_times():
    """Two initializers on the same design (6 depths x 3 seeds), unequal residual spreads."""
    rng = np.random.default_rng(7)
    depths = np.repeat([2, 5, 10, 20, 35, 50], 3)
    rows = []
    for init, slope, noise in (("orthogonal", 0.3, 5.0), ("glorot_normal", 4.0, 30.0)):
        steps = 100 + slope * depths + noise * rng.standard_normal(depths.size)
        rows += [{"initializer": init, "depth": d, "steps": s, "status": "reached"} for d, s in zip(depths, steps)]
    return pd.DataFrame(rows)


def _r_vector(values) -> str:
    return "c(" + ", ".join(repr(float(v)) for v in values) + ")"


@NO_R
def test_slope_ci_matches_r_confint_of_lm():
    times = _noisy_times()
    slopes = ttt.depth_slopes(times, confidence=0.9).set_index("initializer")
    for init, frame in times.groupby("initializer"):
        fit = f"fit <- lm(y ~ x, data.frame(x = {_r_vector(frame.depth)}, y = {_r_vector(frame.steps)}))"
        slope, stderr, low, high = rscript(
            fit + "; s <- summary(fit)$coefficients; ci <- confint(fit, 'x', level = 0.9);"
                  "cat(s['x', 'Estimate'], s['x', 'Std. Error'], ci[1], ci[2])")
        row = slopes.loc[init]
        assert [row.slope, row.stderr, row.ci_low, row.ci_high] == pytest.approx([slope, stderr, low, high],
                                                                                 rel=1e-10)


@NO_R
def test_slope_difference_matches_r():
    """The standard error is R's ``depth:initializer`` interaction SE in ``lm(y ~ x * g)`` (same
    design in both groups); the Welch-Satterthwaite interval is recomputed in R from the two
    separate fits' ``summary`` and ``qt``."""
    times = _noisy_times()
    difference = ttt.slope_difference(ttt.depth_slopes(times), "glorot_normal", "orthogonal")
    code = (f"d <- data.frame(x = {_r_vector(times.depth)}, y = {_r_vector(times.steps)}, "
            f"g = factor({'c(' + ', '.join(repr(g) for g in times.initializer) + ')'}, "
            "levels = c('orthogonal', 'glorot_normal')));"
            "pooled <- summary(lm(y ~ x * g, d))$coefficients['x:gglorot_normal', ];"
            "one <- function(level) summary(lm(y ~ x, d[d$g == level, ]))$coefficients['x', ];"
            "a <- one('glorot_normal'); b <- one('orthogonal'); n <- sum(d$g == 'orthogonal') - 2;"
            "se <- sqrt(a[2]^2 + b[2]^2); df <- se^4 / (a[2]^4 / n + b[2]^4 / n);"
            "h <- qt(0.975, df) * se;"
            "cat(pooled[1], pooled[2], df, a[1] - b[1] - h, a[1] - b[1] + h)")
    estimate, pooled_se, df, low, high = rscript(code)
    assert difference["difference"] == pytest.approx(estimate, rel=1e-10)
    assert difference["stderr"] == pytest.approx(pooled_se, rel=1e-10)
    assert difference["df"] == pytest.approx(df, rel=1e-10) and df < 2 * (18 - 2)
    assert [difference["ci_low"], difference["ci_high"]] == pytest.approx([low, high], rel=1e-10)
