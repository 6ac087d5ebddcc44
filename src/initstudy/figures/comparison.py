"""Comparison figures: heatmaps of score and divergence per initializer and depth, and
the mean-rank (critical-difference style) diagram.

They draw the ``bootstrap`` and ``divergence`` statistics tables and the
``rank_summary`` analysis table.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from initstudy.analysis.ranks import POOLED
from initstudy.analysis.settings import select, settings
from initstudy.figures import style
from initstudy.figures.style import STYLE

#: (table, column, panel title, colour map) of the two heatmaps.
HEATMAPS = (
    ("bootstrap", "mean", "test accuracy (%)", "viridis"),
    ("divergence", "rate", "diverged (%)", "rocket_r"),
)


def draw_heatmaps(bootstrap: pd.DataFrame, divergence: pd.DataFrame) -> Figure:
    """Mean final test accuracy (``bootstrap`` table: the mean over seeds with
    diverged runs scored by the stats' policy) and divergence rate (``divergence``
    table), per initializer (rows) and depth (columns), in percent.

    One row of two heatmaps per setting; each quantity has one colour scale for all
    settings (accuracy from its lowest to its highest mean, divergence 0-100 %).
    """
    tables = {"bootstrap": bootstrap, "divergence": divergence}
    labels = sorted(bootstrap["initializer"].unique())
    panels = settings(bootstrap)
    limits = {"mean": (bootstrap["mean"].min() * 100, bootstrap["mean"].max() * 100), "rate": (0, 100)}
    with matplotlib.rc_context(STYLE):
        fig = style.figure(len(panels), 0.22 * len(labels) + 0.55, 2)
        axes = fig.subplots(len(panels), len(HEATMAPS), squeeze=False)
        for row, (key, title) in enumerate(panels):
            for col, (table, column, what, cmap) in enumerate(HEATMAPS):
                grid = select(tables[table], key).pivot(index="initializer", columns="depth", values=column)
                ax = axes[row, col]
                sns.heatmap(
                    grid.reindex(labels) * 100,
                    vmin=limits[column][0],
                    vmax=limits[column][1],
                    cmap=cmap,
                    annot=True,
                    fmt=".0f",
                    cbar=False,
                    linewidths=0.5,
                    annot_kws={"fontsize": STYLE["font.size"]},
                    ax=ax,
                )
                ax.set(title=f"{title}: {what}", ylabel="", xlabel="Depth" if row == len(panels) - 1 else "")
                ax.tick_params(length=0)
                if col:
                    ax.set_yticklabels([])
        for col, (_, _, what, _) in enumerate(HEATMAPS):
            fig.colorbar(
                axes[0, col].collections[0], ax=axes[:, col], location="bottom", shrink=0.8, aspect=40, label=what
            )
    return fig


def _rows(rank_summary: pd.DataFrame) -> list[str]:
    """The diagram's rows: the depths in increasing order, then the pooled row."""
    depths = {d for d in rank_summary["depth"].astype(str) if d != POOLED}
    return [*sorted(depths, key=int), POOLED]


def draw_mean_ranks(rank_summary: pd.DataFrame) -> Figure:
    """Mean Friedman rank (1 = best) of each initializer per depth, and over depths,
    one panel per setting: a critical-difference style diagram (the ``rank_summary``
    analysis table).

    At each depth a grey bar spans the ranks of the best initializer (the study's one
    definition, :mod:`initstudy.analysis.best`: the highest mean score, whatever its
    rank) and of those it does not beat significantly (Holm-corrected Wilcoxon;
    ``with_best``); the bottom
    row, "all", pools the depths (no test). Points of equal rank are spread
    vertically, in the initializers' sorted order.
    """
    table = rank_summary.assign(depth=rank_summary["depth"].astype(str))
    styles = style.initializer_styles(table["initializer"])
    panels = settings(table)
    rows = _rows(table)
    offsets = dict(zip(styles, np.linspace(-0.25, 0.25, len(styles))))
    k = len(styles)
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 0.35 * len(rows) + 0.7, style.legend_rows(len(styles)))
        for ax, (key, title) in zip(axes, panels):
            setting = select(table, key).dropna(subset=["mean_rank"])
            for y, row in enumerate(rows):
                cell = setting[setting["depth"] == row]
                group = cell.loc[cell["with_best"].fillna(False).astype(bool), "mean_rank"]
                if row != POOLED and len(group):
                    ax.plot([group.min(), group.max()], [y, y], color="0.8", linewidth=5,
                            solid_capstyle="round", zorder=1)
                for label, rank in zip(cell["initializer"], cell["mean_rank"]):
                    s = styles[label]
                    ax.plot(rank, y + offsets[label], marker=s["marker"], color=s["color"], linestyle="", zorder=2)
            ax.axhline(len(rows) - 1.5, color="0.6", linewidth=0.6)
            ax.set_yticks(range(len(rows)), rows)
            ax.set(title=title, xlim=(0.6, k + 0.4), ylim=(len(rows) - 0.4, -0.6), xlabel="Mean rank (1 = best)")
            ax.set_xticks(range(1, k + 1))
        axes[0].set_ylabel("Depth")
        style.legend(fig, styles, lines=False)
    return fig
