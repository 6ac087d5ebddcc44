"""The optimizer-robustness claim (seed 002): verdicts on synthetic runs tables with
known spreads, the learning rate chosen on validation and never on test, diverged runs
at chance, incomplete seeds left out, and clear errors for parameters the study lacks.
(Its FAIL on contradicting data with the config's own seeds: tests/test_claims_can_fail.py.)"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from initstudy.analysis import tuning
from initstudy.analysis.claims import evaluate
from initstudy.analysis.claims.registry import ClaimError, Tables, resolve
from initstudy.study import config as study_config

CONFIG = study_config.load(REPO / "config" / "claims" / "optimizer_robustness.yaml")
CLAIM = CONFIG["claim"]
INITS = ("random_normal-stddev0.01", "glorot_uniform", "he_normal", "lecun_normal", "orthogonal")
RATES = {"adam": (0.0003, 0.001, 0.003), "rmsprop": (0.0003, 0.001, 0.003), "momentum": (0.003, 0.01, 0.03)}
SEEDS = range(8)
#: Per rate index: (validation, test) accuracy of every initializer away from the chosen
#: rate. Rate 0 is the test set's favourite (0.95, the same for every initializer, so a
#: spread of 0) but not validation's; rate 1 is validation's (VAL_BEST), where the
#: spread is the one a test sets.
DECOY = {0: (0.30, 0.95), 2: (0.20, 0.20)}
VAL_BEST = 0.60


def study(spread, seeds=SEEDS, depths=(10, 30), optimizers=tuple(RATES), inits=INITS, diverged=()) -> Tables:
    """Runs of every optimizer, rate, depth, initializer and seed. At each optimizer's
    middle rate (the one validation picks) the k-th initializer's test accuracy is
    0.5 + spread(optimizer, depth, seed) · k / (K − 1), so the spread over initializers
    is exactly ``spread(...)``; at the other rates see :data:`DECOY`. ``diverged``:
    (optimizer, depth, initializer) whose runs diverge at every rate."""
    rows = []
    for optimizer, depth, (k, init), seed in itertools.product(optimizers, depths, enumerate(inits), seeds):
        for index, rate in enumerate(RATES[optimizer]):
            if index == 1:
                val, test = VAL_BEST, 0.5 + spread(optimizer, depth, seed) * k / (len(inits) - 1)
            else:
                val, test = DECOY[index]
            failed = (optimizer, depth, init) in diverged
            rows.append({"run_id": f"mnist1d/mlp/relu/{optimizer}/lr{rate}/d{depth}/{init}/s{seed}",
                         "dataset": "mnist1d", "arch": "mlp", "activation": "relu", "optimizer": optimizer,
                         "depth": depth, "initializer": init, "seed": seed, "learning_rate": rate, "width": 128,
                         "val_accuracy": np.nan if failed else val, "test_accuracy": np.nan if failed else test,
                         "diverged": failed, "num_classes": 10})
    return Tables(pd.DataFrame(rows), pd.DataFrame(), pd.DataFrame())


def momentum_spread(baseline: float, robust: float):
    """Spread ``baseline`` (+ 0.01 per seed) under momentum, ``robust`` under the others."""
    return lambda optimizer, depth, seed: baseline + 0.01 * seed if optimizer == "momentum" else robust


def verdicts(tables, claim=CLAIM) -> pd.DataFrame:
    return evaluate.verdicts("optimizer_robustness", claim, tables)


def parts(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["level"] == "part"].set_index("subclaim")


def test_the_config_states_four_subclaims_that_can_fail_with_its_seeds():
    """2 depths x 2 robust optimizers, 10 evaluation seeds: 4 x 2 / 2**10 = 0.008 <= 0.05
    (8 would do); tuned in two stages on selection seeds that are not evaluation seeds."""
    family, params, rules = resolve(CLAIM)
    assert family.name == "optimizer_robustness" and list(rules) == ["narrower_spread"]
    assert params == {"robust": ["adam", "rmsprop"], "baseline": "momentum", "depths": [10, 30]}
    assert rules["narrower_spread"]["direction"] == "greater" and rules["narrower_spread"]["min_effect"] == 0.01
    seeds = CONFIG["grid"]["seeds"]
    assert seeds == list(range(10)) and not set(CONFIG["tuning"]["selection_seeds"]) & set(seeds)
    table = verdicts(study(momentum_spread(0.3, 0.05), seeds=seeds))
    claim = table.iloc[0]
    assert claim["n_parts"] == 4 and claim["n"] == 10 and claim["fail_min_p"] == pytest.approx(4 * 2 / 2**10)


def test_the_claim_shares_the_default_studys_adam_runs(tmp_path):
    """The default study lists the claim, and the claim's Adam runs are the study's own:
    the same records (a record's path is its run's identity: fields and every setting
    that changes its numbers), so they train once."""
    from initstudy.study import stages
    from initstudy.train.pending import pending

    default = study_config.load(REPO / "config" / "config.yaml")
    assert "optimizer_robustness" in default["claims"]
    study_records = set(pending(default, tmp_path, stages.planned_runs(default)).records.values())
    claim = pending(CONFIG, tmp_path, stages.planned_runs(CONFIG))
    adam = [claim.records[run.run_id] for run in claim.runs if run.optimizer == "adam"]
    assert len(adam) == 2 * 5 * (3 * 2 + 10) and set(adam) <= study_records


def test_pass_when_momentum_spreads_more_at_every_seed():
    table = verdicts(study(momentum_spread(0.3, 0.05)))
    assert table.iloc[0]["verdict"] == "PASS", table.iloc[0]["reason"]
    subclaims = parts(table)
    assert set(subclaims.index) == {f"mlp relu d{d}: momentum - {o}" for d in (10, 30) for o in ("adam", "rmsprop")}
    assert set(subclaims["verdict"]) == {"PASS"} and set(subclaims["optimizer"]) == {"momentum-adam",
                                                                                       "momentum-rmsprop"}
    # the per-seed values are spread(momentum) - spread(robust): 0.25 + 0.01 s, mean 0.285
    np.testing.assert_allclose(subclaims["estimate"], 0.25 + 0.01 * np.mean(SEEDS), atol=1e-9)
    assert (subclaims["p_value"] == 2 / 2**8).all()


def test_fail_when_momentum_spreads_less_with_eight_seeds():
    table = verdicts(study(momentum_spread(0.05, 0.3)))
    claim = table.iloc[0]
    assert claim["verdict"] == "FAIL", claim["reason"]
    assert claim["n_fail_holm"] == 4 and claim["p_holm"] == pytest.approx(4 * 2 / 2**8)


def test_equal_spreads_fail_by_the_margin():
    """Spreads equal under every optimizer: the difference is 0 < 0.01 at every seed, a
    narrowing too small to matter, and the claim FAILs rather than staying inconclusive."""
    table = verdicts(study(lambda optimizer, depth, seed: 0.1 + 0.01 * seed))
    assert table.iloc[0]["verdict"] == "FAIL", table.iloc[0]["reason"]
    np.testing.assert_allclose(parts(table)["estimate"], 0.0, atol=1e-12)


def test_inconclusive_with_mixed_signs():
    """Momentum's spread larger at even seeds, smaller at odd ones."""
    def spread(optimizer, depth, seed):
        if optimizer != "momentum":
            return 0.2
        return 0.2 + (0.1 + 0.01 * seed) * (1 if seed % 2 == 0 else -1)

    table = verdicts(study(spread))
    claim = table.iloc[0]
    assert claim["verdict"] == "INCONCLUSIVE", claim["reason"]
    assert set(parts(table)["verdict"]) == {"INCONCLUSIVE"}


def test_the_rate_is_chosen_on_validation_not_on_test():
    """At rate index 0 every initializer scores 0.95 on test (spread 0) under every
    optimizer, but validation prefers rate index 1, where momentum spreads 0.3 and the
    others 0.05: PASS. Choosing on test would give differences of 0 at every seed, a FAIL."""
    tables = study(momentum_spread(0.3, 0.05))
    chosen = tuning.choose_rates(tables.runs, "chance")
    assert set(zip(chosen["optimizer"], chosen["learning_rate"])) == {(o, rates[1]) for o, rates in RATES.items()}
    assert verdicts(tables).iloc[0]["verdict"] == "PASS"
    # the same runs with validation and test swapped: the choice follows the (new)
    # validation column, rate 0, whose spreads are all 0
    swapped = tables.runs.rename(columns={"val_accuracy": "test_accuracy", "test_accuracy": "val_accuracy"})
    table = verdicts(Tables(swapped, pd.DataFrame(), pd.DataFrame()))
    assert table.iloc[0]["verdict"] == "FAIL"
    np.testing.assert_allclose(parts(table)["estimate"], 0.0, atol=1e-12)


def test_a_diverged_run_scores_chance_in_the_choice_and_the_spread():
    """Under momentum at depth 30, N(0, 0.01) diverges at every rate: its validation
    scores tie at chance (the smallest rate is kept) and it scores chance, 0.1, so
    momentum's spread is the best initializer's 0.5 + 0.05 minus 0.1."""
    tables = study(momentum_spread(0.05, 0.05), diverged={("momentum", 30, INITS[0])})
    chosen = tuning.choose_rates(tables.runs, "chance").set_index(["optimizer", "depth", "initializer"])
    assert chosen.loc[("momentum", 30, INITS[0]), "learning_rate"] == RATES["momentum"][0]
    subclaims = parts(verdicts(tables))
    # the best initializer at its chosen (middle) rate scores 0.5 + 0.05 + 0.01 s, the
    # diverged one 0.1: spread 0.45 + 0.01 s, minus the robust optimizer's 0.05
    np.testing.assert_allclose(subclaims.loc["mlp relu d30: momentum - adam", "estimate"],
                               0.45 + 0.01 * np.mean(SEEDS) - 0.05, atol=1e-9)
    np.testing.assert_allclose(subclaims.loc["mlp relu d10: momentum - adam", "estimate"],
                               0.01 * np.mean(SEEDS), atol=1e-9)


def test_a_seed_without_every_initializer_is_left_out_of_its_pairs():
    tables = study(momentum_spread(0.3, 0.05))
    runs = tables.runs
    missing = (runs["optimizer"] == "adam") & (runs["depth"] == 10) & (runs["seed"] == 3) & (
        runs["initializer"] == "he_normal")
    subclaims = parts(verdicts(Tables(runs[~missing], pd.DataFrame(), pd.DataFrame())))
    assert subclaims.loc["mlp relu d10: momentum - adam", "n"] == 7
    assert (subclaims.drop(index="mlp relu d10: momentum - adam")["n"] == 8).all()


@pytest.mark.parametrize("params, message", [
    ({"robust": ["sgd"]}, r"claim.params.robust: optimizer\(s\) \['sgd'\] not in the study"),
    ({"baseline": "sgd"}, r"claim.params.baseline: optimizer\(s\) \['sgd'\] not in the study"),
    ({"robust": ["adam", "momentum"]}, "includes the baseline 'momentum'"),
    ({"depths": [50]}, r"claim.params.depths: \[50\] not in the study"),
])
def test_parameters_the_study_lacks_are_refused(params, message):
    claim = {**CLAIM, "params": {**CLAIM["params"], **params}}
    with pytest.raises(ClaimError, match=message):
        verdicts(study(momentum_spread(0.3, 0.05)), claim)


def test_a_runs_table_without_validation_accuracy_is_refused():
    tables = study(momentum_spread(0.3, 0.05))
    with pytest.raises(ClaimError, match="val_accuracy"):
        verdicts(Tables(tables.runs.drop(columns="val_accuracy"), pd.DataFrame(), pd.DataFrame()))


def test_a_seed_without_every_rate_is_refused():
    """One stage: the choice compares rates over the same seeds; a two-stage study's
    evaluation seed (one rate only) is refused, not silently tuned on."""
    runs = study(momentum_spread(0.3, 0.05)).runs
    two_stage = (runs["optimizer"] == "rmsprop") & (runs["seed"] == 5) & (runs["learning_rate"] != 0.001)
    with pytest.raises(ClaimError, match=r"mlp relu rmsprop d10 glorot_uniform seed 5 has 1 of the cell's 3"):
        verdicts(Tables(runs[~two_stage], pd.DataFrame(), pd.DataFrame()))
