"""The Saxe et al. (2013) claim: its verdicts on synthetic histories with known changes
of log time over depth (PASS, FAIL, INCONCLUSIVE), the choice of a rate per depth, a
falling orthogonal time failing the two-sided rule as a rising one does, censored runs
counted against it rather than dropped, its figure, its config, and a tiny run of the
claims target through the real workflow."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, TINY

from initstudy.analysis.claims import evaluate, rule
from initstudy.analysis.claims.families import saxe2013
from initstudy.analysis.claims.registry import ClaimError, Tables, resolve
from initstudy.figures import registry as figures
from initstudy.study.catalog import CLAIM_FIGURES
from initstudy.study import config as study_config

CONFIG = REPO / "config" / "claims" / "saxe2013.yaml"
DEPTHS = (2, 8, 16, 32, 50)
STEPS_PER_EPOCH = 29
THRESHOLD = 1.85
#: The synthetic grid's rates: the larger is best up to depth 8, the smaller beyond
#: (a best rate falling with depth); the other rate of a depth is 1.5 times slower.
RATES = (0.1, 0.2)
SLOWER = 1.5


def best_rate(depth: int) -> float:
    return RATES[1] if depth <= 8 else RATES[0]


def crossing(change: float, depth: int, seed: int) -> float:
    """The time (epochs) at which a run at its depth's best rate reaches the threshold:
    ln T changes by ``change`` from depth 2 to depth 50, from 1.5 epochs plus a seed's
    share (the same for every run of a seed, so each seed's change is exactly ``change``)."""
    return (1.5 + 0.04 * (seed % 5)) * math.exp(change * (depth - 2) / 48)


def history(changes: dict[str, float], seeds=range(7), epochs=10, never=lambda init, depth, seed: False,
            rates=RATES):
    """A linear-network study whose runs' losses fall linearly in time from 2.5 and cross
    the threshold at :func:`crossing` epochs at their depth's best rate (``SLOWER`` times
    later at the other rate), each epoch's record being the loss at its midpoint; a run
    where ``never(init, depth, seed)`` stays at ln 10 (a plateau it does not leave within
    ``epochs``)."""
    rows = []
    for init, change in changes.items():
        for depth in DEPTHS:
            for rate in rates:
                for seed in seeds:
                    time = crossing(change, depth, seed) * (1.0 if rate == best_rate(depth) else SLOWER)
                    fields = {"run_id": f"mnist1d/mlp/linear/sgd/lr{rate}/d{depth}/{init}/s{seed}",
                              "dataset": "mnist1d", "arch": "mlp", "activation": "linear", "optimizer": "sgd",
                              "depth": depth, "initializer": init, "seed": seed, "learning_rate": rate}
                    for epoch in range(1, epochs + 1):
                        loss = (math.log(10) if never(init, depth, seed)
                                else 2.5 - (2.5 - THRESHOLD) * (epoch - 0.5) / time)
                        rows.append({**fields, "epoch": epoch, "train_loss": loss})
    return Tables(pd.DataFrame(), pd.DataFrame(rows), pd.DataFrame())


def by_part(table: pd.DataFrame) -> dict[str, str]:
    parts = table[table["level"] == "part"]
    return {part: "/".join(sorted(set(group["verdict"]))) for part, group in parts.groupby("part")}


def test_pass_when_orthogonal_is_flat_and_gaussian_grows():
    table = evaluate.verdicts("saxe2013", load_claim(), history({"orthogonal": 0.0, "gaussian": 1.5}))
    assert table.iloc[0]["verdict"] == "PASS", table.iloc[0]["reason"]
    assert by_part(table) == {p: "PASS" for p in ("orthogonal_flat", "ratio_growth", "unresolved")}
    parts = table[table["level"] == "part"].set_index("part")
    assert parts.loc["ratio_growth", "estimate"] == pytest.approx(1.5)
    assert parts.loc["orthogonal_flat", "estimate"] == pytest.approx(0.0, abs=1e-9)
    assert parts.loc["ratio_growth", "subclaim"] == "mlp linear sgd gaussian / orthogonal"
    assert set(parts["n"]) == {7} and parts.loc["ratio_growth", "min_p"] == 2 / 2**7


def load_claim() -> dict:
    return study_config.load(CONFIG)["claim"]


def test_each_depth_is_compared_at_its_own_best_rate():
    """The rate of smallest median time per depth and initializer, and only those runs."""
    tables = history({"orthogonal": 0.0, "gaussian": 1.5})
    times = saxe2013.run_times(tables, resolve(load_claim())[1])
    rates = saxe2013.rate_table(times)
    chosen = rates[rates["chosen"]].set_index(["initializer", "depth"])["learning_rate"]
    assert len(chosen) == 2 * len(DEPTHS)
    assert all(chosen[(init, d)] == best_rate(d) for init in ("orthogonal", "gaussian") for d in DEPTHS)
    assert rates["at_edge"].sum() == len(chosen)  # a two-rate grid: every choice is at an edge
    compared = saxe2013.compared_runs(times)
    assert len(compared) == 2 * len(DEPTHS) * 7
    # the time of a run is read at each epoch's midpoint: 1.5 epochs at depth 2, seed 0
    first = compared[(compared["depth"] == 2) & (compared["seed"] == 0)]
    assert first["steps"].to_numpy() == pytest.approx(1.5 * STEPS_PER_EPOCH)


def test_with_one_rate_for_every_depth_the_slower_runs_are_compared():
    """Without the faster rate a depth is compared at the slower one: the choice is from the grid only."""
    tables = history({"orthogonal": 0.0, "gaussian": 1.5}, rates=(RATES[0],))
    table = evaluate.verdicts("saxe2013", load_claim(), tables)
    parts = table[table["level"] == "part"].set_index("part")
    # depths 2 and 8 run 1.5 times slower for both initializers: orthogonal's ln T falls with depth
    assert parts.loc["orthogonal_flat", "estimate"] < 0


#: Seeds with which the config's 3 sub-claims can FAIL after Holm's correction:
#: 3 x 2 / 2**7 = 0.047 <= 0.05.
FAIL_SEEDS = range(7)


def test_fail_when_gaussian_does_not_slow_down_relative_to_orthogonal():
    table = evaluate.verdicts("saxe2013", load_claim(), history({"orthogonal": 0.0, "gaussian": 0.0},
                                                                seeds=FAIL_SEEDS))
    verdicts = by_part(table)
    assert verdicts["ratio_growth"] == "FAIL" and verdicts["orthogonal_flat"] == "PASS"
    assert table.iloc[0]["verdict"] == "FAIL"


@pytest.mark.parametrize("change", [1.0, -1.0])
def test_fail_when_orthogonal_time_rises_or_falls_with_depth(change):
    """Two-sided: a falling orthogonal time is no more depth-independent than a rising one."""
    table = evaluate.verdicts("saxe2013", load_claim(), history({"orthogonal": change, "gaussian": change + 1.5},
                                                                seeds=FAIL_SEEDS))
    verdicts = by_part(table)
    assert verdicts["orthogonal_flat"] == "FAIL" and verdicts["ratio_growth"] == "PASS"
    assert table.iloc[0]["verdict"] == "FAIL"


def test_inconclusive_with_too_few_seeds_or_changes_that_straddle_the_bound():
    few = evaluate.verdicts("saxe2013", load_claim(), history({"orthogonal": 0.0, "gaussian": 1.5}, seeds=range(4)))
    assert few.iloc[0]["verdict"] == "INCONCLUSIVE" and few.iloc[0]["min_p"] == 1 / 8
    assert "cannot reach" in few.iloc[0]["reason"]
    # seeds 0 and 1's Gaussian runs are as flat as orthogonal's, the others grow: the
    # interval straddles the bound
    tables = history({"orthogonal": 0.0, "gaussian": 1.5})
    flat = history({"orthogonal": 0.0, "gaussian": 0.0}, seeds=[0, 1]).history
    mixed = pd.concat([tables.history[~((tables.history["initializer"] == "gaussian")
                                        & (tables.history["seed"].isin([0, 1])))],
                       flat[flat["initializer"] == "gaussian"]])
    table = evaluate.verdicts("saxe2013", load_claim(), Tables(pd.DataFrame(), mixed, pd.DataFrame()))
    assert by_part(table)["ratio_growth"] == "INCONCLUSIVE" and table.iloc[0]["verdict"] == "INCONCLUSIVE"


def test_censored_runs_count_against_the_claim_and_do_not_flatten_the_ratio():
    """Both initializers are flat, but the Gaussian runs never reach the threshold at depth
    50 (every seed, every rate). Dropped, they would leave a flat ratio; entered at the time
    they were observed up to (10 epochs, a lower bound), they raise it; and `unresolved`
    (1 run in 10 per seed) is not below 0.1, so the claim cannot pass."""
    tables = history({"orthogonal": 0.0, "gaussian": 0.0}, seeds=FAIL_SEEDS,
                     never=lambda i, d, s: i == "gaussian" and d == 50)
    compared = saxe2013.compared_runs(saxe2013.run_times(tables, resolve(load_claim())[1]))
    censored = compared[compared["status"] == "censored"]
    assert len(censored) == 7 and set(censored["depth"]) == {50} and censored["steps"].isna().all()
    assert (censored["fit_steps"] == 9.5 * STEPS_PER_EPOCH).all()  # the last record: epoch 10's midpoint
    table = evaluate.verdicts("saxe2013", load_claim(), tables)
    parts = table[table["level"] == "part"].set_index("part")
    assert parts.loc["ratio_growth", "estimate"] > 0.693  # from the bound
    assert parts.loc["unresolved", "estimate"] == pytest.approx(0.1)
    assert parts.loc["unresolved", "verdict"] != "PASS" and table.iloc[0]["verdict"] != "PASS"


def test_a_run_below_the_threshold_at_the_first_epoch_is_unresolved():
    tables = history({"orthogonal": 0.0, "gaussian": 1.5})
    early = tables.history.copy()
    first = ((early["initializer"] == "orthogonal") & (early["depth"] == 50) & (early["seed"] == 0)
             & (early["learning_rate"] == best_rate(50)))
    early.loc[first, "train_loss"] = 1.8
    table = evaluate.verdicts("saxe2013", load_claim(), tables._replace(history=early))
    parts = table[(table["level"] == "part") & (table["part"] == "unresolved")].iloc[0]
    assert parts["estimate"] == pytest.approx(0.1 / 7)
    assert parts["verdict"] == "PASS"  # one run in 70: below the 1-in-10 bound


def test_parameters_are_checked():
    claim = load_claim()
    tables = history({"orthogonal": 0.0, "gaussian": 1.5})
    for params, message in [({"threshold": None}, "claim.params.threshold"),
                            ({"steps_per_epoch": 0}, "claim.params.steps_per_epoch"),
                            ({"gaussian": "glorot_uniform"}, "claim.params.gaussian: initializer 'glorot_uniform'")]:
        bad = {**claim, "params": {**claim["params"], **params}}
        with pytest.raises(ClaimError, match=message):
            evaluate.verdicts("saxe2013", bad, tables)
    no_rate = tables._replace(history=tables.history.drop(columns="learning_rate"))
    with pytest.raises(ClaimError, match="learning_rate"):
        evaluate.verdicts("saxe2013", claim, no_rate)


def test_the_figure_tables_and_figure(tmp_path):
    claim = load_claim()
    tables = history({"orthogonal": 0.0, "gaussian": 1.5}, never=lambda i, d, s: i == "gaussian" and s == 0
                     and d == 50)
    drawn = evaluate.figure_tables(claim, tables)
    assert tuple(drawn) == CLAIM_FIGURES["saxe2013"].draws
    times = drawn["times"]
    assert times["chosen"].sum() == 2 * len(DEPTHS) * 7 and len(times) == 2 * len(RATES) * len(DEPTHS) * 7
    rates = drawn["rates"]
    assert rates[rates["chosen"]].groupby("depth")["learning_rate"].first().to_dict() == {
        d: best_rate(d) for d in DEPTHS}
    means = drawn["changes"][drawn["changes"]["kind"] == "mean"].set_index("part")
    verdict = evaluate.verdicts("saxe2013", claim, tables)
    decided = verdict[verdict["level"] == "part"].set_index("part")
    for part in ("orthogonal_flat", "ratio_growth"):
        assert means.loc[part, "value"] == pytest.approx(decided.loc[part, "estimate"])
        assert means.loc[part, "ci_low"] == pytest.approx(decided.loc[part, "ci_low"])
    assert means.loc["orthogonal_flat", "direction"] == "within"
    assert means.loc["orthogonal_flat", "bound_low"] == pytest.approx(-0.347)
    assert means.loc["ratio_growth", "bound_low"] == pytest.approx(0.693)
    for name, frame in drawn.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    figure = tmp_path / "claim_saxe2013.pdf"
    figures.write([figure], {name: tmp_path / f"{name}.csv" for name in drawn}, claim="saxe2013")
    assert figure.read_bytes().startswith(b"%PDF-")


def test_the_config_validates_and_its_seeds_reach_a_corrected_fail():
    cfg = study_config.load(CONFIG)
    family, params, rules = resolve(cfg["claim"])
    assert family.name == "saxe2013" and set(rules) == set(family.parts)
    n = len(cfg["grid"]["seeds"])
    for r in rules.values():
        assert rule.minimum_fail_seeds(r["test"], r["alpha"], len(rules)) <= n
    # steps per epoch: ceil(n_train / batch_size), n_train the split left after validation
    n_train = 4000 - round(cfg["training"]["validation_split"] * 4000)
    assert params["steps_per_epoch"] == math.ceil(n_train / cfg["training"]["batch_size"])
    assert min(cfg["grid"]["depths"]) == 2 and max(cfg["grid"]["depths"]) >= 50
    assert np.all(np.isin(["orthogonal", "gaussian"], [i if isinstance(i, str) else i["label"]
                                                      for i in cfg["grid"]["initializers"]]))
    # a rate per depth: several rates, doubling (the margins' derivation assumes a factor-2 grid)
    rates = np.array(cfg["grid"]["learning_rates"]["sgd"])
    assert len(rates) >= 3 and np.allclose(rates[1:] / rates[:-1], 2.0)
    # the margins: half a grid step in one time (ln sqrt 2), a whole step in a ratio of two (ln 2)
    assert rules["orthogonal_flat"]["direction"] == "within"
    assert rules["orthogonal_flat"]["min_effect"] == pytest.approx(0.5 * math.log(2), abs=1e-3)
    assert rules["ratio_growth"]["min_effect"] == pytest.approx(math.log(2), abs=1e-3)


#: A tiny Saxe claim on digits: linear MLPs 1-3 layers deep, two rates, 2 seeds (too few
#: to decide: a test of the wiring, not of the claim).
TINY_SAXE = {
    "grid": {**TINY["grid"], "activations": ["linear"], "optimizers": ["sgd"], "depths": [1, 2, 3],
             "initializers": ["orthogonal", {"name": "variance_scaling", "scale": 1.0, "mode": "fan_in",
                                             "distribution": "untruncated_normal", "label": "gaussian"}],
             "seeds": [0, 1], "learning_rates": {"sgd": [0.05, 0.1]}},
    "training": {k: v for k, v in TINY["training"].items() if k != "learning_rate"},
    "claim": {
        "hypothesis": "Orthogonal linear networks learn in a time flat in depth, Gaussian ones slow down.",
        "source": {"paper": "Saxe, McClelland and Ganguli 2014"},
        "statistic": "saxe2013",
        "params": {"threshold": 2.2, "steps_per_epoch": 12},
        "rules": {"orthogonal_flat": {"direction": "within", "min_effect": 0.347},
                  "ratio_growth": {"direction": "greater", "min_effect": 0.693},
                  "unresolved": {"direction": "less", "min_effect": 0.1}},
    },
}
