"""Every analysis table of a study, computed once from the tidy and statistics tables
and written as CSV: what the figures draw and the paper typesets.

``results/analysis/<name>.csv`` for each name of :data:`TABLES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from initstudy.analysis.accuracy import accuracy_table
from initstudy.analysis.best import best_initializers
from initstudy.analysis.curves import learning_curves
from initstudy.analysis.depth import depth_frame, depth_summary
from initstudy.analysis.guideline import guideline_frame
from initstudy.analysis.overview import overview
from initstudy.analysis.power import power_table
from initstudy.analysis.ranks import rank_summary
from initstudy.analysis.signal_profile import signal_profiles
from initstudy.analysis.trainability import signal_trainability, spearman_table
from initstudy.analysis.weight_choice import weight_runs
from initstudy.core.atomic import write_text
from initstudy.study.paths import ANALYSIS_TABLES, STATS_TABLES



class Inputs(NamedTuple):
    """What the analysis reads: the tidy tables, the statistics tables and two settings."""

    runs: pd.DataFrame
    history: pd.DataFrame
    signal: pd.DataFrame
    weights: pd.DataFrame
    stats: dict[str, pd.DataFrame]
    diverged_policy: str
    alpha: float


def read_csv(path: str | Path) -> pd.DataFrame:
    """A CSV table of the study (``reject`` and ``with_best`` as nullable booleans,
    empty fields as NaN)."""
    return pd.read_csv(path, dtype={"reject": "boolean", "with_best": "boolean"}, keep_default_na=False,
                       na_values=[""])


def read_table(path: str | Path) -> pd.DataFrame:
    """A table of the study: Parquet or CSV (:func:`read_csv`)."""
    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else read_csv(path)


def read_stats(stats_dir: str | Path) -> dict[str, pd.DataFrame]:
    return {name: read_csv(Path(stats_dir) / f"{name}.csv") for name in STATS_TABLES}


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
    "rank_summary": lambda i: rank_summary(i.stats["ranks"], i.stats["pairwise"]),
    "weight_runs": lambda i: weight_runs(i.runs, i.weights),
    "depth": lambda i: depth_frame(i.stats["friedman"], i.stats["bootstrap"]),
    "depth_summary": lambda i: depth_summary(depth_frame(i.stats["friedman"], i.stats["bootstrap"])),
    "guideline": lambda i: guideline_frame(i.stats["ranks"], i.stats["pairwise"]),
    "power": lambda i: power_table(i.stats["friedman"], i.stats["pairwise"], i.stats["ranks"], i.alpha),
    "overview": lambda i: overview(i.stats["friedman"], i.stats["pairwise"], best_initializers(i.stats["bootstrap"])),
}


if tuple(TABLES) != ANALYSIS_TABLES:  # the workflow names the outputs from initstudy.study.paths
    raise ImportError("initstudy.analysis.write.TABLES and initstudy.study.paths.ANALYSIS_TABLES differ")


def diverged_policy(tables: dict[str, pd.DataFrame]) -> str:
    """The one diverged-run policy the stats tables were computed with."""
    policies = set(tables["bootstrap"]["diverged_policy"])
    if len(policies) != 1:
        raise ValueError(f"the stats tables mix diverged policies {sorted(policies)}")
    return policies.pop()


def write_analysis(inputs: Inputs, out_dir: str | Path) -> list[Path]:
    """Compute every table of :data:`TABLES` and write ``<out_dir>/<name>.csv`` atomically."""
    written = []
    for name, compute in TABLES.items():
        path = Path(out_dir) / f"{name}.csv"
        write_text(path, compute(inputs).to_csv(index=False))
        written.append(path)
    return written
