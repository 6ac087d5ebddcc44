"""The Schoenholz et al. (2017) claim: its three verdicts on synthetic studies whose
answers are known from the mean-field theory, the variances read from the initializer
spec (and other specs refused naming the key), its figure, and a tiny claim through
the real workflow."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, TINY

from initstudy.analysis.claims import evaluate
from initstudy.analysis.claims.families import schoenholz2017
from initstudy.analysis.claims.registry import ClaimError, Tables
from initstudy.figures import registry as figures
from initstudy.study import config as study_config
from initstudy.study import specs

#: A small grid with two chaotic points (each costs the theory seconds). With sigma_b2 =
#: 0.05, 6 xi_c = 21.8, 40.8, 94.7, ~3e4, 151, 54.3: depths 60 and 90 leave half the grid
#: trainable (the peak depths), and every depth but 15 excludes some sigma_w2.
SIGMA_W2 = (1.0, 1.25, 1.5, 1.76, 2.0, 3.0)
DEPTHS = (15, 30, 45, 60, 90)
SIGMA_B = math.sqrt(0.05)
CRITICAL = 1.7609546


def spec(sigma_w2: float, bias: dict | None = None, **changes) -> dict:
    """The spec as the config states it (variance_scaling, fan_in, N(0, 0.05) biases)."""
    out = {"name": "variance_scaling", "scale": sigma_w2, "mode": "fan_in", "distribution": "untruncated_normal",
           "bias": bias or {"name": "random_normal", "stddev": SIGMA_B}, "label": f"sw{sigma_w2:g}", **changes}
    return {k: v for k, v in out.items() if v is not None}


def canonical(config_spec: dict) -> str:
    """``runs.parquet``'s ``initializer_spec``: the parsed spec as canonical JSON."""
    return json.dumps(specs.parse(config_spec).to_dict(), sort_keys=True)


def study(accuracy, seeds=(0, 1, 2), spec_of=spec, arch="mlp") -> Tables:
    """tanh MLPs trained with SGD on the grid; ``accuracy(sigma_w2, depth, seed, predicted)``
    gives each run's final train accuracy (10 classes)."""
    rows = []
    for sigma_w2 in SIGMA_W2:
        xi = schoenholz2017.depth_scale("tanh", sigma_w2, SIGMA_B**2)
        for depth in DEPTHS:
            for seed in seeds:
                config_spec = spec_of(sigma_w2)
                rows.append({"run_id": f"sw{sigma_w2}/d{depth}/s{seed}", "dataset": "mnist1d", "arch": arch,
                             "activation": "tanh", "optimizer": "sgd", "depth": depth,
                             "initializer": config_spec.get("label", config_spec["name"]), "seed": seed,
                             "initializer_spec": canonical(config_spec), "diverged": False, "num_classes": 10,
                             "train_accuracy": accuracy(sigma_w2, depth, seed, depth < 6 * xi)})
    return Tables(pd.DataFrame(rows), pd.DataFrame(), pd.DataFrame())


def as_theory_says(sigma_w2, depth, seed, predicted):
    """Trains (best at the critical sigma_w2) exactly where the theory says; else chance ± 1 pp."""
    if predicted:
        return 0.6 - 0.05 * abs(math.log2(sigma_w2 / 1.76)) + 0.001 * seed
    return 0.1 + 0.01 * math.sin(sigma_w2 * depth + seed)


def inverted(sigma_w2, depth, seed, predicted):
    """Trains exactly where the theory says it cannot, best far from the critical sigma_w2."""
    return 0.1 if predicted else 0.6 - 0.05 * abs(math.log2(sigma_w2))


def depth_cutoff(sigma_w2, depth, seed, predicted):
    """Trains iff depth < 50 whatever sigma_w2 (best at the critical one): the σ-blind rule."""
    return as_theory_says(sigma_w2, depth, seed, depth < 50)


SEEDS = tuple(range(7))  # 2 sub-claims of one value per seed: FAIL needs 2 x 2/2**7 = 0.031 <= 0.05


def claim(**params) -> dict:
    cfg = study_config.load(REPO / "config" / "claims" / "schoenholz2017.yaml")["claim"]
    return {**cfg, "params": {**cfg["params"], **params}}


def parts(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["level"] == "part"].set_index("part")


def best_cutoff_share(trained: dict) -> float:
    """The best σ-blind rule by brute force over every integer cutoff: {(sigma_w2, depth): trained}."""
    return max(np.mean([(depth < c) == t for (_, depth), t in trained.items()]) for c in range(0, 200))


def predicted_cells() -> dict:
    return {(s, d): d < 6 * schoenholz2017.depth_scale("tanh", s, SIGMA_B**2) for s in SIGMA_W2 for d in DEPTHS}


def test_pass_when_trainability_follows_six_xi_c():
    table = evaluate.verdicts("schoenholz2017", claim(), study(as_theory_says, seeds=SEEDS))
    assert table.iloc[0]["verdict"] == "PASS"
    rows = parts(table)
    # the theory agrees everywhere; the best depth cutoff (here 21 of the 30 cells) does not
    baseline = best_cutoff_share(predicted_cells())
    assert baseline == pytest.approx(0.7)
    assert rows.loc["agreement", "estimate"] == pytest.approx(1 - baseline) and rows.loc["agreement", "n"] == 7
    assert rows.loc["agreement", "subclaim"] == "mlp tanh sgd sigma_b2=0.05 (per seed)"
    # the peak depths are 60 and 90, and the best sigma_w2 there is 1.76; one value per seed
    assert rows.loc["peak_at_critical", "n"] == 7 and rows.loc["peak_at_critical", "depth"] == "60+90"
    assert rows.loc["peak_at_critical", "estimate"] == pytest.approx(abs(math.log2(1.76 / CRITICAL)), abs=1e-6)
    assert rows.loc["peak_at_critical", "direction"] == "less"


def test_fail_when_trainability_is_inverted():
    table = evaluate.verdicts("schoenholz2017", claim(), study(inverted, seeds=SEEDS))
    rows = parts(table)
    assert table.iloc[0]["verdict"] == "FAIL" and set(rows["verdict"]) == {"FAIL"}
    # the theory agrees nowhere, while a cutoff agrees as well as one can
    inverse = {cell: not p for cell, p in predicted_cells().items()}
    assert rows.loc["agreement", "estimate"] == pytest.approx(-best_cutoff_share(inverse))
    # the best sigma_w2 at depths 60 and 90 is 1.0, 0.82 octaves below the critical value
    assert rows.loc["peak_at_critical", "estimate"] == pytest.approx(math.log2(CRITICAL), abs=1e-6)


def test_a_sigma_blind_depth_cutoff_fails_the_agreement():
    """Data that a depth cutoff explains fully: the theory agrees with 21 of the 30 cells,
    the best cutoff with all of them, so the theory explains nothing beyond depth."""
    table = evaluate.verdicts("schoenholz2017", claim(), study(depth_cutoff, seeds=SEEDS))
    rows = parts(table)
    assert table.iloc[0]["verdict"] == "FAIL"
    assert rows.loc["agreement", "verdict"] == "FAIL" and rows.loc["peak_at_critical", "verdict"] == "PASS"
    trained = {(s, d): d < 50 for s in SIGMA_W2 for d in DEPTHS}
    theory = np.mean([trained[cell] == p for cell, p in predicted_cells().items()])
    assert theory == pytest.approx(0.7) and rows.loc["agreement", "estimate"] == pytest.approx(theory - 1.0)


def test_a_peak_two_steps_from_criticality_fails_the_mechanism_check():
    def best_at_3(sigma_w2, depth, seed, predicted):
        return (0.6 - 0.05 * abs(math.log2(sigma_w2 / 3.0)) + 0.001 * seed) if predicted else 0.1

    def trains_everywhere_at_3(sigma_w2, depth, seed, predicted):
        return best_at_3(sigma_w2, depth, seed, predicted or sigma_w2 == 3.0)

    rows = parts(evaluate.verdicts("schoenholz2017", claim(), study(best_at_3, seeds=SEEDS)))
    # at depths 60 and 90 only 1.5, 1.76 and 2.0 are predicted to train: the best of them, 2.0
    assert rows.loc["peak_at_critical", "estimate"] == pytest.approx(math.log2(2.0 / CRITICAL), abs=1e-6)
    table = evaluate.verdicts("schoenholz2017", claim(), study(trains_everywhere_at_3, seeds=SEEDS))
    rows = parts(table)
    assert rows.loc["peak_at_critical", "estimate"] == pytest.approx(math.log2(3.0 / CRITICAL), abs=1e-6)
    assert rows.loc["peak_at_critical", "verdict"] == "FAIL" and table.iloc[0]["verdict"] == "FAIL"


def test_inconclusive_with_too_few_values_or_a_straddled_bound():
    few = evaluate.verdicts("schoenholz2017", claim(), study(as_theory_says, seeds=(0, 1, 2)))
    rows = parts(few)
    assert few.iloc[0]["verdict"] == "INCONCLUSIVE" and set(rows["n"]) == {3}
    assert "cannot reach" in rows.loc["agreement", "reason"]

    def half_the_time(sigma_w2, depth, seed, predicted):  # odd seeds follow the theory, even ones a cutoff
        return (as_theory_says if seed % 2 else depth_cutoff)(sigma_w2, depth, seed, predicted)

    straddled = evaluate.verdicts("schoenholz2017", claim(), study(half_the_time, seeds=SEEDS))
    assert parts(straddled).loc["agreement", "verdict"] == "INCONCLUSIVE"
    assert "interval contains a bound" in parts(straddled).loc["agreement", "reason"]


def test_the_best_cutoff_is_chosen_per_seed_among_the_depths():
    block = pd.DataFrame({"depth": [10, 10, 20, 20, 30, 30], "trainable": [True, True, True, False, False, False]})
    assert schoenholz2017.cutoff_agreement(block) == (20, pytest.approx(5 / 6))  # L < 20; ties: the smallest c
    assert schoenholz2017.cutoff_agreement(block.assign(trainable=True)) == (math.inf, 1.0)
    assert schoenholz2017.cutoff_agreement(block.assign(trainable=False)) == (10, 1.0)  # nothing trains
    runs = schoenholz2017.measured(study(depth_cutoff, seeds=(0, 1)).runs, schoenholz2017.PARAMS)
    seeds = schoenholz2017.seed_agreement(runs)
    assert list(seeds["seed"]) == [0, 1] and set(seeds["cutoff"]) == {60} and set(seeds["baseline"]) == {1.0}
    assert (seeds["difference"] == seeds["theory"] - 1.0).all() and set(seeds["n"]) == {len(SIGMA_W2) * len(DEPTHS)}


def test_a_diverged_run_scores_chance_and_does_not_train():
    tables = study(as_theory_says)
    runs = tables.runs.assign(diverged=True, train_accuracy=np.nan)
    measured = schoenholz2017.measured(runs, schoenholz2017.PARAMS)
    assert not measured["trainable"].any() and (measured["score"] == 0.1).all()


def test_variances_come_from_the_spec():
    assert schoenholz2017.variances(canonical(spec(1.76))) == (1.76, pytest.approx(0.05, rel=1e-6))
    assert schoenholz2017.variances(canonical(spec(2.0, bias={"name": "zeros"}))) == (2.0, 0.0)
    # Keras' defaults: scale 1, mode fan_in; random_normal stddev 0.05
    bare = {"name": "variance_scaling", "bias": {"name": "random_normal"}}
    assert schoenholz2017.variances(canonical(bare)) == (1.0, pytest.approx(0.0025))


@pytest.mark.parametrize("bad, key", [
    ({"name": "he_normal"}, "name 'he_normal'"),
    (spec(1.5, mode="fan_avg"), "mode 'fan_avg'"),
    (spec(1.5, bias={"name": "random_uniform"}), "bias.name 'random_uniform'"),
    (spec(1.5, bias={"name": "random_normal", "mean": 0.1, "stddev": 0.2}), "bias.mean 0.1"),
])
def test_other_specs_are_refused_naming_the_key(bad, key):
    tables = study(as_theory_says, spec_of=lambda s: bad if s == 3.0 else spec(s))
    with pytest.raises(ClaimError, match=f"runs.initializer_spec of .*: {key}"):
        evaluate.verdicts("schoenholz2017", claim(), tables)


def test_a_cnn_is_refused():
    with pytest.raises(ClaimError, match="arch \\['cnn'\\]; expected mlp"):
        evaluate.verdicts("schoenholz2017", claim(), study(as_theory_says, arch="cnn"))


def test_figure_tables_and_figure(tmp_path):
    tables = evaluate.figure_tables(claim(curve_points=4), study(as_theory_says))
    cells, theory, seeds = tables["trainability"], tables["theory"], tables["agreement"]
    assert len(cells) == len(SIGMA_W2) * len(DEPTHS) and set(cells["n"]) == {3}
    assert (cells["trained"] == cells["predicted"]).all()
    row = cells[(cells["sigma_w2"] == 1.0) & (cells["depth"] == 15)].iloc[0]
    assert row["depth_scale"] == pytest.approx(21.76, abs=0.01) and row["threshold"] == pytest.approx(0.15)
    # 4 log-spaced points over [1, 3] and the critical point, where the curve is infinite
    assert len(theory) == 5 and theory["critical"].sum() == 1
    star = theory[theory["critical"]].iloc[0]
    assert star["sigma_w2"] == pytest.approx(CRITICAL, abs=1e-6) and math.isinf(star["depth_scale"])
    # the agreement part's values, one row per seed
    assert list(seeds["seed"]) == [0, 1, 2] and (seeds["theory"] == 1.0).all()
    assert seeds["difference"].tolist() == pytest.approx([1 - best_cutoff_share(predicted_cells())] * 3)
    fig = figures.draw(figures.CLAIM_FIGURES["schoenholz2017"], tables)
    heatmap, pairs = fig.get_axes()[:2]
    assert heatmap.get_xlabel() == "σ_w² (log scale)" and heatmap.get_xscale() == "log"
    assert len(heatmap.collections) == 2  # the heatmap and the crosses
    assert len(heatmap.collections[1].get_offsets()) == 0  # everything agrees: no cross
    assert len(pairs.get_lines()) == 3  # a line per seed
    path = tmp_path / "claim.pdf"
    fig.savefig(path)
    assert path.read_bytes().startswith(b"%PDF-")


#: A tiny Schoenholz claim on digits: a test of the wiring, not of the claim.
TINY_SCHOENHOLZ = {
    "grid": {**TINY["grid"], "activations": ["tanh"], "optimizers": ["sgd"], "depths": [2, 30],
             "initializers": [spec(s, label=f"sw{s:g}") for s in (1.0, 1.76, 3.0)], "seeds": [0, 1]},
    "training": TINY["training"],
    "claim": {
        "hypothesis": "Trainable iff depth < 6 xi_c (tiny).",
        "source": {"paper": "Schoenholz et al. 2017"},
        "statistic": "schoenholz2017",
        # at depth 30 the theory leaves 2 of the 3 sigma_w2 trainable: a peak depth at 0.7
        "params": {"curve_points": 3, "peak_share": 0.7},
        "rules": {"agreement": {"direction": "greater", "min_effect": 0.05},
                  "peak_at_critical": {"direction": "less", "min_effect": 0.75}},
    },
}
