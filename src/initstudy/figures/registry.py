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
from initstudy.figures.claim_pennington2017 import draw_pennington2017
from initstudy.figures.claim_saxe2013 import draw_saxe2013
from initstudy.figures.claim_schoenholz2017 import draw_schoenholz2017
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
#: Claim statistic -> its drawing function, which takes the tables of
#: :data:`~initstudy.figures.catalog.CLAIM_FIGURE_TABLES` positionally.
CLAIM_DRAWERS: dict[str, Callable[..., Figure]] = {
    "he2015": draw_he2015,
    "glorot2010": draw_glorot2010,
    "symmetry": draw_symmetry,
    "pennington2017": draw_pennington2017,
    "schoenholz2017": draw_schoenholz2017,
    "saxe2013": draw_saxe2013,
}
if set(CLAIM_DRAWERS) != set(CLAIM_FIGURE_TABLES):
    raise ImportError(f"claim statistics without a drawer or tables: "
                      f"{sorted(set(CLAIM_DRAWERS) ^ set(CLAIM_FIGURE_TABLES))}")


def draw(name: str, tables: dict[str, pd.DataFrame]) -> Figure:
    """The study's figure ``name`` (a file name of :data:`FIGURES`) from ``tables`` (name -> frame)."""
    return DRAWERS[name](*(tables[t] for t in FIGURE_TABLES[name]))


def draw_claim(statistic: str, tables: dict[str, pd.DataFrame]) -> Figure:
    """The figure of a claim whose statistic is ``statistic`` from its ``tables`` (name -> frame)."""
    return CLAIM_DRAWERS[statistic](*(tables[t] for t in CLAIM_FIGURE_TABLES[statistic]))


def write(paths, table_paths: dict[str, str | Path], claim: str | None = None) -> list[Path]:
    """Draw each of ``paths`` from the tables at ``table_paths`` (name -> file, each
    read once with :func:`initstudy.analysis.write.read_table`) into that path: the
    study's figure its file name names (one of :data:`FIGURES`) or, with ``claim`` (a
    claim statistic), that claim's figure."""
    paths = [Path(p) for p in paths]
    if claim is not None and claim not in CLAIM_DRAWERS:
        raise ValueError(f"--claim {claim!r}: no claim statistic has a figure; expected one of "
                         f"{sorted(CLAIM_DRAWERS)}")
    unknown = [p.name for p in paths if claim is None and p.name not in DRAWERS]
    if unknown:
        raise ValueError(f"no figure named {unknown}; expected one of {sorted(DRAWERS)}")
    tables = {name: read_table(path) for name, path in table_paths.items()}
    for path in paths:
        save(draw_claim(claim, tables) if claim else draw(path.name, tables), path)
    return paths
