"""Which tables each figure draws, and drawing figures by file name.

:data:`DRAWERS` maps each figure's file name to its drawing function, which takes
the tables :data:`initstudy.figures.catalog.FIGURE_TABLES` names. :func:`write`
draws figures by file name from table files.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from initstudy.analysis.write import read_table
from initstudy.figures.catalog import CLAIM_FIGURE_TABLES, FIGURE_TABLES
from initstudy.figures.claims import draw_glorot2010, draw_he2015, draw_symmetry
from initstudy.figures.comparison import draw_heatmaps, draw_mean_ranks
from initstudy.figures.curves import draw_accuracy_vs_depth, draw_learning_curves
from initstudy.figures.signal import draw_signal_profile, draw_signal_vs_accuracy
from initstudy.figures.style import save
from initstudy.figures.theory import draw_theory_vs_measurement
from initstudy.figures.weights import draw_weight_histograms


#: Figure file name -> its drawing function, which takes the tables of
#: :data:`~initstudy.figures.catalog.FIGURE_TABLES` positionally.
DRAWERS: dict[str, Callable[..., Figure]] = {
    "learning_curves.pdf": draw_learning_curves,
    "accuracy_vs_depth.pdf": draw_accuracy_vs_depth,
    "activation_std_at_init.pdf": partial(draw_signal_profile, metric="activation_std"),
    "grad_norm_at_init.pdf": partial(draw_signal_profile, metric="grad_norm"),
    "signal_vs_accuracy.pdf": draw_signal_vs_accuracy,
    "heatmaps.pdf": draw_heatmaps,
    "mean_ranks.pdf": draw_mean_ranks,
    "weight_histograms.pdf": draw_weight_histograms,
    "theory_vs_measurement.pdf": draw_theory_vs_measurement,
}
if set(DRAWERS) != set(FIGURE_TABLES):
    raise ImportError(f"figures without a drawer or tables: {sorted(set(DRAWERS) ^ set(FIGURE_TABLES))}")
#: Every figure, in the catalog's order.
FIGURES = tuple(FIGURE_TABLES)
#: Claim figure file name -> its family's drawing function (tables as for :data:`DRAWERS`).
CLAIM_DRAWERS: dict[str, Callable[..., Figure]] = {
    "claim_he2015.pdf": draw_he2015,
    "claim_he2015_cnn.pdf": draw_he2015,
    "claim_glorot2010.pdf": draw_glorot2010,
    "claim_symmetry.pdf": draw_symmetry,
}
if set(CLAIM_DRAWERS) != set(CLAIM_FIGURE_TABLES):
    raise ImportError(f"claim figures without a drawer or tables: "
                      f"{sorted(set(CLAIM_DRAWERS) ^ set(CLAIM_FIGURE_TABLES))}")
#: Every claim figure, in the catalog's order.
CLAIM_FIGURES = tuple(CLAIM_FIGURE_TABLES)
_ALL_DRAWERS = {**DRAWERS, **CLAIM_DRAWERS}
_ALL_TABLES = {**FIGURE_TABLES, **CLAIM_FIGURE_TABLES}


def draw(name: str, tables: dict[str, pd.DataFrame]) -> Figure:
    """The figure ``name`` (a study or claim figure) from ``tables`` (name -> frame)."""
    return _ALL_DRAWERS[name](*(tables[t] for t in _ALL_TABLES[name]))


def write(paths, table_paths: dict[str, str | Path]) -> list[Path]:
    """Draw each of ``paths`` (its file name one of :data:`FIGURES`) from the tables
    at ``table_paths`` (name -> file, each read once with
    :func:`initstudy.analysis.write.read_table`) into that path."""
    paths = [Path(p) for p in paths]
    unknown = [p.name for p in paths if p.name not in _ALL_TABLES]
    if unknown:
        raise ValueError(f"no figure named {unknown}; expected one of {sorted(_ALL_TABLES)}")
    tables = {name: read_table(path) for name, path in table_paths.items()}
    for path in paths:
        save(draw(path.name, tables), path)
    return paths
