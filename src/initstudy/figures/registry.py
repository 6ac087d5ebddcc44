"""Which tables each figure draws, and drawing figures by file name.

:data:`FIGURES` maps each figure's file name (in the figures directory) to its
drawing function and the tables it takes, by the names the workflow gives them:
the analysis tables (``results/analysis/<name>.csv``: ``curves``,
``signal_profile``, ``trainability``, ``spearman``, ``rank_summary``,
``weight_runs``; and ``theory_predicted``, ``theory_measured``, ``theory``), the
statistics tables (``results/stats/<name>.csv``: ``bootstrap``, ``divergence``)
and the tidy ``weights`` table (``results/weights.parquet``). :func:`write` draws
figures by file name from table files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from initstudy.analysis.write import read_table
from initstudy.figures.comparison import draw_heatmaps, draw_mean_ranks
from initstudy.figures.curves import draw_accuracy_vs_depth, draw_learning_curves
from initstudy.figures.signal import draw_signal_profile, draw_signal_vs_accuracy
from initstudy.figures.style import save
from initstudy.figures.theory import draw_theory_vs_measurement
from initstudy.figures.weights import draw_weight_histograms


@dataclass(frozen=True)
class FigureSpec:
    """How to draw one figure: the function, the tables it takes (positionally, by
    name) and the options it takes as keywords (from the workflow's config)."""

    draw: Callable[..., Figure]
    tables: tuple[str, ...]
    options: tuple[str, ...] = field(default=())


#: File name (in the figures directory) -> how to draw it.
FIGURES: dict[str, FigureSpec] = {
    "learning_curves.pdf": FigureSpec(draw_learning_curves, ("curves",)),
    "accuracy_vs_depth.pdf": FigureSpec(draw_accuracy_vs_depth, ("bootstrap",)),
    "activation_std_at_init.pdf": FigureSpec(partial(draw_signal_profile, metric="activation_std"),
                                             ("signal_profile",)),
    "grad_norm_at_init.pdf": FigureSpec(partial(draw_signal_profile, metric="grad_norm"), ("signal_profile",)),
    "signal_vs_accuracy.pdf": FigureSpec(draw_signal_vs_accuracy, ("trainability", "spearman")),
    "heatmaps.pdf": FigureSpec(draw_heatmaps, ("bootstrap", "divergence")),
    "mean_ranks.pdf": FigureSpec(draw_mean_ranks, ("rank_summary",)),
    "weight_histograms.pdf": FigureSpec(draw_weight_histograms, ("weights", "weight_runs")),
    "theory_vs_measurement.pdf": FigureSpec(draw_theory_vs_measurement,
                                            ("theory_predicted", "theory_measured", "theory")),
}


def draw(name: str, tables: dict[str, pd.DataFrame], **options) -> Figure:
    """The figure ``name`` of :data:`FIGURES` from ``tables`` (name -> frame); options
    the figure does not take are ignored."""
    spec = FIGURES[name]
    return spec.draw(*(tables[t] for t in spec.tables), **{o: options[o] for o in spec.options})


def write(paths, table_paths: dict[str, str | Path], **options) -> list[Path]:
    """Draw each of ``paths`` (its file name a key of :data:`FIGURES`) from the tables
    at ``table_paths`` (name -> file, each read once with
    :func:`initstudy.analysis.write.read_table`) into that path."""
    paths = [Path(p) for p in paths]
    unknown = [p.name for p in paths if p.name not in FIGURES]
    if unknown:
        raise ValueError(f"no figure named {unknown}; expected one of {sorted(FIGURES)}")
    tables = {name: read_table(path) for name, path in table_paths.items()}
    for path in paths:
        save(draw(path.name, tables, **options), path)
    return paths
