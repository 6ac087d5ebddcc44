"""Every analysis table of a study, computed once from the tidy and statistics tables:
what the figures draw and the paper typesets (``results/analysis/<name>.csv``, as
:mod:`initstudy.study.catalog` names them).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import pandas as pd

from initstudy.analysis import stats
from initstudy.analysis.accuracy import accuracy_table
from initstudy.analysis.best import best_initializers
from initstudy.analysis.curves import learning_curves
from initstudy.analysis.depth import depth_frame, depth_summary
from initstudy.analysis.guideline import guideline_frame
from initstudy.analysis.overview import overview
from initstudy.analysis.power import power_effects, power_table
from initstudy.analysis.ranks import rank_summary
from initstudy.analysis.signal_profile import signal_profiles
from initstudy.analysis.trainability import signal_trainability, spearman_table
from initstudy.analysis.tuning import robustness_table, sensitivity_table
from initstudy.analysis.weight_choice import weight_runs


class Inputs(NamedTuple):
    """What the analysis reads: the tidy tables of the runs compared (each initializer at
    its chosen learning rate: ``initstudy tune``), the runs the choice saw
    (``tuning_runs``: every rate on the selection seeds, for the sensitivity to the
    rate), the statistics tables and the settings of the config's
    ``stats`` (diverged policy, alpha, equivalence margin) and ``tuning`` (robustness
    margin)."""

    runs: pd.DataFrame
    history: pd.DataFrame
    signal: pd.DataFrame
    weights: pd.DataFrame
    stats: dict[str, pd.DataFrame]
    diverged_policy: str
    alpha: float
    equivalence_margin: float
    tuning_runs: pd.DataFrame
    robustness_margin: float


def _trainability(i: Inputs) -> pd.DataFrame:
    return signal_trainability(i.signal, i.runs, i.diverged_policy)


#: Analysis table name -> how it is computed from the inputs.
TABLES: dict[str, Callable[[Inputs], pd.DataFrame]] = {
    "accuracy": lambda i: accuracy_table(i.runs, i.stats["bootstrap"], i.diverged_policy),
    "best": lambda i: best_initializers(i.stats["bootstrap"]),
    "curves": lambda i: learning_curves(i.history),
    "signal_profile": lambda i: signal_profiles(i.signal),
    "trainability": _trainability,
    "spearman": lambda i: spearman_table(_trainability(i)),
    "rank_summary": lambda i: rank_summary(i.stats["ranks"], i.stats["pairwise"], i.stats["bootstrap"]),
    "weight_runs": lambda i: weight_runs(i.runs, i.weights),
    "depth": lambda i: depth_frame(i.stats["friedman"], i.stats["bootstrap"]),
    "depth_summary": lambda i: depth_summary(depth_frame(i.stats["friedman"], i.stats["bootstrap"])),
    "guideline": lambda i: guideline_frame(stats.scored(i.runs, i.diverged_policy), i.stats["bootstrap"],
                                           i.stats["pairwise"], i.alpha, i.equivalence_margin),
    "power": lambda i: power_table(i.stats["friedman"], i.stats["pairwise"], i.stats["ranks"], i.alpha),
    "power_effects": lambda i: power_effects(i.stats["friedman"], i.stats["pairwise"], i.stats["ranks"], i.alpha),
    "overview": lambda i: overview(i.stats["friedman"], i.stats["pairwise"], best_initializers(i.stats["bootstrap"])),
    "sensitivity": lambda i: sensitivity_table(i.tuning_runs, i.diverged_policy),
    "robustness": lambda i: robustness_table(sensitivity_table(i.tuning_runs, i.diverged_policy),
                                             i.robustness_margin),
}


def diverged_policy(tables: dict[str, pd.DataFrame]) -> str:
    """The one diverged-run policy the stats tables were computed with."""
    policies = set(tables["bootstrap"]["diverged_policy"])
    if len(policies) != 1:
        raise ValueError(f"the stats tables mix diverged policies {sorted(policies)}")
    return policies.pop()


def compute(inputs: Inputs) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES`, by name (the catalog's analysis tables: the CLI
    writes them with :func:`initstudy.core.table_io.write_tables`, which refuses a set of
    names other than the catalog's)."""
    return {name: table(inputs) for name, table in TABLES.items()}
