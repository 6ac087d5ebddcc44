"""He, Zhang, Ren & Sun (2015), *Delving deep into rectifiers*, §2.2 and Figure 3: in
plain ReLU networks 30 layers deep, the initialization that keeps the activations'
second moment constant layer to layer (He: Var W = 2 / fan_in) trains, while the
Glorot ("Xavier") initialization, which halves it at every layer (fan_in · Var W = 1
and a ReLU passes half the second moment), stalls.

Parts (one sub-claim per cell, i.e. dataset, arch, activation, optimizer and depth):

``trains``             the He initializer's test accuracy above chance (1 / classes);
``at_chance``          the same for each of the other initializers (``at_chance``);
``variance_halves``    under ``halves`` (Glorot), the per-layer ratio of the activations'
                       second moment at init, r = (q_L / q_1)^(1 / (L - 1)), the geometric
                       mean of q_(l+1) / q_l over the hidden layers (q_l = E[a_l²] on the
                       probe batch, ``activation_std² + activation_mean²`` of
                       ``signal.parquet`` at epoch 0); layer 1 is the first hidden layer,
                       so every ratio is of two square kernels;
``variance_constant``  the same under ``constant`` (He).

Accuracy: a diverged run scores chance. The ratio at init does not depend on the
optimizer; its value per seed is the mean over the optimizers' runs. With ``pool``
(e.g. ``[optimizer]``) every level of the pooled dimensions at every seed is one
value of the sub-claim (a larger design: 3 seeds × 2 optimizers give 6 values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register

PARAMS = {
    "trains": "he_normal",
    "at_chance": ["glorot_uniform", "lecun_normal", "random_normal-stddev0.01"],
    "halves": "glorot_uniform",
    "constant": "he_normal",
    "scale": "identity",
    "pool": [],
}
#: The per-layer ratio each variance part predicts when its rule gives no target (ReLU).
PREDICTED_RATIO = {"variance_halves": 0.5, "variance_constant": 1.0}
VARIANCE = "per-layer ratio of E[a^2] at init"


def _require(runs: pd.DataFrame, labels, key: str) -> None:
    missing = sorted(set(labels) - set(runs["initializer"]))
    if missing:
        raise ClaimError(f"claim.params.{key}: initializer(s) {missing} not in the study; "
                         f"it has {sorted(runs['initializer'].unique())}")


def layer_ratios(signal: pd.DataFrame) -> pd.DataFrame:
    """Per run at init: ``ratio`` = (q_L / q_1)^(1 / (L - 1)) (0 when the signal vanished
    below float range, NaN for a single hidden layer)."""
    init = signal[signal["epoch"] == 0].assign(q=common.second_moment)
    keys = ["run_id", *common.cells(init), "initializer", "seed"]
    rows = []
    for key, run in init.groupby(keys, sort=True):
        q = run.sort_values("layer")["q"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (q[-1] / q[0]) ** (1 / (len(q) - 1)) if len(q) > 1 and q[0] > 0 else np.nan
        rows.append({**dict(zip(keys, key)), "ratio": ratio})
    return pd.DataFrame(rows, columns=[*keys, "ratio"])


@register("he2015", parts={
    "trains": "test accuracy - chance",
    "at_chance": "test accuracy - chance",
    "variance_halves": VARIANCE,
    "variance_constant": VARIANCE,
}, params=PARAMS)
def he2015(tables, params) -> pd.DataFrame:
    runs = common.scored_runs(tables.runs)
    runs = runs.assign(excess=common.excess(runs, params["scale"]))
    cell, pool = common.cells(runs), common.check_pool(params["pool"], runs)
    _require(runs, [params["trains"]], "trains")
    _require(runs, params["at_chance"], "at_chance")
    parts = [
        common.per_seed(runs[runs["initializer"] == params["trains"]], [*cell, "initializer"], "excess", "trains",
                        pool),
        common.per_seed(runs[runs["initializer"].isin(params["at_chance"])], [*cell, "initializer"], "excess",
                        "at_chance", pool),
    ]
    ratios = layer_ratios(tables.signal)
    # the weights at init do not see the optimizer: its runs are averaged per seed, unless pooled
    at_init = [c for c in cell if c != "optimizer"]
    for part, key in (("variance_halves", "halves"), ("variance_constant", "constant")):
        chosen = ratios[ratios["initializer"] == params[key]]
        if len(chosen):
            parts.append(common.per_seed(chosen, [*at_init, "initializer"], "ratio", part, pool))
    return pd.concat(parts, ignore_index=True)


@figure_tables("he2015")
def he2015_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``accuracy``: mean test accuracy and CI per cell and initializer, with chance and
    the accuracies the ``trains`` and ``at_chance`` rules bound (NaN without a rule);
    ``variance``: q_l / q_1 per layer at init, mean and CI over seeds, under ``halves``
    and ``constant`` at each depth, with the ratio the rule predicts, r^(l-1)."""
    runs = common.scored_runs(tables.runs)
    cell = common.cells(runs)
    accuracy = common.intervals(runs, [*cell, "initializer"], "score")
    chance = runs.groupby([*cell, "initializer"], sort=True)["chance"].first().to_numpy()
    accuracy["chance"] = chance
    for part in ("trains", "at_chance"):
        bound = rules[part]["target"] + rules[part]["min_effect"] if part in rules else np.nan
        accuracy[f"{part}_bound"] = [common.accuracy_bound(c, bound, params["scale"]) if part in rules else np.nan
                                     for c in chance]
    init = tables.signal[tables.signal["epoch"] == 0].assign(q=common.second_moment)
    init = init[init["initializer"].isin([params["halves"], params["constant"]])]
    first = init[init["layer"] == 1].set_index("run_id")["q"]
    init = init.assign(relative=init["q"] / init["run_id"].map(first).to_numpy())
    at_init = [c for c in common.cells(init) if c != "optimizer"]
    seeds = init.groupby([*at_init, "initializer", "layer", "seed"], sort=True)["relative"].mean().reset_index()
    variance = common.intervals(seeds, [*at_init, "initializer", "layer"], "relative")
    predicted = {}
    for part, key in (("variance_halves", "halves"), ("variance_constant", "constant")):
        predicted[params[key]] = rules.get(part, {}).get("target", PREDICTED_RATIO[part])
    variance["predicted"] = variance["initializer"].map(predicted) ** (variance["layer"] - 1)
    return {"accuracy": accuracy, "variance": variance}
