"""Learning-rate sensitivity: mean final validation accuracy against the learning rate.

It draws the ``sensitivity`` analysis table (:func:`initstudy.analysis.tuning.sensitivity_table`):
validation accuracy, because that is what the tuning chooses the rate on; the test set
takes no part in it.
"""

from __future__ import annotations

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from initstudy.analysis.settings import select, settings
from initstudy.figures import style
from initstudy.figures.style import STYLE


def _rate_panel(ax, rows: pd.DataFrame, styles: dict[str, dict]) -> None:
    """One line per initializer over the rates (log scale), the seeds' sd as a band."""
    for label, s in styles.items():
        line = rows[rows["initializer"] == label].sort_values("learning_rate")
        if line.empty:
            continue
        ax.plot(line["learning_rate"], line["val_mean"], color=s["color"], marker=s["marker"],
                linestyle=style.linestyle(s), linewidth=1.0, markersize=3.5, markeredgecolor="w",
                markeredgewidth=0.75, zorder=3)
        ax.fill_between(line["learning_rate"], line["val_mean"] - line["val_sd"].fillna(0),
                        line["val_mean"] + line["val_sd"].fillna(0), color=s["color"], alpha=0.15, linewidth=0)
    ax.set_xscale("log")
    rates = sorted(rows["learning_rate"].unique())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(rates, [f"{r:g}" for r in rates])
    ax.set(xlabel="Learning rate")


def draw_learning_rate_sensitivity(sensitivity: pd.DataFrame) -> Figure:
    """Mean final validation accuracy (%) against the learning rate per initializer, ± the
    sd over seeds; one panel per depth and setting (activation, and dataset/architecture/
    optimizer when they vary) that has runs, depth by depth."""
    table = style.in_percent(sensitivity, columns=("val_mean", "val_sd"))
    styles = style.initializer_styles(table["initializer"])
    panels = [(depth, key, title) for depth in sorted(table["depth"].unique()) for key, title in settings(table)
              if not select(table[table["depth"] == depth], key).empty]
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 2.0, style.legend_rows(len(styles)))
        for ax, (depth, key, title) in zip(axes, panels):
            _rate_panel(ax, select(table[table["depth"] == depth], key), styles)
            ax.set_title(f"{title}, depth {depth}")
        style.supylabel(fig, "Validation accuracy (%)")
        style.legend(fig, styles)
    return fig
