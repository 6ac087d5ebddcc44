"""Tests of the statistics layer against values computed independently of it:
published worked examples (R's friedman.test example from Hollander & Wolfe,
Wikipedia's Wilcoxon and Holm examples, Darwin's Zea mays data from Wilcoxon
1945, Newcombe 1998's Wilson intervals) and closed forms computed in the test."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from initstudy.analysis import paired, stats
from initstudy.core.table_io import write_tables

FAST = 999  # bootstrap resamples in tests
CELL_VALUES = {"dataset": "mnist1d", "arch": "mlp", "activation": "relu", "optimizer": "sgd", "depth": 4, "width": 128}

#: Value columns that must be NaN exactly when ``reason`` is non-empty.
CHECKED = {
    "friedman": ["statistic", "p_value"],
    "pairwise": ["p_value", "p_holm", "rank_biserial"],
    "bootstrap": ["ci_low", "ci_high"],
    "ranks": ["mean_rank"],
    "divergence": ["rate", "ci_low", "ci_high"],
}


def frame(
    scores: dict[str, list[float]],
    diverged: dict[str, list[bool]] | None = None,
    num_classes: int = 10,
    **cell,
) -> pd.DataFrame:
    """One row per run: ``scores[init][seed]`` is the test accuracy at that seed."""
    diverged = diverged or {}
    rows = []
    for init, values in scores.items():
        flags = diverged.get(init, [False] * len(values))
        for seed, (value, flag) in enumerate(zip(values, flags)):
            rows.append(
                {
                    **CELL_VALUES,
                    **cell,
                    "initializer": init,
                    "seed": seed,
                    "test_accuracy": value,
                    "diverged": flag,
                    "num_classes": num_classes,
                }
            )
    return pd.DataFrame(rows)


def run_all(final: pd.DataFrame, policy: str = "chance", **kwargs) -> dict[str, pd.DataFrame]:
    tables = stats.compute_all(final, diverged_policy=policy, n_resamples=FAST, **kwargs)
    assert_reasons_explain_nans(tables)
    return tables


def assert_reasons_explain_nans(tables: dict[str, pd.DataFrame]) -> None:
    """No silent NaN: a checked value is NaN iff its row gives a reason."""
    for name, columns in CHECKED.items():
        table = tables[name]
        has_reason = table["reason"] != ""
        for column in columns:
            pd.testing.assert_series_equal(
                table[column].isna(), has_reason, check_names=False, obj=f"{name}.{column} NaN vs reason"
            )


def one(table: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``table`` whose columns equal ``where``."""
    rows = table[(table[list(where)] == pd.Series(where)).all(axis=1)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# ----------------------------------------------------------------------- Friedman

#: R, ?friedman.test: "Hollander & Wolfe (1973), p. 140ff. Comparison of three methods
#: ('round out', 'narrow angle', and 'wide angle') for rounding first base", 22 players.
#: R prints "Friedman chi-squared = 11.143, df = 2, p-value = 0.003805" (tie-corrected).
ROUNDING_TIMES = np.array(
    [
        [5.40, 5.50, 5.55],
        [5.85, 5.70, 5.75],
        [5.20, 5.60, 5.50],
        [5.55, 5.50, 5.40],
        [5.90, 5.85, 5.70],
        [5.45, 5.55, 5.60],
        [5.40, 5.40, 5.35],
        [5.45, 5.50, 5.35],
        [5.25, 5.15, 5.00],
        [5.85, 5.80, 5.70],
        [5.25, 5.20, 5.10],
        [5.65, 5.55, 5.45],
        [5.60, 5.35, 5.45],
        [5.05, 5.00, 4.95],
        [5.50, 5.50, 5.40],
        [5.45, 5.55, 5.50],
        [5.55, 5.55, 5.35],
        [5.45, 5.50, 5.55],
        [5.50, 5.45, 5.25],
        [5.65, 5.60, 5.40],
        [5.70, 5.65, 5.55],
        [6.30, 6.30, 6.25],
    ]
)


def test_friedman_matches_hollander_wolfe_rounding_first_base():
    final = frame(
        {
            "round_out": list(ROUNDING_TIMES[:, 0]),
            "narrow_angle": list(ROUNDING_TIMES[:, 1]),
            "wide_angle": list(ROUNDING_TIMES[:, 2]),
        }
    )
    row = one(run_all(final)["friedman"])
    assert row["statistic"] == pytest.approx(11.143, abs=5e-4)
    assert row["p_value"] == pytest.approx(0.003805, abs=5e-7)
    assert (row["k"], row["n_blocks"], row["reason"]) == (3, 22, "")
    assert bool(row["reject"]) is True


def test_friedman_perfect_agreement_closed_form():
    """Every block ranks the k treatments alike and without ties: chi2_F = n (k - 1);
    with k = 3 the chi-squared(2) survival function is exp(-x / 2)."""
    n = 5
    final = frame(
        {
            "a": [0.90 + s / 100 for s in range(n)],
            "b": [0.80 + s / 100 for s in range(n)],
            "c": [0.70 + s / 100 for s in range(n)],
        }
    )
    tables = run_all(final)
    row = one(tables["friedman"])
    assert row["statistic"] == pytest.approx(n * 2)
    assert row["p_value"] == pytest.approx(math.exp(-n))
    assert json.loads(row["mean_ranks"]) == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert tables["ranks"].set_index("initializer")["mean_rank"].to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_mean_ranks_best_is_one_and_ties_share_the_average():
    blocks = pd.DataFrame({"a": [0.9, 0.7], "b": [0.9, 0.8], "c": [0.8, 0.9]})
    # block 1: a, b tie for ranks 1-2 -> 1.5 each, c 3; block 2: c 1, b 2, a 3
    assert stats.mean_ranks(blocks).to_dict() == {"a": 2.25, "b": 1.75, "c": 2.0}


# ----------------------------------------------------------------------- Wilcoxon

#: Wikipedia, "Wilcoxon signed-rank test", section Example: x2 - x1 over 10 pairs,
#: one zero difference, |5| tied (ranks 1.5); T = 18 (smaller rank sum), and the
#: Effect size section: rank-biserial r = 27/45 - 18/45 = 0.20 (Kerby 2014).
WIKI_X2 = [125, 115, 130, 140, 140, 115, 140, 125, 140, 135]
WIKI_X1 = [110, 122, 125, 120, 140, 124, 123, 137, 135, 145]


def exact_conditional_p(signed_ranks: list[float]) -> float:
    """Two-sided p by enumerating all 2^n sign assignments of the observed ranks."""
    ranks = np.abs(signed_ranks)
    t_plus = ranks[np.asarray(signed_ranks) > 0].sum()
    centre = ranks.sum() / 2
    sums = [
        sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=len(ranks))
    ]
    return float(np.mean([abs(s - centre) >= abs(t_plus - centre) - 1e-12 for s in sums]))


def test_wilcoxon_and_rank_biserial_match_wikipedia_example():
    final = frame({"x2": [v / 200 for v in WIKI_X2], "x1": [v / 200 for v in WIKI_X1]})
    row = one(run_all(final)["pairwise"])
    assert (row["initializer_a"], row["initializer_b"]) == ("x1", "x2")  # a < b by label: d = x1 - x2
    assert (row["n_pairs"], row["n_nonzero"]) == (10, 9)
    assert row["statistic"] == 18
    assert row["rank_biserial"] == pytest.approx(-0.20)
    assert row["mean_diff"] == pytest.approx(-2.4 / 200)  # sum of x2 - x1 is 24
    # ranks of |d| from the article's table, signed by x2 - x1
    assert row["p_value"] == pytest.approx(exact_conditional_p([1.5, 1.5, -3, -4, -5, -6, 7, 8, 9]))
    assert row["p_holm"] == row["p_value"]  # a family of one


def test_rank_biserial_sign_follows_a_minus_b():
    d = np.subtract(WIKI_X2, WIKI_X1).astype(float)
    assert paired.rank_biserial(d) == pytest.approx(0.20)
    assert paired.rank_biserial(-d) == pytest.approx(-0.20)


def count_subsets_with_sum_at_most(n: int, t: int) -> int:
    """Number of subsets of {1..n} whose sum is <= t (the exact null of T for n untied ranks)."""
    ways = [1] + [0] * t
    for r in range(1, n + 1):
        for s in range(t, r - 1, -1):
            ways[s] += ways[s - r]
    return sum(ways)


def test_wilcoxon_exact_on_darwins_zea_mays():
    """Cross- minus self-fertilised heights (Fisher 1935, used by Wilcoxon 1945): 15
    untied non-zero differences, negative ranks 10 and 14, so T = 24 and
    r = (96 - 24) / 120 = 0.6; exact two-sided p = 2 #{S subset of 1..15: sum S <= 24} / 2^15."""
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    row = paired.wilcoxon_pair(pd.Series(d, dtype=float), pd.Series(0.0, index=range(len(d))))
    assert row["statistic"] == 24
    assert row["rank_biserial"] == pytest.approx(0.6)
    assert row["p_value"] == pytest.approx(2 * count_subsets_with_sum_at_most(15, 24) / 2**15)


def test_wilcoxon_small_exact_case_by_hand():
    """d = (1, -2, 3, 4, 5) plus two zeros, which are discarded: T- = 2; subsets of
    {1..5} with sum <= 2 are {}, {1}, {2}, so p = 2 * 3 / 32; r = (13 - 2) / 15."""
    row = paired.wilcoxon_pair(pd.Series([1.0, -2, 0, 3, 4, 0, 5]), pd.Series([0.0] * 7))
    assert (row["n_pairs"], row["n_nonzero"], row["statistic"]) == (7, 5, 2)
    assert row["p_value"] == pytest.approx(6 / 32)
    assert row["rank_biserial"] == pytest.approx(11 / 15)


def test_round_off_does_not_split_tied_differences():
    # 0.6 - 0.55 and 0.4 - 0.45 differ in the last bits; as accuracies they are a tie
    row = paired.wilcoxon_pair(pd.Series([0.6, 0.4]), pd.Series([0.55, 0.45]))
    assert row["rank_biserial"] == 0.0


# --------------------------------------------------------------------------- Holm


def test_holm_wikipedia_example():
    """Wikipedia, "Holm-Bonferroni method": p = (0.01, 0.04, 0.03, 0.005) at alpha = 0.05
    rejects H1 and H4. Adjusted by hand: 4*0.005, 3*0.01, max(3*0.01, 2*0.03), max(.., 1*0.04)."""
    adjusted = paired.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert list(adjusted <= 0.05) == [True, False, False, True]


def test_holm_by_hand_and_edges():
    # by hand: sorted 0.01, 0.03, 0.05, 0.5 -> 4*0.01, 3*0.03, 2*0.05, 1*0.5, already increasing
    np.testing.assert_allclose(paired.holm([0.05, 0.03, 0.01, 0.5]), [0.1, 0.09, 0.04, 0.5])
    np.testing.assert_allclose(paired.holm([0.6, 0.9]), [1.0, 1.0])  # capped, monotone
    np.testing.assert_allclose(paired.holm([np.nan, 0.02, 0.04]), [np.nan, 0.04, 0.04])  # NaN not counted
    assert paired.holm([]).size == 0


def test_pairwise_holm_within_cell():
    """6 seeds, no ties: a beats b and c at every seed, p = 2/64 each; b - c =
    (1, -2, 3, 4, 5, 6) has T = 2, p = 2 * 3/64. Holm over m = 3:
    3 * 2/64 = 6/64, max(6/64, 2 * 2/64), max(6/64, 6/64) -> all 6/64."""
    c = [0.50, 0.60, 0.55, 0.52, 0.58, 0.61]
    b = [x + dx / 100 for x, dx in zip(c, [1, -2, 3, 4, 5, 6])]
    a = [x + 0.2 + s / 1000 for s, x in enumerate(b)]
    other_cell = frame({"b": b, "c": c}, depth=8)  # its own family, of one pair
    tables = run_all(pd.concat([frame({"a": a, "b": b, "c": c}), other_cell]))
    pairs = tables["pairwise"].query("depth == 4").set_index(["initializer_a", "initializer_b"])
    np.testing.assert_allclose(pairs["p_value"], [2 / 64, 2 / 64, 6 / 64])
    np.testing.assert_allclose(pairs["p_holm"], [6 / 64] * 3)
    assert not pairs["reject"].any()
    lone = one(tables["pairwise"], depth=8)
    assert lone["p_holm"] == lone["p_value"] == pytest.approx(6 / 64)


# ---------------------------------------------------------------- Wilson, bootstrap


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # Newcombe (1998), Stat. Med. 17:857-872, worked examples, method 3 (score, no continuity correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(x, n, low, high):
    row = stats.divergence(pd.Series([True] * x + [False] * (n - x)))
    assert (row["n_runs"], row["n_diverged"], row["rate"]) == (n, x, x / n)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_wilson_interval_by_hand():
    x, n, z = 3, 10, scipy_stats.norm.ppf(0.975)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    tables = run_all(frame({"a": [0.8] * n}, diverged={"a": [True] * x + [False] * (n - x)}))
    row = one(tables["divergence"])
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_bootstrap_two_points_closed_form():
    """Resample means of (u, v) are u, (u+v)/2, v with probabilities 1/4, 1/2, 1/4;
    the statistic is symmetric (bias correction and acceleration 0), so BCa's 95 %
    interval is (u, v)."""
    row = stats.bootstrap_mean(np.array([0.5, 0.7]), FAST, 0)
    assert (row["n"], row["mean"], row["ci_method"], row["reason"]) == (2, pytest.approx(0.6), "BCa", "")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(0.5), pytest.approx(0.7))


def test_bootstrap_is_reproducible_and_brackets_the_mean():
    scores = np.linspace(0.6, 0.9, 12)
    first, again = stats.bootstrap_mean(scores, FAST, [0, 1]), stats.bootstrap_mean(scores, FAST, [0, 1])
    assert first == again
    assert scores.min() < first["ci_low"] < first["mean"] < first["ci_high"] < scores.max()
    final = frame({"a": list(scores), "b": list(scores[::-1])})
    seed3 = run_all(final, seed=3)["bootstrap"]
    assert seed3.equals(run_all(final, seed=3)["bootstrap"])
    assert not seed3.equals(run_all(final, seed=4)["bootstrap"])


def test_bootstrap_falls_back_to_percentile_when_bca_is_undefined(monkeypatch):
    real = scipy_stats.bootstrap

    def bca_undefined(data, statistic, *, method, **kwargs):
        result = real(data, statistic, method=method, **kwargs)
        if method == "BCa":
            result.confidence_interval = type(result.confidence_interval)(np.nan, np.nan)
        return result

    monkeypatch.setattr(stats.stats, "bootstrap", bca_undefined)
    scores = np.array([0.5, 0.6, 0.65, 0.8])
    row = stats.bootstrap_mean(scores, FAST, 7)
    monkeypatch.undo()
    expected = real((scores,), np.mean, n_resamples=FAST, method="percentile", rng=np.random.default_rng(7))
    assert (row["ci_method"], row["reason"]) == ("percentile", "")
    assert (row["ci_low"], row["ci_high"]) == tuple(expected.confidence_interval)


# ------------------------------------------------------------- degenerate cells


def test_two_initializers_friedman_reason_pairwise_still_tested():
    tables = run_all(frame({"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.6]}))
    assert one(tables["friedman"])["reason"] == "only 2 initializer(s); the Friedman test needs at least 3"
    assert one(tables["pairwise"])["reason"] == ""
    assert set(tables["ranks"]["mean_rank"]) == {1.0, 2.0}


def test_one_seed():
    tables = run_all(frame({"a": [0.9], "b": [0.8], "c": [0.7]}))
    assert (
        one(tables["friedman"])["reason"]
        == "only 1 seed with a result for every initializer; the Friedman test needs at least 2"
    )
    assert set(tables["bootstrap"]["reason"]) == {"only 1 result; a bootstrap CI needs at least 2"}
    assert tables["pairwise"]["reason"].eq("").all()  # n = 1: exact p = 1, a valid if weak test
    assert tables["pairwise"]["p_value"].eq(1.0).all()


def test_all_ties():
    tables = run_all(frame({"a": [0.9, 0.8], "b": [0.9, 0.8], "c": [0.9, 0.8]}))
    assert one(tables["friedman"])["reason"] == "all initializers tied within every seed"
    assert set(tables["pairwise"]["reason"]) == {"all 2 differences zero"}
    assert set(tables["ranks"]["mean_rank"]) == {2.0}


def test_everything_diverged_chance():
    final = frame({i: [np.nan] * 4 for i in "abc"}, diverged={i: [True] * 4 for i in "abc"}, num_classes=10)
    tables = run_all(final, "chance")
    assert one(tables["friedman"])["reason"] == "all initializers tied within every seed"
    assert set(tables["pairwise"]["reason"]) == {"all 4 differences zero"}
    assert set(tables["bootstrap"]["reason"]) == {
        "all 4 results equal (0.1); the bootstrap distribution is degenerate"
    }
    assert tables["bootstrap"]["mean"].eq(0.1).all()
    assert tables["divergence"]["rate"].eq(1.0).all()


def test_everything_diverged_exclude():
    final = frame({i: [np.nan] * 4 for i in "abc"}, diverged={i: [True] * 4 for i in "abc"})
    tables = run_all(final, "exclude")
    assert (
        one(tables["friedman"])["reason"]
        == "no seed with a result for every initializer (12 diverged run(s) excluded)"
    )
    assert one(tables["friedman"])["mean_ranks"] == ""
    assert set(tables["pairwise"]["reason"]) == {
        "no seed with a result for both initializers (8 diverged run(s) excluded)"
    }
    assert set(tables["bootstrap"]["reason"]) == {"no result (4 diverged run(s) excluded)"}
    assert set(tables["ranks"]["reason"]) == {
        "no seed with a result for every initializer (12 diverged run(s) excluded)"
    }
    assert tables["divergence"]["reason"].eq("").all()


def test_exclude_leaves_too_few_seeds():
    final = frame(
        {"a": [0.9, 0.8, 0.7], "b": [0.6, 0.5, 0.4], "c": [np.nan, np.nan, 0.3]},
        diverged={"c": [True, True, False]},
    )
    row = one(run_all(final, "exclude")["friedman"])
    assert row["reason"] == (
        "only 1 seed with a result for every initializer (2 diverged run(s) excluded); "
        "the Friedman test needs at least 2"
    )


def test_missing_accuracy_of_a_run_that_did_not_diverge_is_missing_data():
    final = frame({"a": [0.9, np.nan], "b": [0.8, 0.7], "c": [0.6, 0.5]})
    tables = run_all(final, "chance")
    assert one(tables["friedman"])["reason"] == (
        "only 1 seed with a result for every initializer "
        "(1 run(s) without test_accuracy dropped); "
        "the Friedman test needs at least 2"
    )
    assert one(tables["bootstrap"], initializer="a")["n"] == 1


# ---------------------------------------------------------------- diverged policy


def test_diverged_policy_chance_versus_exclude():
    final = frame(
        {"a": [0.90, 0.80, 0.85, 0.95], "b": [0.70, 0.75, 0.72, 0.71], "c": [np.nan, 0.5, 0.6, 0.55]},
        diverged={"c": [True, False, False, False]},
        num_classes=4,
    )
    chance, exclude = run_all(final, "chance"), run_all(final, "exclude")
    for tables, policy in ((chance, "chance"), (exclude, "exclude")):
        for table in tables.values():
            assert table["diverged_policy"].eq(policy).all()
    assert one(chance["bootstrap"], initializer="c")[["n", "mean"]].tolist() == [
        4,
        pytest.approx((0.25 + 1.65) / 4),
    ]
    assert one(exclude["bootstrap"], initializer="c")[["n", "mean"]].tolist() == [3, pytest.approx(1.65 / 3)]
    assert one(chance["friedman"])["n_blocks"] == 4
    assert one(exclude["friedman"])["n_blocks"] == 3
    assert set(exclude["ranks"]["n_blocks"]) == {3}
    # exclude drops the seed per pair: (a, b) keeps all four seeds, pairs with c lose one
    assert exclude["pairwise"].set_index(["initializer_a", "initializer_b"])["n_pairs"].to_dict() == {
        ("a", "b"): 4,
        ("a", "c"): 3,
        ("b", "c"): 3,
    }
    assert set(chance["pairwise"]["n_pairs"]) == {4}
    assert one(chance["divergence"], initializer="c")["n_diverged"] == 1
    assert one(exclude["divergence"], initializer="c")["n_diverged"] == 1


# --------------------------------------------------------------- validation, I/O


def test_missing_column_is_named():
    final = frame({"a": [0.9], "b": [0.8]}).drop(columns="num_classes")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['num_classes'\]"):
        stats.compute_all(final)


def test_bad_policy_is_named():
    with pytest.raises(
        ValueError, match=r"diverged_policy must be one of \['chance', 'exclude'\], got 'drop'"
    ):
        stats.compute_all(frame({"a": [0.9]}), diverged_policy="drop")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: pd.concat([f, f.iloc[:1]]), "one row per run"),
        (lambda f: f.assign(diverged="False"), "'diverged' must be True or False"),
        (lambda f: f.assign(num_classes=1), "'num_classes' must be at least 2"),
    ],
)
def test_bad_rows_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        stats.compute_all(change(frame({"a": [0.9, 0.8], "b": [0.7, 0.6]})))


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        stats.compute_all(frame({"a": [0.9]}), alpha=1.5)


def test_a_table_per_epoch_is_refused_one_row_per_run_is_taken():
    """``compute_all`` takes ``runs.parquet`` (one row per run, with whatever other
    columns it has); a table with a row per epoch repeats every run and is refused."""
    runs = frame({"a": [0.9, 0.8], "b": [0.7, np.nan]}, diverged={"b": [False, True]})
    runs = runs.assign(run_id=[f"r{i}" for i in range(len(runs))], epochs_trained=2, val_loss=0.5)
    tables = run_all(runs)
    assert one(tables["bootstrap"], initializer="b")["mean"] == pytest.approx((0.7 + 0.1) / 2)
    per_epoch = pd.concat([runs.assign(epoch=e) for e in (1, 2)], ignore_index=True)
    with pytest.raises(ValueError, match="one row per run"):
        stats.compute_all(per_epoch)


# ---------------------------------------------------------------------- end to end


def test_compute_all_end_to_end(tmp_path):
    rng = np.random.default_rng(1)
    inits = ["glorot_uniform", "he_normal", "lecun_normal", "zeros"]
    cells = [
        frame({i: list(rng.uniform(0.6, 0.9, 6)) for i in inits}, num_classes=5, depth=d) for d in (2, 8)
    ]
    final = pd.concat(cells, ignore_index=True)
    final.loc[final["initializer"] == "zeros", "test_accuracy"] = 0.1  # below chance (0.2): always last
    final.loc[
        (final["depth"] == 8) & (final["initializer"] == "he_normal") & (final["seed"] == 0), "diverged"
    ] = True
    tables = run_all(final, "chance")

    assert list(tables) == ["friedman", "pairwise", "bootstrap", "ranks", "divergence"]
    assert list(tables["friedman"].columns) == stats.FRIEDMAN_COLUMNS
    assert list(tables["pairwise"].columns) == stats.PAIRWISE_COLUMNS
    assert list(tables["bootstrap"].columns) == stats.BOOTSTRAP_COLUMNS
    assert list(tables["ranks"].columns) == stats.RANKS_COLUMNS
    assert list(tables["divergence"].columns) == stats.DIVERGENCE_COLUMNS
    assert [len(tables[t]) for t in tables] == [2, 2 * 6, 8, 8, 8]
    assert tables["friedman"]["reason"].eq("").all() and tables["friedman"]["n_blocks"].eq(6).all()
    for _, ranks in tables["ranks"].groupby("depth"):
        assert ranks["mean_rank"].sum() == pytest.approx(4 * 5 / 2)
        assert one(ranks, initializer="zeros")["mean_rank"] == 4.0
    vs_zeros = tables["pairwise"].query("initializer_b == 'zeros'")
    assert vs_zeros["rank_biserial"].eq(1.0).all() and vs_zeros["p_value"].eq(2 / 64).all()
    assert one(tables["divergence"], depth=8, initializer="he_normal")[["n_diverged", "rate"]].tolist() == [
        1,
        1 / 6,
    ]
    assert one(tables["bootstrap"], depth=8, initializer="zeros")["reason"].startswith("all 6 results equal")

    write_tables(tables, {name: tmp_path / f"{name}.csv" for name in tables})
    for name, table in tables.items():
        back = pd.read_csv(tmp_path / f"{name}.csv")
        assert list(back.columns) == list(table.columns) and len(back) == len(table)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.csv" for n in tables)


def test_compute_all_on_no_runs_gives_empty_tables():
    tables = stats.compute_all(frame({}).reindex(columns=stats.REQUIRED))
    assert all(table.empty for table in tables.values())
    assert list(tables["pairwise"].columns) == stats.PAIRWISE_COLUMNS
