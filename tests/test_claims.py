"""Claims: the tests against independent implementations and published worked examples,
the decision rule's three verdicts, the conjunction's PASS (intersection-union) and FAIL
(Holm across sub-claims), each claim family's verdicts on synthetic tables with known
answers, a claim's own zeros runs checked before it is decided, the verbs, the figures
and the paper's claims table and macros. (Controls: tests/test_controls.py; every
family reaching FAIL: tests/test_claims_can_fail.py; registration: tests/test_registration.py.)"""

from __future__ import annotations

import copy
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as scipy_stats

from conftest import latexmk_log, minimal_paper
from initstudy import cli
from initstudy.analysis.claims import evaluate, inference, rule
from initstudy.analysis.claims.registry import FAMILIES, ClaimError, Tables, family, resolve
from initstudy.figures import registry as figures
from initstudy.paper import macros as paper_macros
from initstudy.paper import tables as paper_tables
from initstudy.paper import typeset
from initstudy.core.table_io import read_table
from initstudy.study import catalog
from initstudy.study import config as study_config
from initstudy.study import paths
from initstudy.study.fields import GRID_DIMENSIONS

REPO = Path(__file__).resolve().parents[1]
CLAIM_CONFIGS = sorted((REPO / "config" / "claims").glob("*.yaml"))
NO_R = pytest.mark.skipif(shutil.which("Rscript") is None,
                          reason="Rscript is not installed (apt-get install r-base-core): the cross-check "
                                 "against R's stats needs it")
#: Darwin's Zea mays: differences in height (eighths of an inch) of 15 pairs of crossed
#: and self-fertilized plants (Fisher 1935, The Design of Experiments, §17 and §21).
DARWIN = np.array([49, -67, 8, 16, 6, 23, 28, 41, 14, 29, 56, 24, 75, 60, -48], dtype=float)


def rscript(code: str) -> list[float]:
    """Numbers R prints (``cat``) for ``code``."""
    out = subprocess.run(["Rscript", "-e", "options(digits = 15); " + code], capture_output=True, text=True, timeout=60, check=True)
    return [float(v) for v in out.stdout.split()]


def r_vector(x) -> str:
    return "c(" + ",".join(repr(float(v)) for v in x) + ")"


# ------------------------------------------------------------------ the tests, cross-checked


def test_sign_flip_reproduces_fishers_zea_mays_count():
    """Fisher (1935, §21): of the 2**15 = 32768 sign patterns of Darwin's differences,
    1726 give a total at least as large in absolute value as observed: p = 0.0527."""
    assert inference.sign_flip_p(DARWIN) * 2**15 == pytest.approx(1726)
    assert inference.sign_flip_p(DARWIN) == pytest.approx(0.0527, abs=5e-5)


def test_t_test_reproduces_fishers_zea_mays_t():
    """Fisher (1935, §17): t = 2.148 with 14 degrees of freedom, just significant at 5 %."""
    result = inference.t_test(DARWIN, 0.0, 0.05)
    statistic = scipy_stats.ttest_1samp(DARWIN, 0.0).statistic
    assert statistic == pytest.approx(2.148, abs=5e-4)
    assert 0.049 < result["p_value"] < 0.05
    assert result["ci_low"] > 0 and result["ci_high"] == pytest.approx(41.84, abs=5e-3)


@pytest.mark.parametrize("n, seed, null", [(3, 0, 0.0), (6, 1, 0.2), (7, 2, -0.1), (10, 3, 0.5), (12, 4, 0.0)])
def test_sign_flip_equals_scipy_permutation_test(n, seed, null):
    """The enumeration agrees with scipy.stats.permutation_test (an independent
    implementation: one sample, permutation_type='samples' flips signs, exact)."""
    x = np.random.default_rng(seed).normal(0.3, 1.0, n)
    expected = scipy_stats.permutation_test((x - null,), np.mean, permutation_type="samples",
                                            n_resamples=np.inf, alternative="two-sided").pvalue
    assert inference.sign_flip_p(x, null) == pytest.approx(expected, abs=1e-12)


@NO_R
def test_t_test_equals_r():
    """p-value and interval of R's t.test(x, mu = theta, conf.level = 1 - alpha)."""
    rng = np.random.default_rng(5)
    for n, null, alpha in ((3, 0.1, 0.05), (6, 0.5, 0.05), (9, -0.2, 0.1)):
        x = rng.normal(0.3, 0.4, n)
        p, low, high = rscript(f"r <- t.test({r_vector(x)}, mu = {null}, conf.level = {1 - alpha}); "
                               "cat(r$p.value, r$conf.int)")
        ours = inference.t_test(x, null, alpha)
        assert (ours["p_value"], ours["ci_low"], ours["ci_high"]) == pytest.approx((p, low, high), rel=1e-9)


@NO_R
def test_sign_flip_equals_an_r_enumeration():
    """The same p-values from an enumeration written in R (expand.grid of the signs)."""
    rng = np.random.default_rng(6)
    for n, null in ((4, 0.0), (6, 0.25), (8, -0.5)):
        x = np.round(rng.normal(0.2, 1.0, n), 3)
        (count,) = rscript(f"x <- {r_vector(x)} - ({null}); s <- as.matrix(expand.grid(rep(list(c(-1, 1)), "
                           f"{n}))); cat(sum(abs(s %*% x) >= abs(sum(x)) - 1e-9))")
        assert inference.sign_flip_p(x, null) == pytest.approx(count / 2**n)


def test_sign_flip_power_and_interval():
    """2 / 2**n is the smallest p; 6 seeds are the fewest that reach 0.05; below that the
    interval is unbounded; at n = 6, alpha = 0.05 it is the range of the values, and its
    bounds are where p crosses alpha."""
    assert [inference.sign_flip_min_p(n) for n in (1, 5, 6)] == [1.0, 0.0625, 0.03125]
    assert rule.minimum_seeds("sign_flip", 0.05) == 6 and rule.minimum_seeds("sign_flip", 0.01) == 8
    assert rule.minimum_seeds("t", 0.05) == 2
    x = np.array([0.31, 0.28, 0.45, 0.39, 0.36, 0.50])
    assert inference.sign_flip(x[:5], 0.0, 0.05)["ci_low"] == -math.inf
    result = inference.sign_flip(x, 0.0, 0.05)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((0.28, 0.50), abs=1e-9)
    assert result["p_value"] == result["min_p"] == 1 / 32
    seven = np.append(x, 0.1)
    low, high = inference.sign_flip_interval(seven, 0.05)
    for bound, outward in ((low, -1), (high, 1)):
        assert inference.sign_flip_p(seven, bound + outward * 1e-6) <= 0.05 < inference.sign_flip_p(seven, bound)


def test_constant_values_the_sign_flip_decides_and_the_t_test_refuses():
    """Networks stuck at one class score the same at every seed: the exact test still
    decides (interval a point), the t-test has no variance to work with."""
    stuck = np.full(6, -0.011)
    flip = inference.sign_flip(stuck, 0.05, 0.05)
    assert flip["p_value"] == 1 / 32 and flip["ci_low"] == flip["ci_high"] == -0.011
    t = inference.t_test(stuck, 0.05, 0.05)
    assert math.isnan(t["p_value"]) and "undefined" in t["reason"]


# ------------------------------------------------------------------ the decision rule


def _rule(direction, min_effect, target=0.0, test="sign_flip", alpha=0.05):
    return {"direction": direction, "min_effect": min_effect, "target": target, "test": test, "alpha": alpha}


@pytest.mark.parametrize("values, rule_args, verdict", [
    ([0.30, 0.35, 0.40, 0.28, 0.50, 0.45], ("greater", 0.1), "PASS"),
    ([0.01, 0.02, -0.01, 0.00, 0.03, 0.02], ("greater", 0.1), "FAIL"),
    ([0.30, 0.05, 0.40, 0.28, 0.50, 0.45], ("greater", 0.1), "INCONCLUSIVE"),   # interval straddles 0.1
    ([0.30, 0.35, 0.40, 0.28, 0.50], ("greater", 0.1), "INCONCLUSIVE"),         # 5 seeds cannot reach 0.05
    ([-0.01] * 6, ("less", 0.05), "PASS"),
    ([0.30, 0.35, 0.40, 0.28, 0.50, 0.45], ("less", 0.05), "FAIL"),
    ([0.49, 0.52, 0.47, 0.51, 0.50, 0.48], ("within", 0.1, 0.5), "PASS"),
    ([0.95, 0.97, 0.99, 0.96, 1.0, 0.98], ("within", 0.1, 0.5), "FAIL"),
    ([0.49, 0.52, 0.47, 0.51, 0.50, 0.65], ("within", 0.1, 0.5), "INCONCLUSIVE"),
])
def test_rule_verdicts(values, rule_args, verdict):
    decided = rule.decide(values, _rule(*rule_args))
    assert decided["verdict"] == verdict, decided


@pytest.mark.parametrize("values, direction, bound", [
    ([0.3, 0.35, 0.41, 0.28], "greater", 0.1), ([0.3, 0.05, 0.4], "greater", 0.1),
    ([0.01, 0.02, 0.03], "less", 0.05), ([0.45, 0.5, 0.56, 0.52], "within", 0.1),
])
def test_t_rule_p_and_interval_say_the_same(values, direction, bound):
    """With the t-test, PASS/FAIL exactly when the interval excludes a bound."""
    r = _rule(direction, bound, 0.5 if direction == "within" else 0.0, test="t")
    decided = rule.decide(values, r)
    bounds = rule.boundaries(r)
    excluded = all(b < decided["ci_low"] or b > decided["ci_high"] for b in bounds)
    assert (decided["verdict"] != "INCONCLUSIVE") == excluded


def test_the_t_test_needs_no_six_seeds():
    """Three seeds suffice for the t-test when the values vary (its smallest p is 0)."""
    assert rule.decide([0.30, 0.35, 0.40], _rule("greater", 0.1, test="t"))["verdict"] == "PASS"


def _parts(verdicts, p_values, min_p=1 / 64, n=7, alpha=0.05) -> pd.DataFrame:
    """Sub-claim rows as rule.decide gives them, with synthetic p-values."""
    k = len(verdicts)
    return pd.DataFrame({"verdict": verdicts, "p_value": p_values, "min_p": [min_p] * k, "n": [n] * k,
                         "alpha": [alpha] * k})


def test_conjunction_is_an_intersection_union_test():
    parts = _parts(["PASS", "PASS"], [0.01, 0.03], min_p=0.03, n=6)
    combined = rule.combine(parts)
    assert combined["verdict"] == "PASS" and combined["p_value"] == 0.03 and combined["deciding"] == 1
    parts.loc[1, "verdict"] = "INCONCLUSIVE"
    assert rule.combine(parts)["verdict"] == "INCONCLUSIVE"
    parts.loc[0, "verdict"] = "FAIL"
    combined = rule.combine(parts)  # m = 2: the failing p 0.01 is 0.02 after Holm
    assert combined["verdict"] == "FAIL" and combined["deciding"] == 0 and combined["n_fail"] == 1
    assert combined["p_value"] == pytest.approx(0.02) and combined["n_fail_holm"] == 1


def test_pass_keeps_its_level_without_a_correction():
    """Twelve sub-claims each passing at p = 0.04: the intersection-union test passes
    (its p the largest, 0.04), where Holm would have asked for 0.05 / 12 of each."""
    combined = rule.combine(_parts(["PASS"] * 12, [0.04] * 12))
    assert combined["verdict"] == "PASS" and combined["p_value"] == 0.04


def test_fail_needs_holm_across_the_subclaims():
    """One of twelve sub-claims fails at p = 1/32 (the exact test's smallest p with 6
    values): uncorrected it would FAIL the claim; after Holm over 12 it is 12/32 = 0.375,
    so the claim is INCONCLUSIVE, decided by that sub-claim, and says why."""
    parts = _parts(["PASS"] * 11 + ["FAIL"], [1 / 32] * 12, min_p=1 / 32, n=6)
    assert (parts["verdict"] == "FAIL").any()  # what the uncorrected rule fired on
    combined = rule.combine(parts)
    assert combined["verdict"] == "INCONCLUSIVE" and combined["n_fail"] == 1 and combined["n_fail_holm"] == 0
    assert combined["deciding"] == 11 and combined["p_holm"][11] == pytest.approx(12 / 32)
    assert combined["fail_min_p"] == pytest.approx(12 / 32)  # FAIL was out of reach with 6 values
    assert rule.minimum_fail_seeds("sign_flip", 0.05, 12) == 9 and rule.minimum_fail_seeds("sign_flip", 0.05, 1) == 6


def test_fail_after_holm_fires_and_steps_down():
    """A contrary p small enough for Holm FAILs the claim: 0.004 among 10 sub-claims is
    0.04 adjusted. Holm's step-down: with p = 0.01, 0.02 among 3 the adjusted p are 0.03
    and 0.04, both rejected (Bonferroni would have rejected only the first). A failing
    p is never smaller after the correction, so no claim FAILs with it that would not
    fail without it."""
    combined = rule.combine(_parts(["PASS"] * 9 + ["FAIL"], [0.01] * 9 + [0.004]))
    assert combined["verdict"] == "FAIL" and combined["deciding"] == 9
    assert combined["p_value"] == pytest.approx(0.04)
    stepped = rule.combine(_parts(["FAIL", "FAIL", "INCONCLUSIVE"], [0.01, 0.02, 0.5]))
    assert stepped["verdict"] == "FAIL" and stepped["n_fail_holm"] == 2
    assert list(stepped["p_holm"]) == pytest.approx([0.03, 0.04, 1.0])
    assert stepped["deciding"] == 0
    # the same p-values uncorrected and corrected: a corrected FAIL implies an uncorrected one
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = int(rng.integers(1, 13))
        verdicts = list(rng.choice(["PASS", "FAIL", "INCONCLUSIVE"], m))
        p = rng.uniform(0, 0.06, m)
        combined = rule.combine(_parts(verdicts, p))
        if combined["verdict"] == "FAIL":
            assert any(v == "FAIL" and q <= 0.05 for v, q in zip(verdicts, p))
        assert (combined["p_holm"] >= np.where(np.array(verdicts) == "FAIL", p, 1.0) - 1e-15).all()


# ------------------------------------------------------------------ synthetic studies

CELL_DEFAULTS = {"dataset": "mnist1d", "arch": "mlp", "width": 128}


def _run_id(**f) -> str:
    return f"{f['dataset']}/{f['arch']}/{f['activation']}/{f['optimizer']}/d{f['depth']}/{f['initializer']}/s{f['seed']}"


def synthetic_runs(rows: list[dict]) -> pd.DataFrame:
    """runs.parquet rows (10 classes) from dicts of the grid fields and test_accuracy."""
    out = []
    for row in rows:
        row = {**CELL_DEFAULTS, "diverged": False, "num_classes": 10, **row}
        out.append({"run_id": _run_id(**row), **row})
    return pd.DataFrame(out)


HE_INITS = ("he_normal", "glorot_uniform", "lecun_normal", "random_normal-stddev0.01")


#: The he2015 config's seeds: 9, the fewest with which its 12 sub-claims can FAIL after
#: Holm's correction (12 x 2 / 2**9 = 0.047 <= 0.05).
HE_SEEDS = range(9)


def he_study(accuracy, seeds=HE_SEEDS, ratio=None, depths=(30, 50), optimizers=("momentum",),
             inits=HE_INITS) -> Tables:
    """ReLU MLPs at depths 30 and 50 with SGD with momentum (or ``depths``,
    ``optimizers``); ``accuracy(init, optimizer, depth, seed)`` gives each run's test
    accuracy, ``ratio(init)`` the per-layer ratio of E[a²] at init (noise ±2 % per run)."""
    ratio = ratio or {"he_normal": 1.0, "glorot_uniform": 0.5, "lecun_normal": 0.5,
                      "random_normal-stddev0.01": 0.0064}.get
    rng = np.random.default_rng(0)
    runs, signal = [], []
    for optimizer in optimizers:
        for depth in depths:
            for init in inits:
                for seed in seeds:
                    fields = {"activation": "relu", "optimizer": optimizer, "depth": depth, "initializer": init,
                              "seed": seed}
                    runs.append({**fields, "test_accuracy": accuracy(init, optimizer, depth, seed)})
                    r = ratio(init) * (1 + rng.uniform(-0.02, 0.02))
                    for layer in range(1, depth + 1):
                        signal.append({**CELL_DEFAULTS, **fields, "run_id": _run_id(**CELL_DEFAULTS, **fields),
                                       "epoch": 0, "layer": layer, "activation_mean": 0.0,
                                       "activation_std": math.sqrt(r ** (layer - 1)), "grad_norm": 1.0})
    return Tables(synthetic_runs(runs), pd.DataFrame(), pd.DataFrame(signal))


def load_claim(name: str) -> dict:
    return study_config.load(REPO / "config" / "claims" / f"{name}.yaml")["claim"]


def verdicts_by_part(table: pd.DataFrame) -> dict[str, set[str]]:
    parts = table[table["level"] == "part"]
    return {part: set(group["verdict"]) for part, group in parts.groupby("part")}


def he_accuracy(glorot_trains=lambda optimizer, depth, seed: False):
    def accuracy(init, optimizer, depth, seed):
        if init == "he_normal":
            return 0.45 + 0.01 * seed
        if init == "glorot_uniform" and glorot_trains(optimizer, depth, seed):
            return 0.35
        return 0.089 + 0.001 * seed
    return accuracy


def test_he2015_pass():
    table = evaluate.verdicts("he2015", load_claim("he2015"), he_study(he_accuracy()))
    assert table.iloc[0]["level"] == "claim" and table.iloc[0]["verdict"] == "PASS"
    assert verdicts_by_part(table) == {"trains": {"PASS"}, "at_chance": {"PASS"}, "variance_halves": {"PASS"},
                                       "variance_constant": {"PASS"}}
    parts = table[table["level"] == "part"]
    # sub-claims per cell (depth) and initializer, one optimizer, nothing pooled: 9 seeds
    assert len(parts) == 12 and len(parts[parts["part"] == "at_chance"]) == 2 * 3 and set(parts["n"]) == {9}
    assert "+" not in parts.iloc[0]["subclaim"] and parts.iloc[0]["optimizer"] == "momentum"
    assert table.iloc[0]["min_p"] == 2 / 2**9 and table.iloc[0]["n_needed"] == 6
    assert table.iloc[0]["fail_min_p"] == pytest.approx(12 * 2 / 2**9)


def test_he2015_fail_when_glorot_trains():
    trains = he_accuracy(lambda o, d, s: d == 30)
    table = evaluate.verdicts("he2015", load_claim("he2015"), he_study(trains))
    claim = table.iloc[0]
    assert claim["verdict"] == "FAIL" and "d30 glorot_uniform" in claim["deciding"]
    assert claim["estimate"] == pytest.approx(0.25)
    assert claim["p_value"] == pytest.approx(12 * 2 / 2**9) and claim["n_fail_holm"] == 1
    # with 8 seeds the same sub-claim fails only before Holm's correction
    few = evaluate.verdicts("he2015", load_claim("he2015"), he_study(trains, seeds=range(8))).iloc[0]
    assert few["verdict"] == "INCONCLUSIVE" and few["n_fail"] == 1 and few["n_fail_holm"] == 0
    assert "not after Holm's correction" in few["reason"] and "FAIL was out of reach" in few["reason"]
    assert few["fail_min_p"] == pytest.approx(12 * 2 / 2**8)


def test_he2015_inconclusive_when_glorot_sometimes_trains_or_seeds_are_few():
    sometimes = he_study(he_accuracy(lambda o, d, s: d == 30 and s < 3))
    table = evaluate.verdicts("he2015", load_claim("he2015"), sometimes)
    assert table.iloc[0]["verdict"] == "INCONCLUSIVE"
    assert "interval contains a bound" in table.iloc[0]["reason"]
    few = evaluate.verdicts("he2015", load_claim("he2015"), he_study(he_accuracy(), seeds=(0, 1)))
    assert few.iloc[0]["verdict"] == "INCONCLUSIVE" and few.iloc[0]["min_p"] == 2 / 2**2
    assert "cannot reach" in few.iloc[0]["reason"]


def test_he2015_variance_fails_when_he_halves_too():
    halving = he_study(he_accuracy(), ratio=lambda init: 0.5)
    table = evaluate.verdicts("he2015", load_claim("he2015"), halving)
    assert verdicts_by_part(table)["variance_constant"] == {"FAIL"} and table.iloc[0]["verdict"] == "FAIL"


def glorot_study(seeds=range(6), saturates=True, standard_gain=1 / 3) -> Tables:
    """5-layer MLPs: tanh at init with the back-propagated gradient g_l and the
    activations' moments of the linear-regime theory (standard: E[a_l²] and g_l² scale
    by ``standard_gain`` per layer up and down; Glorot: constant), and sigmoid runs whose
    top layer's mean activation falls from 0.5 (``saturates``) or stays."""
    runs, signal = [], []
    for activation in ("tanh", "sigmoid"):
        for init in ("standard", "glorot_uniform"):
            for seed in seeds:
                fields = {"activation": activation, "optimizer": "sgd", "depth": 5, "initializer": init,
                          "seed": seed}
                runs.append({**fields, "test_accuracy": 0.1})
                gain = standard_gain if init == "standard" else 1.0
                noise = 1 + 0.01 * seed
                for epoch in range(6):
                    for layer in range(1, 6):
                        q = gain ** layer * noise
                        g = gain ** ((5 - layer) / 2)  # RMS backprop gradient, top layer 1
                        q_below = gain ** (layer - 1) * noise
                        mean = 0.0 if activation == "tanh" else 0.5
                        if activation == "sigmoid" and layer == 5 and saturates and epoch:
                            mean = 0.5 / (1 + 5 * epoch)
                        signal.append({**CELL_DEFAULTS, **fields, "run_id": _run_id(**CELL_DEFAULTS, **fields),
                                       "epoch": epoch, "layer": layer, "activation_mean": mean,
                                       "activation_std": math.sqrt(max(q - mean**2, 0)) if activation == "tanh"
                                       else 0.1, "grad_norm": g * math.sqrt(q_below)})
    return Tables(synthetic_runs(runs), pd.DataFrame(), pd.DataFrame(signal))


def test_glorot2010_pass():
    table = evaluate.verdicts("glorot2010", load_claim("glorot2010"), glorot_study())
    assert verdicts_by_part(table) == {part: {"PASS"} for part in
                                       ("backprop_shrinks", "backprop_flat", "weight_gradient_flat", "top_saturation")}
    parts = table[table["level"] == "part"].set_index("part")
    assert parts.loc["backprop_shrinks", "estimate"] == pytest.approx(math.log2(3 ** -1.5), abs=0.02)
    assert table.iloc[0]["verdict"] == "PASS"


def test_glorot2010_fail_and_inconclusive():
    flat = glorot_study(standard_gain=1.0, saturates=False)  # 6 seeds: 4 sub-claims x 1/32 > 0.05 after Holm
    assert evaluate.verdicts("glorot2010", load_claim("glorot2010"), flat).iloc[0]["verdict"] == "INCONCLUSIVE"
    flat = glorot_study(seeds=range(8), standard_gain=1.0, saturates=False)
    table = evaluate.verdicts("glorot2010", load_claim("glorot2010"), flat)
    assert verdicts_by_part(table)["backprop_shrinks"] == {"FAIL"}
    assert verdicts_by_part(table)["top_saturation"] == {"FAIL"} and table.iloc[0]["verdict"] == "FAIL"
    few = evaluate.verdicts("glorot2010", load_claim("glorot2010"), glorot_study(seeds=range(4)))
    assert few.iloc[0]["verdict"] == "INCONCLUSIVE" and set(few["min_p"]) == {1 / 8}


def zeros_study(accuracy=lambda activation, depth, seed: 0.1, seeds=(0, 1, 2)) -> Tables:
    """Zeros runs of the symmetry control's grid (relu and tanh, depths 2-50)."""
    runs = [{"activation": a, "optimizer": "adam", "depth": d, "initializer": "zeros", "seed": s,
             "test_accuracy": accuracy(a, d, s)}
            for a in ("relu", "tanh") for d in (2, 10, 30, 50) for s in seeds]
    return Tables(synthetic_runs(runs), pd.DataFrame(), pd.DataFrame())


def test_symmetry_is_no_claim_family():
    """The symmetry control is a control (initstudy.analysis.controls), not a claim: no
    config can name it as a claim's statistic, and no claim config is one."""
    assert "symmetry" not in FAMILIES and "symmetry" not in catalog.CLAIM_FIGURES
    with pytest.raises(ClaimError, match="not a registered claim statistic"):
        family("symmetry")
    assert "symmetry" not in {p.stem for p in CLAIM_CONFIGS}


# ------------------------------------------------------------------ configs and registry


def test_claim_configs_validate_and_resolve():
    """Every claim config is valid, names parts of its statistic, and gives every
    sub-claim the values its test needs to reach alpha (seeds x pooled levels)."""
    assert {"he2015", "he2015_cnn", "glorot2010"} <= {p.stem for p in CLAIM_CONFIGS}
    grid_key = {field: key for key, field in GRID_DIMENSIONS.items()}
    for path in CLAIM_CONFIGS:
        cfg = study_config.load(path)
        fam, params, rules = resolve(cfg["claim"])
        assert set(rules) <= set(fam.parts), path
        # a value per seed and pooled level
        per = list(params.get("pool", []))
        values = len(cfg["grid"]["seeds"]) * math.prod(len(cfg["grid"][grid_key[c]]) for c in per)
        for r in rules.values():
            assert rule.minimum_seeds(r["test"], r["alpha"]) <= values, path


def test_bad_claims_are_refused_with_the_key(tiny_config):
    cfg = copy.deepcopy(tiny_config)
    cfg["claim"] = {"hypothesis": "h", "source": {"paper": "p"}, "statistic": "he2015",
                    "rules": {"at_chance": {"direction": "sideways", "min_effect": 0.05}}}
    with pytest.raises(study_config.ConfigError, match="claim.rules.at_chance.direction"):
        study_config.check(copy.deepcopy(cfg))
    cfg["claim"]["rules"] = {"nope": {"direction": "less", "min_effect": 0.05}}
    with pytest.raises(ClaimError, match="unknown part.*'nope'"):
        resolve(study_config.check(copy.deepcopy(cfg))["claim"])
    cfg["claim"]["rules"] = {"at_chance": {"direction": "less", "min_effect": 0.05}}
    cfg["claim"]["params"] = {"typo": 1}
    with pytest.raises(ClaimError, match="unknown parameter.*'typo'"):
        resolve(study_config.check(copy.deepcopy(cfg))["claim"])
    with pytest.raises(ClaimError, match="not a registered claim statistic"):
        family("nope")
    assert {"he2015", "glorot2010"} <= set(FAMILIES)


# ------------------------------------------------------------------ verbs


def write_study(folder: Path, tables: Tables) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("runs", "history", "signal"):
        frame = getattr(tables, name)
        if name == "signal" and frame.empty:
            frame = pd.DataFrame({"run_id": pd.Series(dtype=str), "epoch": pd.Series(dtype=int)})
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


def one_stage_config(name: str, folder: Path) -> Path:
    """Claim ``name``'s config at one fixed rate, written to ``folder/<name>.yaml`` (the
    synthetic tables here have no rates to tune among; the two-stage protocol, which
    he2015 uses, is tested in test_tuning.py and test_tuning_workflow.py)."""
    cfg = yaml.safe_load((REPO / "config" / "claims" / f"{name}.yaml").read_text())
    cfg.pop("tuning", None)
    cfg["grid"].pop("learning_rates", None)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_claim_verb_writes_the_verdict_and_figure_tables(tmp_path, capsys):
    study = write_study(tmp_path / "he2015", he_study(he_accuracy()))
    config = one_stage_config("he2015", tmp_path)
    assert cli.main(["claim", f"--config={config}", f"--tables-dir={study}", f"--out-dir={study}",
                     f"--registry={tmp_path / 'registry.yaml'}"]) == 0
    verdict = pd.read_csv(study / paths.CLAIM_VERDICT)
    assert list(verdict.columns) == evaluate.VERDICT_COLUMNS and verdict.iloc[0]["verdict"] == "PASS"
    for table in catalog.CLAIM_FIGURES["he2015"].draws:
        assert (study / f"{table}.csv").exists(), table
    assert "he2015: PASS" in capsys.readouterr().out


def test_a_claims_own_zeros_runs_are_checked_before_it_is_decided(tmp_path, capsys):
    """A claim study with a zeros run that learned (the pipeline broken): the claim verb
    stops (exit 3) naming the cell, and writes no verdict."""
    broken = zeros_study(lambda a, d, s: 0.6 if (a, d) == ("tanh", 10) else 0.1).runs
    tables = he_study(he_accuracy())
    study = write_study(tmp_path / "he2015", tables._replace(runs=pd.concat([tables.runs, broken])))
    config = one_stage_config("he2015", tmp_path)
    status = cli.main(["claim", f"--config={config}", f"--tables-dir={study}", f"--out-dir={study}"])
    assert status == 3
    assert "symmetry control violated: mnist1d/mlp/tanh/adam/d10: " in capsys.readouterr().err
    assert not (study / paths.CLAIM_VERDICT).exists()


def test_claim_verb_refuses_a_config_without_claim_in_one_line(tmp_path, capsys, tiny_config):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_config))
    assert cli.main(["claim", f"--config={tmp_path / 'c.yaml'}", f"--tables-dir={tmp_path}",
                     f"--out-dir={tmp_path}"]) == 2
    assert "no 'claim' section" in capsys.readouterr().err


def claims_csv(tmp_path: Path) -> Path:
    """claims.csv of three synthetic claims (PASS, FAIL, INCONCLUSIVE) through the verbs;
    their rules unregistered (an empty registry)."""
    studies = {"he2015": he_study(he_accuracy()),
               "glorot2010": glorot_study(seeds=range(8), standard_gain=1.0),
               "he2015_cnn": he_study(he_accuracy(), seeds=(0,), optimizers=("adam", "momentum"))}
    verdicts = []
    for name, tables in studies.items():
        folder = write_study(tmp_path / name, tables)
        config = one_stage_config(name, tmp_path / "configs")
        assert cli.main(["claim", f"--config={config}", f"--tables-dir={folder}", f"--out-dir={folder}",
                         f"--registry={tmp_path / 'registry.yaml'}"]) == 0
        verdicts.append(str(folder / paths.CLAIM_VERDICT))
    out = tmp_path / "claims.csv"
    assert cli.main(["claims-table", f"--out={out}", *verdicts]) == 0
    return out


def test_claims_table_verb(tmp_path):
    table = pd.read_csv(claims_csv(tmp_path))
    assert list(table.columns) == evaluate.CLAIMS_COLUMNS
    assert dict(zip(table["name"], table["verdict"])) == {"glorot2010": "FAIL", "he2015": "PASS",
                                                          "he2015_cnn": "INCONCLUSIVE"}
    assert set(table["registration"]) == {"unregistered"} and table["rules_hash"].str.len().eq(64).all()


# ------------------------------------------------------------------ figures


def test_every_claim_figure_draws_from_its_tables(tmp_path):
    """Each family writes the tables the catalog says its figure draws (pennington2017,
    schoenholz2017 and saxe2013 draw theirs in their own test files), and the draw verb draws it from them
    under any claim name."""
    claims_csv(tmp_path)
    assert set(catalog.CLAIM_FIGURES) == {name for name, fam in FAMILIES.items() if fam.figure_tables}
    for statistic, entry in catalog.CLAIM_FIGURES.items():
        assert FAMILIES[statistic].table_names == entry.draws
    for statistic in ("he2015", "glorot2010"):
        names = catalog.CLAIM_FIGURES[statistic].draws
        figure = tmp_path / "figures" / f"claim_renamed_{statistic}.pdf"
        tables = [f"--table={t}={tmp_path / statistic / f'{t}.csv'}" for t in names]
        assert cli.main(["draw", str(figure), f"--claim={statistic}", *tables]) == 0
        data = figure.read_bytes()
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    he2015 = catalog.CLAIM_FIGURES["he2015"]
    fig = figures.draw(he2015, {t: pd.read_csv(tmp_path / "he2015" / f"{t}.csv") for t in he2015.draws})
    # accuracy panels per optimizer (1), variance panels per depth (2)
    assert len([ax for ax in fig.get_axes() if ax.get_visible()]) == 3


# ------------------------------------------------------------------ paper


def test_claims_table_and_macros(tmp_path):
    claims = read_table(claims_csv(tmp_path))
    latex = paper_tables.claims_table(claims)
    assert "\\toprule" in latex and latex.count("\\textbf{PASS}") == 1 and latex.count("\\textbf{FAIL}") == 1
    rows = [line for line in latex.splitlines() if line.endswith("\\\\") and "texttt" in line]
    assert len(rows) == 3
    assert "$-\\infty$" in latex  # he2015_cnn with 2 values: the exact test's interval is unbounded
    assert latex.count("\\itshape unregistered") == 3  # the paper marks unregistered rules
    macros = paper_macros.claims_macros(claims)
    assert (macros["NumClaims"], macros["NumClaimsPass"], macros["NumClaimsFail"],
            macros["NumClaimsInconclusive"]) == ("\\num{3}", "\\num{1}", "\\num{1}", "\\num{1}")
    assert macros["ClaimHeTwoThousandFifteenVerdict"] == "PASS" and macros["ClaimsValuesNeeded"] == "\\num{6}"
    assert macros["ClaimHeTwoThousandFifteenMinP"] == "\\num{0.00391}"  # 2 / 2**9
    golden = (REPO / "tests" / "data" / "golden_tiny" / "variables.tex").read_text()
    assert not set(macros) & set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", golden))
    texts = typeset.claims_texts(claims)
    assert tuple(texts) == paths.CLAIMS_GENERATED
    assert texts["claims.tex"].count("\\begin{figure}") == 3
    assert "generated/figures/claim_he2015.pdf" in texts["claims.tex"]


def test_typeset_claims_verb_and_optional_claims(tmp_path):
    out = tmp_path / "generated"
    assert cli.main(["typeset-claims", f"--claims={claims_csv(tmp_path)}", f"--out-dir={out}"]) == 0
    assert {str(p.relative_to(out)) for p in out.rglob("*.tex")} == set(paths.CLAIMS_GENERATED)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_the_claims_section_compiles_and_is_left_out_without_claims(tmp_path):
    paper = minimal_paper(tmp_path, "claims")

    log = latexmk_log(paper)  # no generated/claims.tex: no section, no undefined reference
    assert "undefined" not in log.lower()
    typeset.write_claims(claims_csv(tmp_path), paper / "generated")
    for name in ("he2015", "glorot2010", "he2015_cnn"):
        _blank_pdf(paper / "generated" / "figures" / f"claim_{name}.pdf")
    log = latexmk_log(paper)
    aux = (paper / "main.aux").read_text()
    assert "tab:claims" in aux and "fig:claim-he2015" in aux
    assert "Float too large" not in log and "undefined" not in log.lower()


def _blank_pdf(path: Path) -> None:
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    Figure(figsize=(6, 3)).savefig(path)


def test_only_a_claim_whose_statistic_draws_a_figure_gets_one():
    """optimizer_robustness has no figure (its verdict table says it all): the claims
    section must not include a PDF nobody draws, while he2015's is included."""
    from initstudy.paper import typeset

    rows = pd.DataFrame([
        {"name": name, "statistic": statistic, "source_paper": "p", "hypothesis": "h.", "verdict": "PASS"}
        for name, statistic in (("robust", "optimizer_robustness"), ("deep", "he2015"))])
    text = typeset.claims_section(rows)
    assert "claim_deep.pdf" in text and "claim_robust.pdf" not in text
    assert r"\input{sections/claims/optimizer_robustness.tex}" in text
