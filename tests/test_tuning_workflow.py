"""The tuning protocol through the real workflow: Snakemake trains small grids with
several Adam rates and two widths, and the tables show each initializer compared at the
rate its validation accuracy chose, in one stage and in two (a checkpoint)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from test_workflow import copy_workflow, job_counts, snakemake

pytestmark = pytest.mark.slow

RATES = [0.0003, 0.003, 0.03]
#: Hidden from the default study: three Adam rates, two widths, two initializers, three seeds.
GRID = {
    "grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["relu"], "optimizers": ["adam"],
             "depths": [2], "initializers": ["he_normal", {"name": "random_normal", "stddev": 0.01}],
             "seeds": [0, 1, 2], "learning_rates": {"adam": RATES}, "widths": [8, 16]},
    # threads 2 on --cores 2: one job at a time, so packs are cut by pack_size (and width) alone
    "training": {"epochs": 2, "pack_size": 64, "threads": 2, "probe_size": 32, "xla": False},
    "claims": [], "controls": [],
}
KEY = ["width", "initializer"]


def argmax_rates(runs: pd.DataFrame) -> dict:
    """Per width and initializer, the rate of the highest mean final validation accuracy
    (no run diverges here), ties to the smaller rate, computed here from the runs."""
    means = runs.groupby([*KEY, "learning_rate"])["val_accuracy"].mean().reset_index()
    means = means.sort_values([*KEY, "val_accuracy", "learning_rate"], ascending=[True, True, False, True])
    return {tuple(k): r for *k, r in means.groupby(KEY).head(1)[[*KEY, "learning_rate"]].itertuples(index=False)}


@pytest.fixture(scope="module")
def one_stage(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("one_stage"), GRID)
    proc = snakemake(workdir, "results/stats/friedman.csv", "results/analysis/tuning.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


def test_every_run_trains_and_runs_differing_only_in_rate_share_a_job(one_stage):
    runs = pd.read_parquet(one_stage / "results" / "runs.parquet")
    assert len(runs) == 3 * 2 * 2 * 3 and not runs["diverged"].any()
    assert set(runs["learning_rate"]) == set(RATES) and set(runs["width"]) == {8, 16}
    assert runs["pack_id"].nunique() == 2  # one job per width: its rates, initializers and seeds together


def test_the_chosen_rate_is_the_argmax_of_mean_validation_accuracy(one_stage):
    runs = pd.read_parquet(one_stage / "results" / "runs.parquet")
    tuning = pd.read_csv(one_stage / "results" / "analysis" / "tuning.csv")
    assert len(tuning) == 4 and set(tuning["n_rates"]) == {3} and set(tuning["n_selection"]) == {3}
    assert {(w, i): r for w, i, r in tuning[[*KEY, "learning_rate"]].itertuples(index=False)} == argmax_rates(runs)
    # the tuned test accuracy is the mean test accuracy at the chosen rate
    for row in tuning.itertuples():
        at_rate = runs[(runs["width"] == row.width) & (runs["initializer"] == row.initializer)
                       & (runs["learning_rate"] == row.learning_rate)]
        assert row.test_score == pytest.approx(at_rate["test_accuracy"].mean())


def test_the_comparisons_take_each_initializer_at_its_rate_within_each_width(one_stage):
    tuning = pd.read_csv(one_stage / "results" / "analysis" / "tuning.csv")
    compared = pd.read_parquet(one_stage / "results" / "compared_runs.parquet")
    assert len(compared) == 4 * 3
    chosen = dict(zip(zip(tuning["width"], tuning["initializer"]), tuning["learning_rate"]))
    assert all(chosen[(w, i)] == r for w, i, r in compared[[*KEY, "learning_rate"]].itertuples(index=False))
    bootstrap = pd.read_csv(one_stage / "results" / "stats" / "bootstrap.csv")
    assert sorted(zip(bootstrap["width"], bootstrap["initializer"])) == sorted(chosen)
    assert set(bootstrap["n"]) == {3}
    pairwise = pd.read_csv(one_stage / "results" / "stats" / "pairwise.csv")
    assert sorted(pairwise["width"]) == [8, 16]  # one pair per width: the cells are apart


def test_a_fourth_rate_trains_exactly_its_runs(one_stage, tmp_path):
    grown = copy.deepcopy(GRID)
    grown["grid"]["learning_rates"]["adam"] = [*RATES, 0.001]
    (one_stage / "config" / "config.yaml").write_text(yaml.safe_dump(grown))
    proc = snakemake(one_stage, "-n", "results/stats/friedman.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initstudy: study: 48 runs: 36 done, 12 new, 0 stale" in proc.stderr
    assert job_counts(proc.stdout + proc.stderr)["train"] == 2


#: A two-stage claim beside the two-stage study: the study's Adam runs (same settings,
#: seeds and selection seeds, so the same identities) and momentum runs of its own.
CLAIM = "tiny_robustness"
MOMENTUM_RATES = [0.01, 0.1]


def two_stage_claim(study: dict) -> dict:
    claim = copy.deepcopy(study)
    claim["grid"]["optimizers"] = ["adam", "momentum"]
    claim["grid"]["learning_rates"]["momentum"] = MOMENTUM_RATES
    del claim["claims"], claim["controls"]
    claim["claim"] = {"hypothesis": "Adam narrows the spread of tuned accuracy over initializers.",
                      "source": {"paper": "test", "figure": "none"}, "statistic": "optimizer_robustness",
                      "params": {"robust": ["adam"], "baseline": "momentum", "depths": [2]},
                      "test": "sign_flip", "alpha": 0.05,
                      "rules": {"narrower_spread": {"direction": "greater", "min_effect": 0.0}}}
    return claim


@pytest.fixture(scope="module")
def two_stage(tmp_path_factory):
    study = copy.deepcopy(GRID)
    study["grid"]["seeds"] = [0, 1, 2]
    study["tuning"] = {"selection_seeds": [100, 101]}  # disjoint from the evaluation seeds
    study["claims"] = [CLAIM]
    workdir = copy_workflow(tmp_path_factory.mktemp("two_stage"), study)
    (workdir / "config" / "claims" / f"{CLAIM}.yaml").write_text(yaml.safe_dump(two_stage_claim(study)))
    dry = snakemake(workdir, "-n", "results/stats/friedman.csv")
    assert dry.returncode == 0, dry.stderr[-3000:]
    proc = snakemake(workdir, "results/stats/friedman.csv", "results/analysis/tuning.csv",
                     f"results/claims/{CLAIM}/verdict.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir, dry, proc


def test_the_first_stage_alone_is_planned_before_the_checkpoint(two_stage):
    _, dry, proc = two_stage
    # stage 1: 3 rates x 2 widths x 2 initializers x 2 selection seeds
    assert "initstudy: study: 24 runs: 0 done, 24 new, 0 stale" in dry.stderr
    assert "select_rates" in dry.stdout + dry.stderr
    # after the checkpoint, stage 2 adds one rate per width and initializer on 3 seeds
    assert "initstudy: study (both stages): 36 runs: 24 done, 12 new, 0 stale" in proc.stderr


def test_the_second_stage_trains_the_chosen_rate_on_the_evaluation_seeds(two_stage):
    workdir, _, _ = two_stage
    runs = pd.read_parquet(workdir / "results" / "runs.parquet")
    selection = pd.read_csv(workdir / "results" / "tuning" / "selection.csv")
    stage1 = runs[runs["seed"].isin([100, 101])]
    assert len(stage1) == 24
    chosen = argmax_rates(stage1)
    assert {(w, i): r for w, i, r in selection[[*KEY, "learning_rate"]].itertuples(index=False)} == chosen
    stage2 = runs[runs["seed"].isin([0, 1, 2])]
    assert len(stage2) == 12
    assert all(chosen[(w, i)] == r for w, i, r in stage2[[*KEY, "learning_rate"]].itertuples(index=False))
    tuning = pd.read_csv(workdir / "results" / "analysis" / "tuning.csv")
    assert {(w, i): r for w, i, r in tuning[[*KEY, "learning_rate"]].itertuples(index=False)} == chosen
    assert set(tuning["n_selection"]) == {2} and set(tuning["n_evaluation"]) == {3}
    # the comparisons see the evaluation seeds only: the choice's seeds never reach the test
    compared = pd.read_parquet(workdir / "results" / "compared_runs.parquet")
    assert sorted(compared["seed"].unique()) == [0, 1, 2]
    bootstrap = pd.read_csv(workdir / "results" / "stats" / "bootstrap.csv")
    at_rate = stage2.groupby(KEY)["test_accuracy"].mean()
    for row in bootstrap.itertuples():
        assert row.mean == pytest.approx(at_rate[(row.width, row.initializer)])
    assert np.isfinite(bootstrap["mean"]).all()


def test_a_finished_two_stage_study_plans_nothing(two_stage):
    workdir, _, _ = two_stage
    proc = snakemake(workdir, "-n", "results/stats/friedman.csv", f"results/claims/{CLAIM}/verdict.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_two_stage_claim_shares_the_studys_runs_and_decides_at_its_chosen_rates(two_stage):
    """The claim's stage 1 trains beside the study's before the one checkpoint, which
    chooses for both; its Adam runs are the study's own records (trained once), its
    momentum runs train the chosen rate on the evaluation seeds, and its verdict is
    decided on the evaluation seeds at the chosen rates."""
    workdir, dry, proc = two_stage
    # stage 1: Adam's 24 (the study's) and momentum's 2 rates x 2 widths x 2 inits x 2 seeds
    assert f"initstudy: {CLAIM}: 40 runs: 0 done, 40 new, 0 stale" in dry.stderr
    assert f"initstudy: {CLAIM} (both stages): 64 runs: 40 done, 24 new, 0 stale" in proc.stderr
    study_runs = pd.read_parquet(workdir / "results" / "runs.parquet")
    claim_runs = pd.read_parquet(workdir / "results" / "claims" / CLAIM / "runs.parquet")
    adam = claim_runs[claim_runs["optimizer"] == "adam"].set_index("run_id")
    assert len(adam) == len(study_runs) == 36
    assert (adam.loc[study_runs["run_id"], "created"].to_numpy() == study_runs["created"].to_numpy()).all()
    momentum = claim_runs[claim_runs["optimizer"] == "momentum"]
    chosen = argmax_rates(momentum[momentum["seed"].isin([100, 101])])
    selection = pd.read_csv(workdir / "results" / "claims" / CLAIM / "selection.csv")
    at_momentum = selection[selection["optimizer"] == "momentum"]
    assert {(w, i): r for w, i, r in at_momentum[[*KEY, "learning_rate"]].itertuples(index=False)} == chosen
    evaluation = momentum[momentum["seed"].isin([0, 1, 2])]
    assert len(evaluation) == 12
    assert all(chosen[(w, i)] == r for w, i, r in evaluation[[*KEY, "learning_rate"]].itertuples(index=False))
    # one sub-claim per width, each with a value per evaluation seed
    verdict = pd.read_csv(workdir / "results" / "claims" / CLAIM / "verdict.csv")
    parts = verdict[verdict["level"] == "part"]
    assert len(parts) == 2 and set(parts["n"]) == {3}
