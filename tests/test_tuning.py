"""Learning-rate tuning on validation data (initstudy.analysis.tuning), on synthetic runs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from initstudy.analysis import tuning
from initstudy.study.fields import CELL

RATES = (0.0003, 0.001, 0.003)
#: (initializer, rate) -> (mean validation accuracy, mean test accuracy). For glorot the
#: test set would pick another rate than validation does; he is flat across two rates.
MEANS = {
    ("glorot", 0.0003): (0.50, 0.70), ("glorot", 0.001): (0.60, 0.55), ("glorot", 0.003): (0.40, 0.40),
    ("he", 0.0003): (0.30, 0.30), ("he", 0.001): (0.80, 0.80), ("he", 0.003): (0.795, 0.79),
}


def runs(seeds=range(6), noise=0.01, diverged=()):
    """One run per initializer, rate and seed in one cell; the seed shifts every score alike
    (a block effect) plus a little noise."""
    rng = np.random.default_rng(0)
    rows = []
    for (init, rate), seed in itertools.product(MEANS, seeds):
        val, test = MEANS[(init, rate)]
        shift = 0.02 * (seed - 2.5) + rng.normal(0, noise)
        rows.append({"dataset": "d", "arch": "mlp", "activation": "relu", "optimizer": "adam", "depth": 10, "width": 128,
                     "initializer": init, tuning.RATE: rate, "seed": seed, "val_accuracy": val + shift,
                     "test_accuracy": test + shift, "num_classes": 10,
                     "diverged": (init, rate, seed) in diverged})
    frame = pd.DataFrame(rows)
    frame.loc[frame["diverged"], ["val_accuracy", "test_accuracy"]] = np.nan
    return frame


def chosen_rate(table, init):
    return table.set_index("initializer").loc[init, tuning.RATE]


def test_the_chosen_rate_is_the_argmax_of_mean_validation_accuracy_never_of_test():
    table = tuning.tuning_table(runs(), "chance")
    assert list(table.columns) == tuning.TUNING_COLUMNS
    assert chosen_rate(table, "glorot") == 0.001  # test accuracy would have picked 0.0003
    assert chosen_rate(table, "he") == 0.001
    frame = runs()
    expected = frame.groupby(["initializer", tuning.RATE])["val_accuracy"].mean().groupby("initializer").idxmax()
    for init, (_, rate) in expected.items():
        assert chosen_rate(table, init) == rate
    glorot = table.set_index("initializer").loc["glorot"]
    assert glorot["test_score"] == pytest.approx(frame.query("initializer == 'glorot' and learning_rate == 0.001")
                                                 ["test_accuracy"].mean())
    assert (glorot["n_selection"], glorot["n_evaluation"], glorot["n_rates"]) == (6, 6, 3)


def test_selection_and_evaluation_seeds_are_kept_apart():
    table = tuning.tuning_table(runs(), "chance", selection_seeds=[0, 1], evaluation_seeds=[2, 3, 4, 5])
    row = table.set_index("initializer").loc["he"]
    assert (row["n_selection"], row["n_evaluation"]) == (2, 4)
    frame = runs()
    evaluated = frame.query("initializer == 'he' and learning_rate == @row.learning_rate and seed >= 2")
    assert row["test_score"] == pytest.approx(evaluated["test_accuracy"].mean())
    tuned = tuning.tuned_runs(frame, tuning.choose_rates(frame, "chance", [0, 1]), evaluation_seeds=[2, 3, 4, 5])
    assert set(tuned["seed"]) == {2, 3, 4, 5} and len(tuned) == 2 * 4
    assert tuned.groupby("initializer")[tuning.RATE].nunique().eq(1).all()  # each at its own rate


def test_a_tie_goes_to_the_smaller_rate():
    frame = runs(noise=0)
    frame.loc[frame["learning_rate"] == 0.003, "val_accuracy"] = frame.loc[frame["learning_rate"] == 0.001,
                                                                          "val_accuracy"].to_numpy()
    assert chosen_rate(tuning.tuning_table(frame, "chance"), "he") == 0.001


def test_diverged_runs_score_by_the_policy():
    # he at 0.001 diverges in every seed: under chance it scores 0.1 and loses to 0.003
    diverged = {("he", 0.001, s) for s in range(6)}
    assert chosen_rate(tuning.tuning_table(runs(diverged=diverged), "chance"), "he") == 0.003
    assert chosen_rate(tuning.tuning_table(runs(diverged=diverged), "exclude"), "he") == 0.003
    # diverging in one seed only: chance pulls its mean down to below 0.003's
    one = {("he", 0.001, 0)}
    assert chosen_rate(tuning.tuning_table(runs(diverged=one, noise=0), "chance"), "he") == 0.003
    assert chosen_rate(tuning.tuning_table(runs(diverged=one, noise=0), "exclude"), "he") == 0.001


def test_robustness_is_the_span_of_rates_within_the_margin_of_the_best():
    sensitivity = tuning.sensitivity_table(runs(noise=0), "chance")
    assert list(sensitivity.columns) == tuning.SENSITIVITY_COLUMNS and len(sensitivity) == 6
    table = tuning.robustness_table(sensitivity, margin=0.01).set_index("initializer")
    assert table.loc["he", ["rate_low", "rate_high", "n_within"]].tolist() == [0.001, 0.003, 2]
    assert table.loc["he", "decades"] == pytest.approx(math.log10(3))
    assert table.loc["glorot", ["n_within", "decades"]].tolist() == [1, 0.0]
    wide = tuning.robustness_table(sensitivity, margin=0.6).set_index("initializer")
    assert wide.loc["he", "decades"] == pytest.approx(1.0)  # every rate within: 0.0003 to 0.003
    with pytest.raises(ValueError, match="margin=-0.1"):
        tuning.robustness_table(sensitivity, margin=-0.1)


def test_every_cell_is_tuned_on_its_own():
    frame = pd.concat([runs(), runs().assign(depth=30, val_accuracy=lambda f: 1 - f["val_accuracy"])])
    table = tuning.tuning_table(frame, "chance").set_index(["depth", "initializer"])
    assert table.loc[(10, "he"), tuning.RATE] == 0.001 and table.loc[(30, "he"), tuning.RATE] == 0.0003
    assert list(tuning.tuning_table(frame, "chance")[list(CELL)].drop_duplicates()["depth"]) == [10, 30]


def test_the_sensitivity_figure_has_a_log_rate_panel_per_depth_and_setting_with_runs():
    from initstudy.figures.sensitivity import draw_learning_rate_sensitivity

    frame = pd.concat([runs(), runs().assign(depth=30), runs().assign(activation="tanh")])
    fig = draw_learning_rate_sensitivity(tuning.sensitivity_table(frame, "chance"))
    panels = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["relu, depth 10", "tanh, depth 10", "relu, depth 30"]
    assert all(ax.get_xscale() == "log" and len(ax.get_lines()) == 2 for ax in panels)
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["0.0003", "0.001", "0.003"]


def test_a_two_stage_claim_decides_on_its_compared_runs_only():
    """evaluate.compared_tables: a claim config with selection seeds hands its family each
    initializer at the rate chosen on those seeds' validation accuracy, over the grid's
    seeds only, and every other table cut to those runs; a one-stage claim keeps all."""
    from initstudy.analysis.claims import evaluate
    from initstudy.analysis.claims.registry import Tables

    frame = runs().assign(run_id=lambda f: [f"r{i}" for i in range(len(f))])
    history = frame[["run_id"]].assign(epoch=1)
    tables = Tables(frame, history, history.copy(), None, None)
    # the keys compared_tables reads, as a checked config has them
    cfg = {"grid": {"seeds": [2, 3, 4, 5]}, "tuning": {"selection_seeds": [0, 1]},
           "stats": {"diverged_policy": "chance"}}
    compared = evaluate.compared_tables(tables, cfg)
    chosen = tuning.choose_rates(frame, "chance", [0, 1]).set_index("initializer")[tuning.RATE]
    assert set(compared.runs["seed"]) == {2, 3, 4, 5} and len(compared.runs) == 2 * 4
    assert all(chosen[i] == r for i, r in compared.runs[["initializer", tuning.RATE]].itertuples(index=False))
    assert set(compared.history["run_id"]) == set(compared.signal["run_id"]) == set(compared.runs["run_id"])
    assert compared.weights is None and compared.jacobian is None
    del cfg["tuning"]["selection_seeds"]
    assert evaluate.compared_tables(tables, cfg) is tables
