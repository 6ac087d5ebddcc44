"""The symmetry control: a network whose weights are all zero never learns beyond chance.

With every kernel zero and an activation with φ(0) = 0 (ReLU, tanh, ...), every hidden
activation is 0, so the gradient of every kernel is 0 (the output kernel's is
a_Lᵀ δ = 0, the hidden ones' are multiplied by the zero kernels above them): only the
output bias learns, and the network predicts one class, whatever the depth. Any such
run above chance means the pipeline is broken (an initializer not applied, a run
mislabelled), not that the science is surprising.

Two checks:

- the claim (part ``at_chance``): per cell, the zeros runs' test accuracy above
  chance, one value per seed, tested by its rule like any claim;
- the control (:func:`violations`): *every* zeros run of *any* study, with an
  activation where φ(0) = 0, scores at most ``margin`` above chance (a diverged or
  unscored run is not a violation). It is no test: one run beyond the margin is a bug,
  and `initstudy claim` and `initstudy check-controls` exit non-zero naming its cell.

Activations with φ(0) ≠ 0 (sigmoid: ½) are outside the control: their zero network is
a network of identical units, in effect one unit wide, which can learn.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register

#: Labels of the initializers that set every weight to zero.
ZERO_LABELS = ("zeros", "constant-value0", "constant-value0.0")
#: Activations with φ(0) = 0, where a zero network cannot learn.
ZERO_AT_ZERO = ("relu", "leaky_relu", "tanh", "selu", "gelu", "linear")
#: How far above chance a zeros run may score before the control calls the pipeline broken.
MARGIN = 0.05
PARAMS = {"initializer": "zeros", "scale": "identity", "margin": MARGIN, "pool": []}


class ControlViolation(RuntimeError):
    """A control that failed: the pipeline, not the hypothesis, is wrong. One line per cell."""


def cell_name(row) -> str:
    """``mnist1d/mlp/relu/adam/d30``."""
    return f"{row['dataset']}/{row['arch']}/{row['activation']}/{row['optimizer']}/d{int(row['depth'])}"


def violations(runs: pd.DataFrame, margin: float = MARGIN) -> list[str]:
    """One message per cell whose zeros runs (activation with φ(0) = 0) score more than
    ``margin`` above chance: ``symmetry control violated: <cell>: ...``."""
    zeros = runs[runs["initializer"].isin(ZERO_LABELS) & runs["activation"].isin(ZERO_AT_ZERO)]
    if zeros.empty:
        return []
    zeros = common.scored_runs(zeros)
    zeros = zeros.assign(excess=zeros["score"] - zeros["chance"])
    bad = zeros[zeros["excess"] > margin]
    messages = []
    for _, cell in bad.groupby(["dataset", "arch", "activation", "optimizer", "depth"], sort=True):
        first = cell.iloc[0]
        seeds = ", ".join(str(int(s)) for s in sorted(cell["seed"]))
        worst = cell.loc[cell["excess"].idxmax()]
        messages.append(
            f"symmetry control violated: {cell_name(first)}: {first['initializer']} scored above chance + "
            f"{100 * margin:.1f} pp at seed(s) {seeds} (at most {100 * worst['score']:.1f} % test accuracy "
            f"against chance {100 * worst['chance']:.1f} %); a zero network cannot break its units' symmetry, "
            f"so the pipeline is broken")
    return messages


def control_table(runs: pd.DataFrame, margin: float = MARGIN) -> pd.DataFrame:
    """Per cell with zeros runs under the control: runs, the largest accuracy above
    chance, the margin, and whether the control holds (``ok``)."""
    columns = ["dataset", "arch", "activation", "optimizer", "depth", "initializer", "n_runs", "max_excess",
               "margin", "ok"]
    zeros = runs[runs["initializer"].isin(ZERO_LABELS) & runs["activation"].isin(ZERO_AT_ZERO)]
    if zeros.empty:
        return pd.DataFrame(columns=columns)
    zeros = common.scored_runs(zeros)
    zeros = zeros.assign(excess=zeros["score"] - zeros["chance"])
    table = zeros.groupby(columns[:6], sort=True).agg(n_runs=("excess", "size"), max_excess=("excess", "max"))
    table = table.reset_index().assign(margin=margin)
    table["ok"] = ~(table["max_excess"] > margin)
    return table[columns]


def check(runs: pd.DataFrame, margin: float = MARGIN) -> None:
    """Raise :class:`ControlViolation` with every violated cell's message."""
    messages = violations(runs, margin)
    if messages:
        raise ControlViolation("\n".join(messages))


@register("symmetry", parts={"at_chance": "test accuracy - chance"}, params=PARAMS)
def symmetry(tables, params) -> pd.DataFrame:
    runs = common.scored_runs(tables.runs)
    runs = runs[runs["initializer"] == params["initializer"]]
    if runs.empty:
        raise ClaimError(f"claim.params.initializer: {params['initializer']!r} not in the study; it has "
                         f"{sorted(tables.runs['initializer'].unique())}")
    runs = runs.assign(excess=common.excess(runs, params["scale"]))
    pool = common.check_pool(params["pool"], runs)
    return common.per_seed(runs, [*common.cells(runs), "initializer"], "excess", "at_chance", pool)


@figure_tables("symmetry")
def symmetry_tables(tables, params, rules) -> pd.DataFrame:
    """``runs``: every zeros run's test accuracy (diverged: chance) with chance, the
    bound of the ``at_chance`` rule as an accuracy, and the control's margin."""
    runs = common.scored_runs(tables.runs)
    runs = runs[runs["initializer"] == params["initializer"]]
    rule = rules.get("at_chance")
    bound = rule["target"] + rule["min_effect"] if rule else float("nan")
    out = runs[[*common.cells(runs), "initializer", "seed", "score", "chance"]].reset_index(drop=True)
    out["bound"] = [common.accuracy_bound(c, bound, params["scale"]) if rule else float("nan")
                    for c in out["chance"]]
    out["control"] = out["chance"] + params["margin"]
    return {"runs": out}
