"""Controls: checks that must hold for the study to mean anything. A control is no
claim: it has no verdict to count, it stops the build when it fails, and it is
reported in the paper's controls part, never among the claims.

The one control, ``symmetry``: a network whose weights are all zero never learns
beyond chance. With every kernel zero and an activation with φ(0) = 0 (ReLU, tanh,
...), every hidden activation is 0, so the gradient of every kernel is 0 (the output
kernel's is a_Lᵀ δ = 0, the hidden ones' are multiplied by the zero kernels above
them): only the output bias learns, and the network predicts one class, whatever the
depth. Any such run more than ``margin`` above chance means the pipeline is broken (an
initializer not applied, a run mislabelled), not that the science is surprising: one
run is enough, so the control is no test, and `initstudy check-controls` exits 3
naming the cell. A diverged or unscored run is no violation.

It runs on every study's own zeros runs (the main study's and each claim's) and on the
control studies a config lists under ``controls`` (``config/controls/<name>.yaml``, a
study with a ``control`` section), whose runs exist for it.

Replication, stated honestly: a zero network's output depends only on its output bias,
and the order of its data only on the seed, so its runs at one seed give the same
number whatever their activation or depth. The control's table counts the *distinct*
values (``n_distinct``) beside the runs: they are its real replicates.

Activations with φ(0) ≠ 0 (sigmoid: ½) are outside the control: their zero network is
a network of identical units, in effect one unit wide, which can learn.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from initstudy.analysis import stats

#: Labels of the initializers that set every weight to zero.
ZERO_LABELS = ("zeros", "constant-value0", "constant-value0.0")
#: Activations with φ(0) = 0, where a zero network cannot learn.
ZERO_AT_ZERO = ("relu", "leaky_relu", "tanh", "selu", "gelu", "linear")
#: How far above chance a zeros run may score before the control calls the pipeline broken.
MARGIN = 0.05
#: The checks a control config may name (``control.check``).
CHECKS = ("symmetry",)
#: Scores closer than this are one value (a test accuracy is a count over the test set).
DISTINCT_DIGITS = 9
CELL = ["dataset", "arch", "activation", "optimizer", "depth"]
#: Columns of a control's table: its row (``level`` = ``control``, every zeros run) first,
#: then one row per cell (``level`` = ``cell``).
CONTROL_COLUMNS = ["control", "check", "level", *CELL, "initializer", "n_runs", "n_seeds", "n_distinct",
                   "max_excess", "margin", "ok", "hypothesis", "source_paper", "source_figure"]


class ControlViolation(RuntimeError):
    """A control that failed: the pipeline, not the hypothesis, is wrong. One line per cell."""


class ControlError(ValueError):
    """A control that cannot be checked (it would check nothing); the message names why."""


def cell_name(row) -> str:
    """``mnist1d/mlp/relu/adam/d30``."""
    return f"{row['dataset']}/{row['arch']}/{row['activation']}/{row['optimizer']}/d{int(row['depth'])}"


def zeros_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The zeros runs under the control (activation with φ(0) = 0), scored (a diverged
    run scores chance) with ``excess``, their test accuracy above chance (1 / classes)."""
    zeros = runs[runs["initializer"].isin(ZERO_LABELS) & runs["activation"].isin(ZERO_AT_ZERO)]
    if zeros.empty:
        return zeros.assign(score=pd.Series(dtype=float), excess=pd.Series(dtype=float))
    zeros = stats.scored(zeros, "chance")
    return zeros.assign(excess=zeros["score"] - 1.0 / zeros["num_classes"])


def violations(runs: pd.DataFrame, margin: float = MARGIN) -> list[str]:
    """One message per cell whose zeros runs (activation with φ(0) = 0) score more than
    ``margin`` above chance: ``symmetry control violated: <cell>: ...``."""
    zeros = zeros_runs(runs)
    bad = zeros[zeros["excess"] > margin]
    messages = []
    for _, cell in bad.groupby(CELL, sort=True):
        first = cell.iloc[0]
        seeds = ", ".join(str(int(s)) for s in sorted(cell["seed"]))
        worst = cell.loc[cell["excess"].idxmax()]
        messages.append(
            f"symmetry control violated: {cell_name(first)}: {first['initializer']} scored above chance + "
            f"{100 * margin:.1f} pp at seed(s) {seeds} (at most {100 * worst['score']:.1f} % test accuracy "
            f"against chance {100 / worst['num_classes']:.1f} %); a zero network cannot break its units' "
            f"symmetry, so the pipeline is broken")
    return messages


def _summary(group: pd.DataFrame, margin: float) -> dict[str, Any]:
    return {"n_runs": len(group), "n_seeds": group["seed"].nunique(),
            "n_distinct": group["score"].round(DISTINCT_DIGITS).nunique(),
            "max_excess": float(group["excess"].max()), "margin": margin,
            "ok": not bool((group["excess"] > margin).any())}


def control_table(runs: pd.DataFrame, margin: float = MARGIN, name: str = "study",
                  control: dict[str, Any] | None = None) -> pd.DataFrame:
    """The symmetry control of ``runs`` (:data:`CONTROL_COLUMNS`): a row for all its zeros
    runs, then one per cell, each with its runs, seeds, distinct values, the largest
    accuracy above chance, the margin and whether the control holds (``ok``); empty when
    the runs have no zeros run. ``control`` (a control config's ``control`` section)
    names the hypothesis and the source."""
    zeros = zeros_runs(runs)
    if zeros.empty:
        return pd.DataFrame(columns=CONTROL_COLUMNS)
    control = control or {}
    source = control.get("source", {})
    described = {"control": name, "check": "symmetry",
                 "hypothesis": " ".join(control.get("hypothesis", "").split()),
                 "source_paper": source.get("paper", ""), "source_figure": source.get("figure", "")}
    rows = [{**described, "level": "control", **{c: "+".join(map(str, sorted(zeros[c].unique()))) for c in CELL},
             "initializer": "+".join(sorted(zeros["initializer"].unique())), **_summary(zeros, margin)}]
    for key, group in zeros.groupby([*CELL, "initializer"], sort=True):
        rows.append({**described, "level": "cell", **dict(zip([*CELL, "initializer"], key)),
                     **_summary(group, margin)})
    return pd.DataFrame(rows).reindex(columns=CONTROL_COLUMNS)


def check(runs: pd.DataFrame, margin: float = MARGIN) -> None:
    """Raise :class:`ControlViolation` with every violated cell's message."""
    messages = violations(runs, margin)
    if messages:
        raise ControlViolation("\n".join(messages))


def check_study(runs: pd.DataFrame, name: str, control: dict[str, Any]) -> pd.DataFrame:
    """A control study's table (its config's ``control`` section: ``check``, ``margin``),
    or :class:`ControlError` when its runs hold nothing the check could catch; the
    caller then calls :func:`check` (the table is written either way)."""
    if control.get("check", "symmetry") not in CHECKS:
        raise ControlError(f"control.check: {control.get('check')!r}; expected one of {', '.join(CHECKS)}")
    table = control_table(runs, control.get("margin", MARGIN), name, control)
    if table.empty:
        raise ControlError(f"control {name!r}: no zeros run with an activation where phi(0) = 0 "
                           f"({', '.join(ZERO_AT_ZERO)}); the symmetry control would check nothing")
    return table
