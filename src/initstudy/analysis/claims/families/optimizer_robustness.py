"""Seed 002 of the project: adaptive optimizers such as Adam and RMSprop "often prov[e]
more robust than standard SGD, especially when combined with appropriate weight
initialization". Read as a statement about initializers: after each initializer gets
its own tuned learning rate, the choice of initializer matters less under Adam and
RMSprop than under SGD (with momentum, the baseline), i.e. the spread of tuned test
accuracy across initializers is smaller.

Tuning (:mod:`initstudy.analysis.tuning`): for each cell (dataset, arch, activation,
optimizer, depth, width) and initializer i, the rate with the highest mean final
*validation* accuracy over the selection seeds,

    η*(cell, i) = argmax_η  mean_s val_score(cell, i, η, s)      (ties: the smaller rate),

and the tuned score of seed s is the test accuracy of that run at η*. The test set takes
no part in the choice. A diverged run scores chance (1 / classes) on validation and
test, the study's ``chance`` policy. A two-stage claim (``tuning.selection_seeds``) is
handed its runs already tuned (:func:`initstudy.analysis.claims.evaluate.compared_tables`:
chosen on the selection seeds, the evaluation seeds at η*), so the choice below finds
one rate per cell and initializer; a one-stage claim trains every rate at every seed
and is tuned here, over all its seeds.

The spread of optimizer o at depth d and seed s, over the study's initializers I:

    spread(o, d, s) = max_{i ∈ I} score(o, d, i, η*(o, d, i), s) − min_{i ∈ I} score(...),

and one value per seed of the sub-claim (robust optimizer r, depth d), paired by seed:

    value(r, d, s) = spread(baseline, d, s) − spread(r, d, s).

Part (one sub-claim per depth of ``depths`` and optimizer of ``robust``, per other cell
field the study has):

``narrower_spread``  value(r, d, s): the claim is a mean above the rule's bound (the
                     baseline's spread larger).

Every seed must have the same rates (every rate, one stage; the chosen one, two stages).
A seed enters a sub-claim only where both optimizers have a tuned score for every
initializer of the study (spreads over different sets of initializers are not
comparable). The spread is a range: it grows with the per-run noise as well as with the
initializers' differences, so an optimizer with noisier runs has a larger spread even
when the initializers do not differ; the pairing by seed (common data splits, batches
and initial weights per seed across optimizers) removes the seed's shared part only.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis import stats, tuning
from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, register
from initstudy.study.fields import CELL

PARAMS = {"robust": ["adam", "rmsprop"], "baseline": "momentum", "depths": [10, 30]}
#: How a diverged run scores, on validation (the choice) and test (the spread).
POLICY = "chance"
SPREAD = "spread of tuned test accuracy over initializers, baseline - robust optimizer"
#: The runs table's columns the family reads besides the cell's.
NEEDED = ("initializer", "seed", tuning.RATE, "val_accuracy", "test_accuracy", "diverged", "num_classes")


def _check(runs: pd.DataFrame, params: dict) -> None:
    missing = [c for c in (*CELL, *NEEDED) if c not in runs.columns]
    if missing:
        raise ClaimError(f"claim.statistic: optimizer_robustness reads the runs table's {missing}, which the "
                         f"study's runs table lacks")
    robust, baseline = list(params["robust"]), params["baseline"]
    if not robust:
        raise ClaimError("claim.params.robust: []; expected the optimizers to compare with the baseline")
    if baseline in robust:
        raise ClaimError(f"claim.params.robust: {robust} includes the baseline {baseline!r}; expected "
                         f"other optimizers")
    have = set(runs["optimizer"])
    for key, names in (("baseline", [baseline]), ("robust", robust)):
        if sorted(set(names) - have):
            raise ClaimError(f"claim.params.{key}: optimizer(s) {sorted(set(names) - have)} not in the study; "
                             f"it has {sorted(have)}")
    depths = sorted(set(int(d) for d in params["depths"]) - set(runs["depth"].astype(int)))
    if not params["depths"] or depths:
        raise ClaimError(f"claim.params.depths: {depths or []} not in the study (it has "
                         f"{sorted(runs['depth'].astype(int).unique())}); expected some of its depths")
    if runs["initializer"].nunique() < 2:
        raise ClaimError(f"claim.statistic: optimizer_robustness compares initializers; the study has "
                         f"{sorted(runs['initializer'].unique())}")


def _check_one_stage(runs: pd.DataFrame) -> None:
    """The choice sees the same rates at every seed (every rate, one stage; the chosen
    rate, a two-stage claim's compared runs): a cell and initializer whose seeds trained
    different sets of rates (a two-stage study's runs untuned, or runs missing) would
    compare rates over different seeds."""
    keys = [*CELL, "initializer"]
    per_seed = runs.groupby([*keys, "seed"], sort=True)[tuning.RATE].nunique().rename("at_seed").reset_index()
    per_seed = per_seed.merge(runs.groupby(keys)[tuning.RATE].nunique().rename("in_cell").reset_index(), on=keys)
    short = per_seed[per_seed["at_seed"] < per_seed["in_cell"]]
    if len(short):
        row = short.iloc[0]
        raise ClaimError(f"claim.statistic: optimizer_robustness tunes on every seed (one stage), but "
                         f"{common.label(row)} seed {row['seed']} has {row['at_seed']} of the cell's "
                         f"{row['in_cell']} learning rates ({len(short)} such seeds); expected every rate of "
                         f"grid.learning_rates at every seed, or a two-stage claim's compared runs")


def tuned_scores(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run at its cell and initializer's chosen rate (chosen on validation over all
    seeds), with ``score`` (test accuracy, diverged: chance)."""
    chosen = tuning.choose_rates(runs, POLICY)
    return stats.scored(tuning.tuned_runs(runs, chosen), POLICY)


def spreads(scored: pd.DataFrame) -> pd.DataFrame:
    """Per cell and seed: ``spread`` (max − min score over initializers) where every
    initializer of the study has a score at that seed."""
    keys = [*common.cells(scored), "seed"]
    complete = scored["initializer"].nunique()
    table = scored.groupby(keys, sort=True).agg(high=("score", "max"), low=("score", "min"),
                                                n=("score", "count")).reset_index()
    table = table[table["n"] == complete]
    return table.assign(spread=table["high"] - table["low"])[[*keys, "spread"]]


def _name(row: dict, columns: list[str]) -> str:
    """``mlp relu d10`` (``mnist1d mlp relu d10 w64`` where dataset and width vary)."""
    name = common.label(row, [c for c in columns if c != "width"])
    return f"{name} w{int(row['width'])}" if "width" in columns else name


@register("optimizer_robustness", parts={"narrower_spread": SPREAD}, params=PARAMS)
def optimizer_robustness(tables, params) -> pd.DataFrame:
    runs = tables.runs
    _check(runs, params)
    _check_one_stage(runs)
    runs = runs[runs["depth"].astype(int).isin([int(d) for d in params["depths"]])]
    spread = spreads(tuned_scores(runs))
    cell = [c for c in common.cells(spread) if c != "optimizer"]
    baseline = spread[spread["optimizer"] == params["baseline"]].drop(columns="optimizer")
    # a sub-claim's name: arch, activation and depth, and the dataset and width where they vary
    named = [c for c in cell if c in ("arch", "activation", "depth") or spread[c].nunique() > 1]
    frames = []
    for robust in params["robust"]:
        other = spread[spread["optimizer"] == robust].drop(columns="optimizer")
        paired = baseline.merge(other, on=[*cell, "seed"], suffixes=("_baseline", "_robust"))
        for depth in params["depths"]:
            if not (paired["depth"] == int(depth)).any():
                raise ClaimError(f"claim.params: at depth {depth} no seed has tuned scores of every initializer "
                                 f"under both {params['baseline']!r} and {robust!r}")
        paired = paired.assign(value=paired["spread_baseline"] - paired["spread_robust"],
                               optimizer=f"{params['baseline']}-{robust}", part="narrower_spread")
        paired["subclaim"] = [f"{_name(row, named)}: {params['baseline']} - {robust}"
                              for row in paired.to_dict("records")]
        frames.append(paired)
    return pd.concat(frames, ignore_index=True)
