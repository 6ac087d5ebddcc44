"""Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), *Deep information propagation*
(arXiv:1611.01232), §5 and Figures 5-6: a random tanh network with weight variance
sigma_w2 / fan_in and bias variance sigma_b2 propagates the correlation of two inputs
over a depth scale xi_c = -1 / ln chi_c (:mod:`initstudy.analysis.meanfield`), which
diverges at the order-to-chaos transition chi_1 = 1 (sigma_w2 ≈ 1.76 at sigma_b2 =
0.05); networks train only when their depth L < ~6 xi_c, so the trainable depth peaks
at the critical sigma_w2.

Each run's sigma_w2 and sigma_b2 are read from its initializer spec (``runs.parquet``'s
``initializer_spec``, canonical JSON), not from its label: the weights must be
``variance_scaling`` with ``mode: fan_in`` (Var W = scale / fan_in whatever the
distribution: Keras rescales the truncated normal and sizes the uniform to keep it), so
sigma_w2 = ``scale``; the biases zeros (sigma_b2 = 0) or ``random_normal`` with mean 0,
so sigma_b2 = ``stddev``². Any other spec is a :class:`ClaimError` naming the key.

Trainability of a run: its final *train* accuracy (the paper's Figure 5 shows training
accuracy: the claim is about optimization, not generalization) exceeds chance by more
than ``margin``; a diverged run scores chance. The final train accuracy rather than the
loss decrease, because the initial loss differs across sigma_w2 (a chaotic network's
logits are larger), while chance is the same for every cell.

Prediction for a cell (activation, sigma_b2, sigma_w2, depth): trainable iff
L < ``multiple`` · xi_c(sigma_w2, sigma_b2).

A σ-blind baseline: the rule "trainable iff depth < c", one cutoff c for every sigma_w2,
c from the grid's depths plus "every depth" (c below the shallowest depth: nothing
trains; above the deepest: everything does). Its best c is chosen per setting and seed,
on that seed's own runs, the c of the highest agreement: in-sample, so the choice favours
the baseline, and per seed, so that each seed's value depends on its runs alone.

Parts (one sub-claim per setting: dataset, arch, activation, optimizer and sigma_b2), one
value per seed: the seed is the block (one data split and batch order shared by every run
of that seed, and the cutoff is chosen per seed), so the depths of a seed are not
independent values and are pooled within it:

``agreement``         the share of the seed's (sigma_w2, depth) cells at which the measured
                      trainability agrees with the prediction L < multiple xi_c, minus the
                      share at which it agrees with the seed's best σ-blind cutoff: how
                      much the theory's sigma_w2-dependence explains beyond depth alone
                      (paired by seed: both shares are of the same runs);
``peak_at_critical``  the mean over the seed's peak depths of |log2(s / sigma_w2*)|, s the
                      sigma_w2 of highest final train accuracy at that depth (ties: the
                      mean over the tied s), sigma_w2* the critical value
                      (:func:`meanfield.critical_sigma_w2`); the peak depths are those
                      where the theory leaves at most ``peak_share`` of the grid's sigma_w2
                      trainable: at shallower depths most of the grid trains and the best
                      sigma_w2 says how fast, not how deep, a network trains. A check of
                      the mechanism (the depth scale diverges at the order-to-chaos
                      transition), not of the predicted boundary itself.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd

from initstudy.analysis import meanfield
from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register

PARAMS = {"multiple": 6.0, "margin": 0.05, "peak_share": 0.5, "curve_points": 24}
#: The columns that set the theory apart within a study: a sub-claim per setting.
SETTING = ["dataset", "arch", "activation", "optimizer", "sigma_b2"]
AGREEMENT = ("agreement of trainability with L < multiple xi_c minus that of the best "
             "sigma-blind depth cutoff (per seed)")
PEAK = "|log2(best sigma_w2 / critical sigma_w2)|"


def variances(spec_json: str, label: str = "") -> tuple[float, float]:
    """(sigma_w2, sigma_b2) of one run's initializer spec (canonical JSON), or a
    :class:`ClaimError` naming the key that is not a variance the theory knows."""
    spec = json.loads(spec_json)
    where = f"runs.initializer_spec of {label or spec.get('label', '?')!r}"
    if spec.get("name") != "variance_scaling":
        raise ClaimError(f"{where}: name {spec.get('name')!r}; expected variance_scaling (sigma_w2 = scale)")
    if spec.get("mode", "fan_in") != "fan_in":
        raise ClaimError(f"{where}: mode {spec['mode']!r}; expected fan_in (Var W = sigma_w2 / fan_in)")
    bias = spec.get("bias")
    if bias is None:
        return float(spec.get("scale", 1.0)), 0.0
    if bias.get("name") != "random_normal":
        raise ClaimError(f"{where}: bias.name {bias.get('name')!r}; expected random_normal "
                         "(sigma_b2 = stddev**2) or no bias (zeros)")
    if float(bias.get("mean", 0.0)) != 0.0:
        raise ClaimError(f"{where}: bias.mean {bias['mean']!r}; expected 0")
    return float(spec.get("scale", 1.0)), float(bias.get("stddev", 0.05)) ** 2  # Keras' default stddev


@functools.lru_cache(maxsize=None)
def depth_scale(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """xi_c of the mean-field theory (seconds per chaotic point: cached)."""
    return meanfield.fixed_point(activation, sigma_w2, sigma_b2).xi_c


@functools.lru_cache(maxsize=None)
def critical(activation: str, sigma_b2: float) -> float:
    return meanfield.critical_sigma_w2(activation, sigma_b2)


def measured(runs: pd.DataFrame, params) -> pd.DataFrame:
    """One row per run: the setting, sigma_w2, depth, seed, final train accuracy
    (``score``; diverged: chance), ``trainable``, xi_c, the prediction and the critical sigma_w2."""
    if (runs["arch"] != "mlp").any():
        raise ClaimError(f"claim.statistic schoenholz2017: arch {sorted(set(runs['arch']) - {'mlp'})}; "
                         "expected mlp (the mean-field theory is of dense layers)")
    sigmas = [variances(s, label) for s, label in zip(runs["initializer_spec"], runs["initializer"])]
    runs = runs.assign(sigma_w2=[s[0] for s in sigmas], sigma_b2=[s[1] for s in sigmas],
                       chance=1.0 / runs["num_classes"])
    lost = runs["diverged"].astype(bool) | runs["train_accuracy"].isna()
    runs = runs.assign(score=runs["train_accuracy"].where(~lost, runs["chance"]))
    runs["trainable"] = runs["score"] > runs["chance"] + params["margin"]
    runs["xi_c"] = [depth_scale(a, w, b) for a, w, b in zip(runs["activation"], runs["sigma_w2"], runs["sigma_b2"])]
    runs["predicted"] = runs["depth"] < params["multiple"] * runs["xi_c"]
    runs["critical_sigma_w2"] = [critical(a, b) for a, b in zip(runs["activation"], runs["sigma_b2"])]
    return runs


def _name(setting: tuple) -> str:
    fields = dict(zip(SETTING, setting))
    return f"{fields['arch']} {fields['activation']} {fields['optimizer']} sigma_b2={fields['sigma_b2']:.3g}"


def _peak(group: pd.DataFrame) -> float:
    best = group[group["score"] == group["score"].max()]
    return float(np.mean(np.abs(np.log2(best["sigma_w2"] / best["critical_sigma_w2"]))))


def cutoff_agreement(block: pd.DataFrame) -> tuple[float, float]:
    """(c, share): the σ-blind cutoff "trainable iff depth < c" that agrees best with the
    block's measured trainability, and its share of agreeing runs. The candidates are the
    block's depths and +inf (everything trains); the shallowest depth means nothing
    trains. Ties go to the smallest c (any tied c scores the same)."""
    depths, trained = block["depth"].to_numpy(float), block["trainable"].to_numpy(bool)
    candidates = [*sorted(set(depths)), math.inf]
    shares = [float(((depths < c) == trained).mean()) for c in candidates]
    best = int(np.argmax(shares))
    return candidates[best], shares[best]


def seed_agreement(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting and seed: the theory's share of agreeing runs (``theory``), the best
    σ-blind cutoff (``cutoff``) and its share (``baseline``), and their difference
    (``difference``), from :func:`measured` runs."""
    rows = []
    for (*setting, seed), block in runs.groupby([*SETTING, "seed"], sort=True):
        cutoff, baseline = cutoff_agreement(block)
        theory = float((block["trainable"] == block["predicted"]).mean())
        rows.append({**dict(zip(SETTING, setting)), "seed": seed, "theory": theory, "cutoff": cutoff,
                     "baseline": baseline, "difference": theory - baseline, "n": len(block)})
    return pd.DataFrame(rows, columns=[*SETTING, "seed", "theory", "cutoff", "baseline", "difference", "n"])


@register("schoenholz2017", parts={"agreement": AGREEMENT, "peak_at_critical": PEAK}, params=PARAMS)
def schoenholz2017(tables, params) -> pd.DataFrame:
    runs = measured(tables.runs, params)
    rows = []
    for setting, group in runs.groupby(SETTING, sort=True):
        name = _name(setting)
        keys = dict(zip(SETTING[:4], setting[:4]))
        agreement = seed_agreement(group)
        depths = "+".join(str(d) for d in sorted(group["depth"].unique()))
        for row in agreement.itertuples(index=False):
            rows.append({**keys, "depth": depths, "seed": row.seed, "part": "agreement",
                         "subclaim": f"{name} (per seed)", "value": row.difference})
        share = group.groupby("depth")["predicted"].mean()
        deep = sorted(share.index[share <= params["peak_share"]])
        for seed, block in group[group["depth"].isin(deep)].groupby("seed", sort=True):
            peaks = [_peak(at_depth) for _, at_depth in block.groupby("depth", sort=True)]
            rows.append({**keys, "depth": "+".join(str(d) for d in deep), "seed": seed,
                         "part": "peak_at_critical", "subclaim": f"{name} (per seed, peak depths)",
                         "value": float(np.mean(peaks))})
    return pd.DataFrame(rows, columns=[*SETTING[:4], "depth", "seed", "part", "subclaim", "value"])


def theory_curve(activation: str, sigma_b2: float, low: float, high: float, points: int,
                 multiple: float) -> pd.DataFrame:
    """``multiple`` · xi_c on ``points`` sigma_w2 spaced evenly in log over [low, high],
    plus the critical sigma_w2 itself (xi_c = inf, flagged ``critical``); grid points
    within 0.1 % of the critical value are left out (there the chaotic phase's c* is
    not resolved, and the curve is beyond any depth anyway)."""
    star = critical(activation, sigma_b2)
    grid = [s for s in np.geomspace(low, high, points) if abs(s / star - 1) > 1e-3]
    rows = [{"sigma_w2": float(s), "xi_c": depth_scale(activation, float(s), sigma_b2), "critical": False}
            for s in grid]
    rows.append({"sigma_w2": star, "xi_c": math.inf, "critical": True})
    curve = pd.DataFrame(rows).sort_values("sigma_w2", ignore_index=True)
    return curve.assign(activation=activation, sigma_b2=sigma_b2, depth_scale=multiple * curve["xi_c"],
                        critical_sigma_w2=star)


@figure_tables("schoenholz2017")
def schoenholz2017_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``trainability``: per setting, sigma_w2 and depth, the mean final train accuracy
    over seeds, the share of seeds that trained, the prediction, multiple · xi_c, chance
    and the trainability threshold; ``theory``: the curve multiple · xi_c(sigma_w2) per
    setting (:func:`theory_curve`, ``curve_points`` points over the grid's range);
    ``agreement``: per setting and seed, the theory's and the best σ-blind cutoff's
    agreement (:func:`seed_agreement`: the values of the ``agreement`` part)."""
    runs = measured(tables.runs, params)
    keys = [*SETTING, "sigma_w2", "depth"]
    cells = runs.groupby(keys, sort=True).agg(
        accuracy=("score", "mean"), trained=("trainable", "mean"), n=("seed", "size"),
        predicted=("predicted", "first"), xi_c=("xi_c", "first"), chance=("chance", "first"),
        critical_sigma_w2=("critical_sigma_w2", "first")).reset_index()
    cells["depth_scale"] = params["multiple"] * cells["xi_c"]
    cells["threshold"] = cells["chance"] + params["margin"]
    curves = [theory_curve(activation, sigma_b2, group["sigma_w2"].min(), group["sigma_w2"].max(),
                           params["curve_points"], params["multiple"])
              for (activation, sigma_b2), group in runs.groupby(["activation", "sigma_b2"], sort=True)]
    return {"trainability": cells, "theory": pd.concat(curves, ignore_index=True),
            "agreement": seed_agreement(runs)}
