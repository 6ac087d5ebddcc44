"""Mean-field theory beside measurement: the pre-activation variance per layer of the
study's MLPs at initialization, predicted and measured.

Draws the analysis tables of :mod:`initstudy.analysis.theory`: ``theory_predicted``
(dataset, activation, initializer, layer, predicted), ``theory_measured`` (the same
curve and layer keys, median, low, high, runs) and ``theory`` (the stability table,
one row per curve, whose initializers give the styles).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from initstudy.figures import style
from initstudy.figures.style import STYLE

#: The networks compute in float32: smaller variances underflow to 0, larger overflow.
FLOAT32 = np.finfo(np.float32)
#: Legend entries per row (the initializers, then what lines, markers and bands are).
LEGEND_COLUMNS = 3


def _drawable(values: pd.Series) -> pd.Series:
    """Values a log axis can show (positive and finite); the others become NaN."""
    return values.where(np.isfinite(values) & (values > 0))


def _select(frame: pd.DataFrame, values: dict[str, str]) -> pd.DataFrame:
    mask = np.logical_and.reduce([frame[column] == v for column, v in values.items()])
    return frame[mask]


def _panel(ax, predicted: pd.DataFrame, measured: pd.DataFrame, styles: dict) -> None:
    """One panel: theory lines, measured median markers and range bands, log y."""
    depth = int(pd.concat([predicted["layer"], measured["layer"]]).max())
    for label, s in styles.items():
        line = predicted[predicted["initializer"] == label].sort_values("layer")
        ax.plot(line["layer"], _drawable(line["predicted"]), color=s["color"], ls=style.linestyle(s))
        runs = measured[measured["initializer"] == label].sort_values("layer")
        ax.fill_between(runs["layer"], _drawable(runs["low"]), _drawable(runs["high"]), color=s["color"],
                        alpha=0.15, lw=0)
        ax.plot(runs["layer"], _drawable(runs["median"]), ls="none", marker=s["marker"], mfc="none",
                color=s["color"], markevery=max(1, depth // 12))
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    low, high = max(low, float(FLOAT32.tiny)), min(high, float(FLOAT32.max))
    ax.set_ylim(low, high)
    if high < 100 * low:  # under two decades: plain labels at 1, 2 and 5 times 10^k
        style.log_y(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="major", lw=0.4, alpha=0.5)


def _legend(fig: Figure, styles: dict, silent: set[str]) -> None:
    """Initializers (those without any signal marked), then what lines, markers, bands are."""
    labels = {label: f"{label} (variance 0: not drawn)" for label in silent}
    grey = "0.35"
    handles = [
        *style.initializer_handles(styles, hollow=True, labels=labels),
        Line2D([], [], color=grey, label="mean-field theory"),
        Line2D([], [], color=grey, ls="none", marker="o", mfc="none", label="measured: median"),
        Patch(color=grey, alpha=0.3, lw=0, label="measured: range over runs"),
    ]
    style.figure_legend(fig, handles, ncols=LEGEND_COLUMNS)


def draw_theory_vs_measurement(predicted: pd.DataFrame, measured: pd.DataFrame, stability: pd.DataFrame) -> Figure:
    """Pre-activation variance against layer, one panel per (dataset, activation), log y.

    Lines: the mean-field prediction (``predicted``); markers and bands: the median and
    range over runs of the measurement (``measured``). Every initializer of the
    stability table gets the look it has in the other figures; one whose variance is 0
    everywhere is marked in the legend. The y axis stays within float32's normal
    range, where the networks can represent a variance at all.
    """
    styles = style.initializer_styles(stability["initializer"])
    panels = list(dict.fromkeys(zip(predicted["dataset"], predicted["activation"])))
    panels += [p for p in dict.fromkeys(zip(measured["dataset"], measured["activation"])) if p not in panels]
    titled = len({dataset for dataset, _ in panels}) > 1
    ncols = min(style.PANELS_PER_ROW, len(panels))
    legend_rows = style.legend_rows(len(styles) + 3, LEGEND_COLUMNS)
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 2.0, legend_rows, sharex=True, sharey=False)
        for ax, (dataset, activation) in zip(axes, panels):
            pick = {"dataset": dataset, "activation": activation}
            _panel(ax, _select(predicted, pick), _select(measured, pick), styles)
            ax.set_title(f"{dataset}, {activation}" if titled else activation)
        for k, ax in enumerate(axes):
            if k + ncols >= len(panels):  # the lowest panel of its column
                ax.set_xlabel(r"Layer $\ell$")
                ax.tick_params(labelbottom=True)
        style.supylabel(fig, r"Pre-activation variance $q_\ell$")
        values = pd.concat([predicted["predicted"], measured["median"]], keys=["p", "m"])
        labels = pd.concat([predicted["initializer"], measured["initializer"]], keys=["p", "m"])
        silent = set(styles) - set(labels[values != 0])
        _legend(fig, styles, silent & set(labels))
    return fig

