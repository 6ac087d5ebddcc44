"""The guideline's decisions mean what they say: "agree" needs equivalence
within the config's margin, shown with the (1 - 2 alpha) paired t interval (TOST),
"disagree" a significant loss in every cell, and anything else is "no decision", in
particular a textbook initializer that no test beats but that is not shown equivalent.

The studies here are synthetic final accuracies (10 seeds, common seed effects as in
the real design) run through the real statistics (:func:`stats.compute_all`) and the
analysis as it writes the ``guideline`` table. :func:`guideline_example` is also the
example of ``test_paper.py``.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from initstudy.analysis import equivalence, stats
from initstudy.analysis.best import best_initializers
from initstudy.analysis.guideline import GUIDELINE_COLUMNS, TEXTBOOK, guideline_frame

ALPHA, MARGIN = 0.05, 0.02
SEEDS = tuple(range(10))
RESAMPLES = 99  # bootstrap resamples (the guideline reads only the means)


def final_runs(cells: dict[tuple[str, int], dict[str, np.ndarray]]) -> pd.DataFrame:
    """One row per run from (activation, depth) -> initializer -> per-seed accuracy."""
    rows = []
    for (activation, depth), scores in cells.items():
        for initializer, values in scores.items():
            for seed, value in zip(SEEDS, values):
                rows.append({"dataset": "mnist1d", "arch": "mlp", "activation": activation, "optimizer": "adam",
                             "depth": depth, "width": 128, "initializer": initializer, "seed": seed,
                             "test_accuracy": float(value), "diverged": False, "num_classes": 10})
    return pd.DataFrame(rows)


#: Per-seed deviations of mean 0 and sd 5 points, half of each sign: no test resolves them.
SWINGS = np.array([0.051, -0.052, 0.043, -0.044, 0.065, -0.066, 0.037, -0.038, 0.079, -0.075])


def cell_scores(rng, offsets: dict[str, float], noise: dict[str, float] | None = None,
                swings: tuple[str, ...] = (), level: float = 0.8) -> dict[str, np.ndarray]:
    """Per initializer: a seed effect shared by all initializers (the seed fixes split and
    batch order) plus its offset and its own noise (sd 0.002 unless ``noise`` says), and
    :data:`SWINGS` for the initializers in ``swings``."""
    seed_effect = rng.normal(0, 0.03, len(SEEDS))
    noise = noise or {}
    return {label: level + seed_effect + offset + rng.normal(0, noise.get(label, 0.002), len(SEEDS))
            + (SWINGS if label in swings else 0.0) for label, offset in offsets.items()}


def guideline_of(runs: pd.DataFrame, alpha: float = ALPHA, margin: float = MARGIN):
    """The guideline as the analysis computes it, and the statistics it read."""
    tables = stats.compute_all(runs, diverged_policy="chance", alpha=alpha, n_resamples=RESAMPLES)
    frame = guideline_frame(stats.scored(runs, "chance"), tables["bootstrap"], tables["pairwise"], alpha, margin)
    return frame, tables


def example_runs() -> pd.DataFrame:
    """relu 2-4: he_normal within 0.3 points of glorot_uniform at every seed, zeros at
    chance (agree); relu 30-50: he_normal best, the runner-up 40 points below (agree:
    only the lower bound counts); tanh: glorot_uniform and orthogonal differ by noise
    of sd 5 points, half of each sign, that no test resolves (no decision: not rejected, not equivalent),
    while glorot_uniform beats zeros significantly; sigmoid: orthogonal 5 points ahead
    of glorot_uniform at every seed (disagree); leaky_relu: orthogonal 1 point ahead at
    every seed, significant but inside the margin (agree); selu: no LeCun initializer
    (not tested); gelu: no textbook rule (--)."""
    rng = np.random.default_rng(2)
    cells = {}
    for depth in (2, 4):
        cells["relu", depth] = cell_scores(rng, {"he_normal": 0.0, "glorot_uniform": -0.003, "zeros": -0.7})
        cells["tanh", depth] = cell_scores(rng, {"glorot_uniform": 0.0, "orthogonal": 0.0, "zeros": -0.7},
                                           swings=("orthogonal",))
        cells["sigmoid", depth] = cell_scores(rng, {"glorot_uniform": 0.0, "orthogonal": 0.05})
        cells["leaky_relu", depth] = cell_scores(rng, {"he_normal": 0.0, "orthogonal": 0.01},
                                                 noise={"he_normal": 0.0005, "orthogonal": 0.0005})
        cells["selu", depth] = cell_scores(rng, {"he_normal": 0.0, "glorot_uniform": -0.01})
        cells["gelu", depth] = cell_scores(rng, {"he_normal": 0.0, "glorot_uniform": -0.01})
    for depth in (30, 50):
        cells["relu", depth] = cell_scores(rng, {"he_normal": 0.0, "glorot_uniform": -0.4, "zeros": -0.7})
    return final_runs(cells)


def guideline_example() -> pd.DataFrame:
    """The guideline of :func:`example_runs`: one row per decision the rule can make."""
    return guideline_of(example_runs())[0]


@pytest.fixture(scope="module")
def example():
    frame, tables = guideline_of(example_runs())
    return frame.set_index(["activation", "depths"]), tables


def test_example_rows_and_columns(example):
    frame, _ = example
    assert sorted(frame.reset_index().columns) == sorted(GUIDELINE_COLUMNS)
    assert frame["decision"].to_dict() == {
        ("gelu", "2-4"): "--", ("leaky_relu", "2-4"): "agree", ("relu", "2-4"): "agree",
        ("relu", "30-50"): "agree", ("selu", "2-4"): "not tested", ("sigmoid", "2-4"): "disagree",
        ("tanh", "2-4"): "no decision"}
    assert (frame["margin"] == MARGIN).all() and np.allclose(frame["confidence"], 1 - 2 * ALPHA)
    assert "gelu" not in TEXTBOOK and frame.loc[("gelu", "2-4"), "textbook"] == "--"


def test_agree_needs_the_interval_inside_the_margin_in_every_cell(example):
    frame, tables = example
    row = frame.loc[("relu", "2-4")]
    assert (row["best"], row["textbook_initializer"], row["rival"]) == ("he_normal", "he_normal", "glorot_uniform")
    assert (row["n_cells"], row["textbook_equivalent"], row["textbook_beaten"]) == (2, 2, 0)
    assert -MARGIN < row["ci_low"] and row["ci_high"] < MARGIN
    # the textbook initializer is the best here: its rival is the runner-up, and the
    # interval is that of textbook minus runner-up, from the per-seed differences
    runs = example_runs()
    worst = tuple(row["worst_cell"].split("/"))
    cell = runs[(runs["activation"] == "relu") & (runs["depth"] == int(worst[-2]))].pivot(
        index="seed", columns="initializer", values="test_accuracy")
    d = cell["he_normal"] - cell["glorot_uniform"]
    low, high = scipy_stats.t.interval(1 - 2 * ALPHA, len(d) - 1, d.mean(), d.std(ddof=1) / np.sqrt(len(d)))
    assert (row["mean_diff"], row["ci_low"], row["ci_high"]) == (
        pytest.approx(d.mean()), pytest.approx(low), pytest.approx(high))


def test_a_textbook_best_far_ahead_of_the_runner_up_agrees(example):
    """Only the lower bound counts when the textbook initializer is the cell's best:
    beating the runner-up by more than the margin is no objection."""
    row = example[0].loc[("relu", "30-50")]
    assert row["ci_low"] > MARGIN and row["ci_high"] > MARGIN
    assert row["decision"] == "agree"


def test_not_rejected_but_not_equivalent_is_no_decision(example):
    """tanh: no test beats glorot_uniform and it beats zeros significantly in every cell,
    which the old rule ("in the best's group, and tells initializers apart") called an
    agreement; its interval with orthogonal reaches beyond the margin, so nothing is decided."""
    frame, tables = example
    row = frame.loc[("tanh", "2-4")]
    pairs = tables["pairwise"][tables["pairwise"]["activation"] == "tanh"]
    against = pairs[(pairs["initializer_a"] == "glorot_uniform") & (pairs["initializer_b"] == "orthogonal")]
    assert not against["reject"].any()  # the premise: not rejected
    wins = pairs[(pairs["initializer_a"] == "glorot_uniform") & (pairs["initializer_b"] == "zeros")]
    assert wins["reject"].all() and (wins["mean_diff"] > 0).all()
    assert row["textbook_beaten"] == 0 and row["textbook_equivalent"] < row["n_cells"]
    assert row["ci_low"] < -MARGIN or row["ci_high"] > MARGIN
    assert row["decision"] == "no decision"


def test_disagree_needs_a_significant_loss_in_every_cell(example):
    frame, _ = example
    row = frame.loc[("sigmoid", "2-4")]
    assert (row["best"], row["textbook_initializer"], row["rival"]) == ("orthogonal", "glorot_uniform", "orthogonal")
    assert (row["textbook_beaten"], row["textbook_equivalent"]) == (2, 0)
    assert row["ci_high"] < -MARGIN and row["decision"] == "disagree"
    # one cell without a significant loss (and no equivalence) decides nothing
    rng = np.random.default_rng(5)
    runs = final_runs({("sigmoid", 2): cell_scores(rng, {"glorot_uniform": 0.0, "orthogonal": 0.05}),
                       ("sigmoid", 4): cell_scores(rng, {"glorot_uniform": 0.0, "orthogonal": 0.0},
                                                   swings=("orthogonal",))})
    (row,) = guideline_of(runs)[0].itertuples()
    assert row.textbook_beaten == 1 and row.n_cells == 2 and row.decision == "no decision"


def test_a_significant_difference_inside_the_margin_agrees(example):
    """leaky_relu: orthogonal beats he_normal by 1 point at every seed, significant in
    both cells, but the margin (2 points, fixed before the data) calls that immaterial."""
    row = example[0].loc[("leaky_relu", "2-4")]
    assert row["textbook_beaten"] == row["n_cells"] == row["textbook_equivalent"] == 2
    assert -MARGIN < row["ci_low"] < row["ci_high"] < 0
    assert row["decision"] == "agree"
    # with a margin below the difference the same data disagree
    (row,) = guideline_of(example_runs().query("activation == 'leaky_relu'"), margin=0.005)[0].itertuples()
    assert row.decision == "disagree"


def test_the_band_and_textbook_best_are_the_one_best(example):
    """The band's best is best_initializers pooled over the band's cells, and the textbook
    initializer the best of its family by the same rule."""
    frame, tables = example
    boot = tables["bootstrap"].assign(band=tables["bootstrap"]["depth"].map(lambda d: int(d > 10)))
    pooled = best_initializers(boot, by=["activation", "band"]).set_index(["activation", "band"])
    for (activation, _), row in frame.iterrows():
        assert row["best"] == pooled.loc[(activation, row["band"]), "initializer"]
        assert row["best_mean"] == pytest.approx(pooled.loc[(activation, row["band"]), "mean"])


def test_without_a_rival_or_an_interval_nothing_is_equivalent():
    rng = np.random.default_rng(3)
    runs = final_runs({("relu", 2): cell_scores(rng, {"he_normal": 0.0})})
    (row,) = guideline_of(runs)[0].itertuples()
    assert row.rival is None and np.isnan(row.ci_low) and row.decision == "no decision"


# ------------------------------------------------------------------- the interval


def test_paired_interval_is_the_t_interval_of_the_differences():
    a = pd.Series([0.81, 0.84, 0.80, 0.86, np.nan], index=[0, 1, 2, 3, 4])
    b = pd.Series([0.80, 0.82, 0.83, 0.85, 0.9], index=[0, 1, 2, 3, 4])
    row = equivalence.paired_interval(a, b, 0.05)
    d = np.array([0.01, 0.02, -0.03, 0.01])
    expected = scipy_stats.ttest_rel(a.iloc[:4], b.iloc[:4]).confidence_interval(0.9)
    assert row["n"] == 4 and row["mean_diff"] == pytest.approx(d.mean())
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))
    # one pair: no interval; equal differences: the interval is that value
    assert np.isnan(equivalence.paired_interval(a.iloc[:1], b.iloc[:1], 0.05)["ci_low"])
    same = equivalence.paired_interval(pd.Series([0.5, 0.6, 0.7]), pd.Series([0.4, 0.5, 0.6]), 0.05)
    assert (same["ci_low"], same["ci_high"]) == (pytest.approx(0.1), pytest.approx(0.1))
    assert equivalence.within(-0.01, 0.019, 0.02) and not equivalence.within(-0.01, 0.02, 0.02)
    assert not equivalence.within(np.nan, 0.0, 0.02) and equivalence.not_worse(-0.019, 0.02)


#: A published worked example would do as well; R's t.test is the reference everyone has.
RSCRIPT = shutil.which("Rscript")


@pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed")
@pytest.mark.parametrize("alpha", [0.05, 0.025])
def test_tost_interval_matches_r(alpha):
    rng = np.random.default_rng(11)
    x, y = rng.normal(0.8, 0.03, 10), rng.normal(0.79, 0.03, 10)
    vector = ",".join(f"{v:.17g}" for v in x), ",".join(f"{v:.17g}" for v in y)
    script = (f"ci <- t.test(c({vector[0]}), c({vector[1]}), paired=TRUE, conf.level={1 - 2 * alpha:.17g})"
              "$conf.int; cat(sprintf('%.15g', ci), sep=' ')")
    out = subprocess.run([RSCRIPT, "-e", script], capture_output=True, text=True, timeout=60, check=True)
    r_low, r_high = map(float, out.stdout.split())
    row = equivalence.paired_interval(pd.Series(x), pd.Series(y), alpha)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(r_low, abs=1e-12), pytest.approx(r_high, abs=1e-12))


def test_guideline_cells_are_the_cells_with_a_score():
    """A cell whose every run has no score adds nothing (no best, no comparison)."""
    rng = np.random.default_rng(4)
    runs = final_runs({("relu", d): cell_scores(rng, {"he_normal": 0.0, "glorot_uniform": -0.001})
                       for d in (2, 4)})
    runs.loc[runs["depth"] == 4, "test_accuracy"] = np.nan
    (row,) = guideline_of(runs)[0].itertuples()
    assert row.n_cells == 1 and row.depths == "2" and row.decision == "agree"
