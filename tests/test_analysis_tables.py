"""The analysis tables from a small synthetic study: each number computed once, by one
definition (the best initializer above all), and written as CSV for the figures and
the paper.

The synthetic study (:func:`synthetic_study`) has the tidy tables of
:mod:`initstudy.tables.build` (``runs``: one row per run; ``history``: one row per run
and epoch; ``signal``; ``weights``) and is also used by ``test_paper.py``.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from synthetic_observations import signal_rows, weight_rows

from initstudy.analysis import stats, tuning, write
from initstudy.analysis.accuracy import ACCURACY_COLUMNS, accuracy_table
from initstudy.analysis.best import BEST_COLUMNS, best_initializers
from initstudy.analysis.curves import CURVES_COLUMNS
from initstudy.analysis.depth import depth_frame, spread_change
from initstudy.analysis.guideline import family, significant_wins
from initstudy.analysis.intervals import INTERVAL_COLUMNS, mean_intervals
from initstudy.analysis.overview import overview
from initstudy.analysis.power import power_table, seeds_needed
from initstudy.analysis.ranks import POOLED, mean_rank_over_cells, not_worse_than_best, rank_summary
from initstudy.analysis.settings import select, setting_columns, settings
from initstudy.analysis.signal_profile import PROFILE_COLUMNS
from initstudy.analysis.trainability import ALL, signal_trainability, spearman
from initstudy.analysis.weight_choice import WEIGHT_RUNS_COLUMNS, weight_runs
from initstudy.core.table_io import read_table, write_table, write_tables
from initstudy.study.fields import CELL, EPOCH_METRICS, RUN_FIELDS, RUN_SETTINGS
from initstudy.study.paths import ANALYSIS_TABLES, STATS_TABLES
from initstudy.tables.build import HISTORY_COLUMNS, RUN_COLUMNS, STRING_COLUMNS

# ------------------------------------------------------------------ synthetic study

INITIALIZERS = ("he_normal", "glorot_uniform", "random_normal-stddev0.01", "lecun_normal")
#: (arch, activation, depth, initializer, seed) -> epoch at which that run diverged.
DIVERGED = {
    ("mlp", "tanh", 32, "random_normal-stddev0.01", 1): 4,
    ("mlp", "relu", 32, "glorot_uniform", 2): 6,
}
POLICY = "chance"
ALPHA = 0.05
RESAMPLES = 199  # bootstrap resamples in tests


class Study(NamedTuple):
    runs: pd.DataFrame
    history: pd.DataFrame
    signal: pd.DataFrame
    weights: pd.DataFrame
    stats: dict[str, pd.DataFrame]
    policy: str


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The dtypes of :mod:`initstudy.tables.build`'s tables."""
    types = {c: "string" for c in STRING_COLUMNS if c in frame}
    types |= {c: "int64" for c in ("depth", "seed", "epoch", "epochs_trained", "layer", "num_classes") if c in frame}
    types |= {"diverged_epoch": "Int64"} if "diverged_epoch" in frame else {}
    return frame.astype(types)


def synthetic_tables(archs=("mlp",), activations=("relu", "tanh"), depths=(2, 8, 32), seeds=(0, 1, 2),
                     epochs=10, initializers=INITIALIZERS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs`` (one row per run) and ``history`` (one row per run and epoch): accuracy
    rises towards a ceiling that depends on the initializer and shrinks with depth;
    the runs of :data:`DIVERGED` stop early, without metrics at the epoch they diverged
    and without a test accuracy."""
    rng = np.random.default_rng(0)
    run_rows, histories = [], []
    for arch, activation, depth, initializer, seed in itertools.product(
        archs, activations, depths, initializers, seeds
    ):
        fields = {"run_id": f"mnist1d/{arch}/{activation}/adam/d{depth}/{initializer}/s{seed}",
                  "dataset": "mnist1d", "arch": arch, "activation": activation, "optimizer": "adam",
                  "depth": depth, "learning_rate": 0.001, "width": 128, "initializer": initializer, "seed": seed,
                  "learning_rate": 0.001, "width": 128 if arch == "mlp" else None}  # as tables/build.py fills them
        ceiling = 0.9 - 0.1 * INITIALIZERS.index(initializer) * np.log2(depth) / 5
        epoch = np.arange(1, epochs + 1)
        val = ceiling * (1 - np.exp(-epoch / 3)) + rng.normal(0, 0.01, epochs)
        history = pd.DataFrame({"epoch": epoch, "train_loss": -np.log(val.clip(0.05)) * 0.9,
                                "train_accuracy": val + 0.02, "val_loss": -np.log(val.clip(0.05)),
                                "val_accuracy": val})
        test_accuracy, test_loss = val[-1] + rng.normal(0, 0.01), -np.log(val[-1])
        diverged_at = DIVERGED.get((arch, activation, depth, initializer, seed))
        if diverged_at is not None:
            history = history[history["epoch"] <= diverged_at].copy()
            history.loc[history["epoch"] == diverged_at, list(EPOCH_METRICS)] = np.nan
            test_accuracy = test_loss = np.nan
        histories.append(history.assign(**fields))
        last = history.iloc[-1]
        run_rows.append({
            **fields, "epochs_trained": int(last["epoch"]), **{m: last[m] for m in EPOCH_METRICS},
            "test_loss": test_loss, "test_accuracy": test_accuracy, "diverged": diverged_at is not None,
            "diverged_epoch": diverged_at, "num_classes": 10, "wall_time_s": float(rng.uniform(20, 60)),
            "pack_id": f"pack-{arch}-{activation}-d{depth}", "keras_backend": "tensorflow", "deterministic": True,
        })
    runs = _typed(pd.DataFrame(run_rows, columns=RUN_COLUMNS))
    history = _typed(pd.concat(histories, ignore_index=True)[HISTORY_COLUMNS])
    return runs, history


def synthetic_signal(runs: pd.DataFrame, epochs=(0, 1)) -> pd.DataFrame:
    """Like ``signal.parquet`` (see :func:`synthetic_observations.signal_rows`)."""
    return _typed(pd.DataFrame(signal_rows(runs[[*RUN_FIELDS, *RUN_SETTINGS]].itertuples(index=False), epochs)))


def synthetic_weights(runs: pd.DataFrame, bins: int = 40) -> pd.DataFrame:
    """Like ``weights.parquet`` (see :func:`synthetic_observations.weight_rows`), the last
    epoch the study's last."""
    last = int(runs["epochs_trained"].max())
    return _typed(pd.DataFrame(weight_rows(runs[[*RUN_FIELDS, *RUN_SETTINGS]].itertuples(index=False), last, bins)))


def synthetic_study(policy: str = POLICY, runs: pd.DataFrame | None = None,
                    history: pd.DataFrame | None = None, **grid) -> Study:
    """The tidy tables of a synthetic study and its statistics tables (few resamples)."""
    if runs is None:
        runs, history = synthetic_tables(**grid)
    return Study(runs=runs, history=history, signal=synthetic_signal(runs), weights=synthetic_weights(runs),
                 stats=stats.compute_all(runs, diverged_policy=policy, n_resamples=RESAMPLES), policy=policy)


#: The guideline's equivalence margin (the config's default).
MARGIN = 0.02


def inputs(study: Study, alpha: float = ALPHA, margin: float = MARGIN) -> write.Inputs:
    return write.Inputs(runs=study.runs, history=study.history, signal=study.signal, weights=study.weights,
                        stats=study.stats, diverged_policy=study.policy, alpha=alpha, equivalence_margin=margin,
                        tuning_runs=study.runs, robustness_margin=MARGIN)


def analysis(study: Study) -> dict[str, pd.DataFrame]:
    """Every analysis table of the study, computed as ``write_analysis`` computes it, and
    the tuning table (``initstudy tune``: one rate here, nothing to choose)."""
    i = inputs(study)
    tuned = tuning.tune(study.runs, study.policy, None, sorted(study.runs["seed"].unique()))
    return {**{name: compute(i) for name, compute in write.TABLES.items()}, "tuning": tuned["tuning"]}


def cell_of(table: pd.DataFrame, activation: str, depth: int) -> pd.DataFrame:
    return table[(table["activation"] == activation) & (table["depth"] == depth)]


def chance_vs_raw_runs(depths=(2,)) -> pd.DataFrame:
    """One cell in which ``a`` has the highest raw mean accuracy (of the runs that did
    not diverge: 0.95) but diverges at one seed of three, so that scored at chance
    (0.1) its mean is (2 * 0.95 + 0.1) / 3 = 0.667, below ``b``'s 0.9 and ``c``'s 0.8."""
    scores = {"a": [0.95, 0.95, np.nan], "b": [0.90, 0.91, 0.89], "c": [0.80, 0.81, 0.79]}
    rows = []
    for depth in depths:
        for initializer, values in scores.items():
            for seed, value in enumerate(values):
                rows.append({"run_id": f"mnist1d/mlp/relu/adam/d{depth}/{initializer}/s{seed}",
                             "dataset": "mnist1d", "arch": "mlp", "activation": "relu", "optimizer": "adam",
                             "depth": depth, "learning_rate": 0.001, "width": 128, "initializer": initializer, "seed": seed,
                             "test_accuracy": value, "diverged": bool(np.isnan(value)), "num_classes": 10})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def study() -> Study:
    return synthetic_study()


@pytest.fixture(scope="module")
def tables(study) -> dict[str, pd.DataFrame]:
    return analysis(study)


# ------------------------------------------------------------------------ settings


def test_settings_are_activation_and_the_dimensions_that_vary(study):
    runs = study.runs
    assert setting_columns(runs) == ["activation"]
    assert settings(runs) == [(("relu",), "relu"), (("tanh",), "tanh")]
    assert set(select(runs, ("tanh",))["activation"]) == {"tanh"}
    both = pd.concat([runs, runs.assign(arch="cnn")])
    assert setting_columns(both) == ["arch", "activation"]
    assert [title for _, title in settings(both)] == ["cnn, relu", "cnn, tanh", "mlp, relu", "mlp, tanh"]
    assert len(select(both, ("cnn", "relu"))) == len(select(runs, ("relu",)))


# ---------------------------------------------------------------- the best initializer


def test_best_initializer_is_the_highest_policy_scored_mean(study, tables):
    """One row per cell; independently of the bootstrap table: the mean over seeds of
    the test accuracy, a diverged run scored at chance (1 / num_classes)."""
    runs = study.runs
    score = runs["test_accuracy"].where(~runs["diverged"], 1 / runs["num_classes"])
    means = runs.assign(score=score).groupby([*CELL, "initializer"])["score"].mean()
    best = tables["best"].set_index(list(CELL))
    assert list(tables["best"].columns) == BEST_COLUMNS and len(best) == 6
    for cell, group in means.groupby(level=list(CELL)):
        assert best.loc[cell, "initializer"] == group.idxmax()[-1]
        assert best.loc[cell, "mean"] == pytest.approx(group.max())
    assert best.loc[("mnist1d", "mlp", "relu", "adam", 32, 128), "initializer"] == "he_normal"


def test_best_ties_go_to_the_first_label_and_a_cell_without_scores_has_none():
    cell = dict(zip(CELL, ("d", "mlp", "relu", "adam", 2, 128)))
    bootstrap = pd.DataFrame([
        {**cell, "initializer": "zeta", "mean": 0.8},
        {**cell, "initializer": "alpha", "mean": 0.8},
        {**cell, "initializer": "mid", "mean": 0.7},
        {**cell, "depth": 4, "initializer": "alpha", "mean": np.nan},
        {**cell, "depth": 4, "initializer": "zeta", "mean": np.nan},
        {**cell, "depth": 8, "initializer": "zeta", "mean": 0.5},
        {**cell, "depth": 8, "initializer": "alpha", "mean": np.nan},
    ])
    best = best_initializers(bootstrap)
    assert best[["depth", "initializer", "mean"]].values.tolist() == [[2, "alpha", 0.8], [8, "zeta", 0.5]]
    assert list(best_initializers(bootstrap.iloc[3:5]).columns) == BEST_COLUMNS
    assert best_initializers(bootstrap.iloc[3:5]).empty


def test_under_chance_the_best_is_not_the_best_raw_mean_and_every_consumer_uses_the_policy_one(tmp_path):
    runs = chance_vs_raw_runs((2, 4))
    raw = runs.groupby("initializer")["test_accuracy"].mean()
    assert raw.idxmax() == "a"  # the raw mean skips the diverged run
    chance = stats.compute_all(runs, diverged_policy="chance", n_resamples=RESAMPLES)
    exclude = stats.compute_all(runs, diverged_policy="exclude", n_resamples=RESAMPLES)
    assert set(best_initializers(exclude["bootstrap"])["initializer"]) == {"a"}
    best = best_initializers(chance["bootstrap"])
    assert list(best["initializer"]) == ["b", "b"]
    assert best["mean"].tolist() == pytest.approx([0.9, 0.9])
    accuracy = accuracy_table(runs, chance["bootstrap"], "chance")
    assert accuracy.loc[accuracy["best"], "initializer"].tolist() == ["b", "b"]
    a = accuracy[accuracy["initializer"] == "a"].iloc[0]
    assert (a["mean"], a["n_diverged"]) == (pytest.approx((2 * 0.95 + 0.1) / 3), 1)
    assert depth_frame(chance["friedman"], chance["bootstrap"])["best"].tolist() == ["b", "b"]
    row = overview(chance["friedman"], chance["pairwise"], best).iloc[0]
    assert (row["most_frequent_best"], row["most_frequent_best_wins"], row["best_cells"]) == ("b", 2, 2)
    # and what the analysis writes, for the figures and the paper
    study = Study(runs=runs, history=pd.DataFrame(), signal=pd.DataFrame(), weights=pd.DataFrame(),
                  stats=chance, policy="chance")
    written = {}
    for name in ("best", "accuracy", "depth", "overview"):
        path = tmp_path / f"{name}.csv"
        written[name] = read_table(write_table(path, write.TABLES[name](inputs(study))))
    assert written["best"]["initializer"].tolist() == ["b", "b"]
    assert written["accuracy"].loc[written["accuracy"]["best"], "initializer"].tolist() == ["b", "b"]
    assert written["depth"]["best"].tolist() == ["b", "b"]
    assert written["overview"]["most_frequent_best"].tolist() == ["b"]


def test_accuracy_table_is_the_policy_score_per_cell_and_marks_the_best(study, tables):
    accuracy = tables["accuracy"]
    assert list(accuracy.columns) == ACCURACY_COLUMNS and len(accuracy) == 6 * len(INITIALIZERS)
    runs = study.runs
    he = runs[(runs["activation"] == "relu") & (runs["initializer"] == "he_normal") & (runs["depth"] == 8)]
    row = cell_of(accuracy, "relu", 8).set_index("initializer").loc["he_normal"]
    assert (row["mean"], row["sd"]) == (pytest.approx(he["test_accuracy"].mean()),
                                        pytest.approx(he["test_accuracy"].std()))
    # the diverged run is scored at chance, and counted
    cell = runs[(runs["activation"] == "tanh") & (runs["depth"] == 32)
                & (runs["initializer"] == "random_normal-stddev0.01")]
    scored = cell["test_accuracy"].where(~cell["diverged"], 0.1)
    row = cell_of(accuracy, "tanh", 32).set_index("initializer").loc["random_normal-stddev0.01"]
    assert (row["mean"], row["n_diverged"]) == (pytest.approx(scored.mean()), 1)
    # the same means as the bootstrap table, and exactly one best per cell: best.csv's
    merged = accuracy.merge(study.stats["bootstrap"], on=[*CELL, "initializer"], suffixes=("", "_boot"))
    np.testing.assert_allclose(merged["mean"], merged["mean_boot"])
    marked = accuracy[accuracy["best"]][[*CELL, "initializer"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(marked, tables["best"][[*CELL, "initializer"]], check_dtype=False)


# --------------------------------------------------------------------------- depth


def test_depth_frame_best_is_best_csv_for_every_cell_and_spread_is_in_points(study, tables):
    frame = tables["depth"]
    merged = frame.merge(tables["best"], on=list(CELL), how="outer", validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all() and (merged["best"] == merged["initializer"]).all()
    boot = study.stats["bootstrap"]
    cell = cell_of(boot, "tanh", 8)
    row = cell_of(frame, "tanh", 8).iloc[0]
    assert row["spread"] == pytest.approx(100 * (cell["mean"].max() - cell["mean"].min()))
    assert row["best"] == cell.loc[cell["mean"].idxmax(), "initializer"]
    friedman = study.stats["friedman"].set_index(list(CELL))
    np.testing.assert_allclose(frame.set_index(list(CELL))["p_value"], friedman["p_value"])


def test_depth_summary_and_the_change_of_the_spread(tables):
    frame, summary = tables["depth"], tables["depth_summary"]
    assert summary["which"].tolist() == ["MinDepth", "MaxDepth"] and summary["depth"].tolist() == [2, 32]
    shallow = frame[frame["depth"] == 2]["spread"].mean()
    deep = frame[frame["depth"] == 32]["spread"].mean()
    assert summary["mean_spread"].tolist() == [round(shallow, 1), round(deep, 1)]
    rejected = [int(frame[frame["depth"] == d]["reject"].fillna(False).astype(bool).sum()) for d in (2, 32)]
    assert summary["friedman_rejected"].tolist() == rejected
    assert spread_change(summary) == ("grows" if round(deep, 1) > round(shallow, 1) else "shrinks")
    same = summary.assign(mean_spread=[1.0, 1.0])
    assert spread_change(same) == "stays the same"
    assert spread_change(summary.assign(mean_spread=[3.0, 1.0])) == "shrinks"
    assert spread_change(summary.assign(mean_spread=[3.0, np.nan])) == "--"  # no score at one depth


# ----------------------------------------------------------------------- guideline


@pytest.mark.parametrize(
    "label, family_",
    [("he_normal", "he"), ("glorot_uniform", "glorot"), ("lecun_normal-seed3", "lecun"),
     ("he_uniformish", None), ("orthogonal", None), ("hello", None)],
)
def test_family(label, family_):
    assert family(label) == family_


def guideline_stats(activation, ranks, wins=(), depths=(2, 4)):
    """Ranks, pairwise and bootstrap tables of one activation: the same ``ranks``
    (initializer -> mean rank) at every depth, and mean scores in the same order;
    ``wins`` (winner, loser, depths) are significant."""
    rank_rows, pair_rows, boot_rows = [], [], []
    for depth in depths:
        cell = {"dataset": "d", "arch": "mlp", "activation": activation, "optimizer": "adam", "depth": depth, "width": 128}
        rank_rows += [{**cell, "initializer": i, "mean_rank": r} for i, r in ranks.items()]
        boot_rows += [{**cell, "initializer": i, "mean": 1 - r / 10} for i, r in ranks.items()]
        for a, b in itertools.combinations(sorted(ranks), 2):
            win = next((w for w, loser, at in wins if {w, loser} == {a, b} and depth in at), None)
            pair_rows.append({**cell, "initializer_a": a, "initializer_b": b, "reject": win is not None,
                              "mean_diff": 0.05 if win in (a, None) else -0.05})
    return (pd.DataFrame(rank_rows), pd.DataFrame(pair_rows).astype({"reject": "boolean"}),
            pd.DataFrame(boot_rows))


def test_significant_wins_need_a_rejection_and_the_right_sign():
    _, pairs, _ = guideline_stats("relu", {"a": 1.0, "b": 2.0, "c": 3.0},
                                  wins=[("a", "b", (2,)), ("c", "a", (4,))])
    wins = significant_wins(pairs, "a")
    assert wins[["depth", "other"]].values.tolist() == [[2, "b"]]
    assert significant_wins(pairs, "c")[["depth", "other"]].values.tolist() == [[4, "a"]]


# --------------------------------------------------------------------------- power


@pytest.mark.parametrize("alpha, family_, seeds", [(0.05, 1, 6), (0.05, 15, 10), (0.25, 1, 3), (0.01, 6, 11)])
def test_seeds_needed_is_the_first_n_whose_minimal_p_is_small_enough(alpha, family_, seeds):
    assert seeds_needed(alpha, family_) == seeds
    assert family_ * 2 / 2**seeds <= alpha < family_ * 2 / 2 ** (seeds - 1)


def test_minimal_p_values_are_attained(tables):
    """The smallest p the power table promises is what SciPy returns for the most extreme
    data: all seeds of one sign (Wilcoxon), every block ranking the initializers alike
    (Friedman)."""
    n, k = 3, len(INITIALIZERS)
    power = tables["power"].iloc[0]
    assert (power["n_pairs"], power["k"], power["holm_family"]) == (n, k, 6)
    assert power["wilcoxon_min_p"] == pytest.approx(scipy_stats.wilcoxon([0.1, 0.2, 0.3]).pvalue)
    assert power["holm_min_p"] == 1.0 and not power["holm_can_reject"]
    blocks = [np.arange(k) + 0.0 for _ in range(n)]
    assert power["friedman_min_p"] == pytest.approx(scipy_stats.friedmanchisquare(*np.array(blocks).T).pvalue)
    assert (power["wilcoxon_seeds_needed"], power["holm_seeds_needed"]) == (6, 8)


def test_power_follows_the_seeds():
    ten = synthetic_study(depths=(2,), seeds=tuple(range(10)), epochs=2)
    power = power_table(ten.stats["friedman"], ten.stats["pairwise"], ten.stats["ranks"], ALPHA).iloc[0]
    assert power["n_pairs"] == 10 and power["holm_can_reject"]
    assert power["holm_min_p"] == pytest.approx(6 * 2 / 2**10)


# -------------------------------------------------------------- signal, trainability


def test_signal_trainability_is_the_last_hidden_layer_at_init(study, tables):
    frame = tables["trainability"]
    assert len(frame) == len(study.runs)
    row = frame.set_index("run_id").loc["mnist1d/mlp/relu/adam/d8/glorot_uniform/s1"]
    assert row["sigma_last"] == pytest.approx(0.8**7 * 1.1)
    assert row["distortion"] == pytest.approx(-math.log10(0.8**7 * 1.1))
    vanished = frame[(frame["initializer"] == "random_normal-stddev0.01") & (frame["depth"] == 32)]
    assert (vanished["sigma_last"] == 0).all() and np.isinf(vanished["distortion"]).all()
    diverged = frame[frame["diverged"]]
    assert len(diverged) == 2 and (diverged["score"] == 0.1).all()
    excluded = signal_trainability(study.signal, study.runs, "exclude")
    assert excluded.loc[excluded["diverged"], "score"].isna().all()


def test_spearman_per_setting_and_over_all_runs(tables):
    runs, frame = tables["trainability"], tables["spearman"]
    assert list(frame["setting"]) == ["relu", "tanh", ALL] and set(frame["columns"]) == {"activation"}
    rho, p = scipy_stats.spearmanr(runs["distortion"], runs["score"])
    overall = frame.iloc[-1]
    assert (overall["rho"], overall["p_value"], overall["n"]) == (pytest.approx(rho), pytest.approx(p), len(runs))
    tanh = runs[runs["activation"] == "tanh"]
    assert frame.iloc[1]["rho"] == pytest.approx(scipy_stats.spearmanr(tanh["distortion"], tanh["score"])[0])


def test_spearman_is_nan_without_three_points_or_with_a_constant():
    few = pd.DataFrame({"distortion": [1.0, 2.0], "score": [0.5, 0.6]})
    assert spearman(few)["n"] == 2 and math.isnan(spearman(few)["rho"])
    flat = pd.DataFrame({"distortion": [1.0, 2.0, 3.0], "score": [0.5, 0.5, 0.5]})
    assert math.isnan(spearman(flat)["p_value"])
    with_nan = pd.DataFrame({"distortion": [1.0, 2.0, 3.0, np.nan], "score": [0.9, 0.5, 0.1, 0.2]})
    assert spearman(with_nan) == {"n": 3, "rho": pytest.approx(-1.0), "p_value": pytest.approx(0.0)}


def test_signal_profiles_are_the_deepest_networks_at_init(study, tables):
    profiles = tables["signal_profile"]
    assert list(profiles.columns) == PROFILE_COLUMNS
    assert set(profiles["depth"]) == {32} and set(profiles["metric"]) == {"activation_std", "grad_norm"}
    assert len(profiles) == 2 * len(INITIALIZERS) * 32 * 2
    row = profiles[(profiles["activation"] == "relu") & (profiles["initializer"] == "glorot_uniform")
                   & (profiles["layer"] == 3) & (profiles["metric"] == "grad_norm")].iloc[0]
    assert (row["n"], row["mean"]) == (3, pytest.approx(0.8**2 * np.mean([1.0, 1.1, 1.2])))


# --------------------------------------------------------------- curves, intervals


def test_intervals_are_the_seeded_bootstrap_of_each_group():
    frame = pd.DataFrame({"g": ["x"] * 4 + ["y"] * 3, "v": [0.5, 0.6, 0.65, 0.8, 0.1, np.nan, 0.3]})
    table = mean_intervals(frame, ["g"], "v", seed=3, n_resamples=RESAMPLES)
    assert list(table.columns) == ["g", *INTERVAL_COLUMNS]
    for key, values in (("x", [0.5, 0.6, 0.65, 0.8]), ("y", [0.1, 0.3])):
        expected = stats.bootstrap_mean(np.array(values), RESAMPLES, stats.rng_seed(3, ("v", key)))
        row = table.set_index("g").loc[key]
        assert row["n"] == len(values) and row["mean"] == pytest.approx(np.mean(values))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(expected["ci_low"]),
                                                   pytest.approx(expected["ci_high"]))


def test_learning_curves_follow_the_seeds_still_training(study, tables):
    curves = tables["curves"]
    assert list(curves.columns) == CURVES_COLUMNS
    cell = curves[(curves["activation"] == "tanh") & (curves["depth"] == 32)
                  & (curves["initializer"] == "random_normal-stddev0.01") & (curves["metric"] == "val_accuracy")]
    n = cell.set_index("epoch")["n"]
    assert n.loc[1] == 3 and n.loc[4] == 2 and n.loc[10] == 2  # one seed diverged at epoch 4
    history = study.history
    at = history[(history["run_id"].str.contains("/relu/adam/d2/he_normal/")) & (history["epoch"] == 5)]
    row = curves[(curves["activation"] == "relu") & (curves["depth"] == 2) & (curves["initializer"] == "he_normal")
                 & (curves["metric"] == "val_loss") & (curves["epoch"] == 5)].iloc[0]
    assert row["mean"] == pytest.approx(at["val_loss"].mean()) and row["n"] == 3


# ------------------------------------------------------------------------ ranks


def test_mean_rank_over_cells_and_not_worse_than_best():
    ranks, pairs, _ = guideline_stats("relu", {"a": 1.0, "b": 2.0, "c": 3.0}, wins=[("a", "c", (2,))])
    pooled = mean_rank_over_cells(ranks, ["activation"])
    assert pooled.to_dict() == {("relu", "a"): 1.0, ("relu", "b"): 2.0, ("relu", "c"): 3.0}
    cell = ranks[ranks["depth"] == 2].set_index("initializer")["mean_rank"]
    assert not_worse_than_best("a", cell, pairs[pairs["depth"] == 2]) == ["a", "b"]
    assert not_worse_than_best("a", cell, pairs[pairs["depth"] == 4]) == ["a", "b", "c"]
    # the group is the best's, whatever its rank: with c the best, the rejected pair (a, c) leaves a out
    assert not_worse_than_best("c", cell, pairs[pairs["depth"] == 2]) == ["c", "b"]


def test_rank_summary_per_depth_with_the_best_group_then_pooled():
    ranks, pairs, bootstrap = guideline_stats("relu", {"a": 1.0, "b": 2.0, "c": 3.0}, wins=[("a", "c", (2,))])
    summary = rank_summary(ranks, pairs, bootstrap)
    at2 = summary[summary["depth"] == "2"].set_index("initializer")["with_best"]
    assert at2.to_dict() == {"a": True, "b": True, "c": False}
    assert summary[summary["depth"] == "4"]["with_best"].all()
    pooled = summary[summary["depth"] == POOLED]
    assert pooled["mean_rank"].tolist() == [1.0, 2.0, 3.0] and pooled["with_best"].isna().all()


def test_rank_summary_of_the_synthetic_study(study, tables):
    summary = tables["rank_summary"]
    assert set(summary["depth"]) == {"2", "8", "32", POOLED}
    assert len(summary) == 2 * 4 * len(INITIALIZERS)
    ranks = study.stats["ranks"]
    pooled = summary[(summary["depth"] == POOLED) & (summary["activation"] == "relu")]
    expected = ranks[ranks["activation"] == "relu"].groupby("initializer")["mean_rank"].mean()
    np.testing.assert_allclose(pooled.set_index("initializer")["mean_rank"].sort_index(), expected.sort_index())


# ------------------------------------------------------------------ weight choice


def test_weight_runs_are_the_deepest_first_seed_highest_and_lowest(study, tables):
    chosen = tables["weight_runs"]
    assert list(chosen.columns) == WEIGHT_RUNS_COLUMNS
    assert len(chosen) == 4 and set(chosen["depth"]) == {32} and set(chosen["seed"]) == {0}
    runs = study.runs
    for activation in ("relu", "tanh"):
        candidates = runs[(runs["activation"] == activation) & (runs["depth"] == 32) & (runs["seed"] == 0)]
        picks = chosen[chosen["activation"] == activation].set_index("choice")["initializer"]
        ordered = candidates.sort_values("test_accuracy")["initializer"]
        assert (picks["highest"], picks["lowest"]) == (ordered.iloc[-1], ordered.iloc[0])


def test_weight_runs_pass_over_constant_weights_while_there_are_others(study):
    runs = study.runs[study.runs["activation"] == "relu"]
    weights = study.weights[study.weights["activation"] == "relu"]
    lowest = runs[(runs["depth"] == 32) & (runs["seed"] == 0)].sort_values("test_accuracy").iloc[0]
    # make the lowest run's weights at init one bin per layer, as for zeros
    constant = (weights["run_id"] == lowest["run_id"]) & (weights["epoch"] == 0)
    first_bin = weights[constant].groupby("layer")["bin_left"].transform("min") == weights.loc[constant, "bin_left"]
    weights = weights.copy()
    weights.loc[constant, "count"] = 0
    weights.loc[first_bin[first_bin].index, "count"] = 500
    chosen = weight_runs(runs, weights).set_index("choice")
    assert lowest["run_id"] not in set(chosen["run_id"])
    only_constant = weights[weights["run_id"] == lowest["run_id"]]
    alone = weight_runs(runs, only_constant)
    assert alone["run_id"].tolist() == [lowest["run_id"]]  # nothing else to show
    assert weight_runs(runs, weights.iloc[:0]).empty


# ---------------------------------------------------------------- overview, write


def test_overview_counts_the_statistics_tables(study, tables):
    row = tables["overview"].iloc[0]
    pairwise = study.stats["pairwise"]
    assert (row["cells"], row["pairs"], row["best_cells"]) == (6, 6 * 6, 6)
    assert row["pairwise_tests"] == pairwise["p_value"].notna().sum() and row["pairwise_rejected"] == 0
    assert row["unanimous_pairs"] == (pairwise["rank_biserial"].abs() == 1).sum()
    assert row["median_abs_rank_biserial"] == pytest.approx(pairwise["rank_biserial"].abs().median())
    wins = tables["best"]["initializer"].value_counts()
    assert (row["most_frequent_best"], row["most_frequent_best_wins"]) == (wins.idxmax(), wins.max())


def test_the_analysis_writes_every_catalog_table_and_they_read_back(study, tables, tmp_path):
    assert tuple(write.TABLES) == ANALYSIS_TABLES
    written = write_tables(write.compute(inputs(study)), {name: tmp_path / f"{name}.csv" for name in ANALYSIS_TABLES})
    assert [p.name for p in written] == [f"{name}.csv" for name in ANALYSIS_TABLES]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    for name in ANALYSIS_TABLES:
        back = read_table(tmp_path / f"{name}.csv")
        assert list(back.columns) == list(tables[name].columns) and len(back) == len(tables[name]), name
    summary = read_table(tmp_path / "rank_summary.csv")
    assert summary["with_best"].dtype == "boolean"
    best = read_table(tmp_path / "best.csv")
    assert best["initializer"].tolist() == tables["best"]["initializer"].tolist()
    assert best["mean"].tolist() == tables["best"]["mean"].tolist()  # CSV floats round-trip exactly


def test_stats_tables_read_back_with_their_policy(study, tmp_path):
    write_tables(study.stats, {name: tmp_path / f"{name}.csv" for name in STATS_TABLES})
    back = {name: read_table(tmp_path / f"{name}.csv") for name in STATS_TABLES}
    assert tuple(back) == STATS_TABLES and back["friedman"]["reject"].dtype == "boolean"
    assert write.diverged_policy(back) == "chance"
    with pytest.raises(ValueError, match="mix diverged policies"):
        mixed = {**study.stats, "bootstrap": pd.concat([
            study.stats["bootstrap"], study.stats["bootstrap"].assign(diverged_policy="exclude")])}
        write.diverged_policy(mixed)


def test_read_table_reads_parquet_too(study, tmp_path):
    study.runs.to_parquet(tmp_path / "runs.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "runs.parquet"), study.runs)


# ---------------------------------------------------------------- degenerate studies


def degenerate_study(policy: str) -> Study:
    """chance: one initializer (no pair to test); exclude: every run at depth 4
    diverged and is excluded (no rank there)."""
    runs, history = synthetic_tables(depths=(2, 4), seeds=(0, 1), epochs=2)
    if policy == "chance":
        keep = runs["initializer"] == "he_normal"
        runs, history = runs[keep], history[history["run_id"].isin(runs.loc[keep, "run_id"])]
    else:
        runs = runs.assign(diverged=runs["depth"] == 4,
                           test_accuracy=runs["test_accuracy"].where(runs["depth"] == 2))
    return synthetic_study(policy, runs=runs.reset_index(drop=True), history=history.reset_index(drop=True))


@pytest.mark.parametrize("policy", ["chance", "exclude"])
def test_degenerate_studies_still_give_every_analysis_table(policy):
    study = degenerate_study(policy)
    tables = analysis(study)
    guideline = tables["guideline"]
    if policy == "chance":  # one initializer: best without a runner-up, one "test" in the family
        assert tables["power"].iloc[0]["holm_family"] == 1
        assert (guideline["best"] == "he_normal").all() and guideline["rival"].isna().all()
        assert set(guideline["decision"]) <= {"no decision", "not tested"}  # nothing to compare with
        assert (tables["best"]["initializer"] == "he_normal").all() and len(tables["best"]) == 4
    else:  # depth 4 has no complete seed, so the guideline rests on depth 2 alone
        assert study.stats["ranks"].query("depth == 4")["mean_rank"].isna().all()
        assert (guideline["n_cells"] == 1).all()
        assert set(tables["best"]["depth"]) == {2}  # no score, no best
        assert tables["depth"].query("depth == 4")["best"].isna().all()
        assert np.isnan(tables["depth_summary"].set_index("which").loc["MaxDepth", "mean_spread"])
        assert spread_change(tables["depth_summary"]) == "--"
    assert tables["spearman"].iloc[-1]["setting"] == ALL
