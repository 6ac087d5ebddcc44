"""Training figures: learning curves per epoch, and the final score against depth.

Both draw precomputed means and confidence intervals (the analysis' BCa bootstrap
over seeds): the ``curves`` analysis table and the ``bootstrap`` statistics table.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from initstudy.analysis.settings import select, setting_columns, settings
from initstudy.figures import style
from initstudy.figures.style import STYLE

#: Metric of the ``curves`` table -> the y label of its block; accuracy in percent.
CURVE_METRICS = {
    "val_accuracy": "Validation accuracy (%)",
    "val_loss": "Validation loss (nats)",
}
PERCENT_METRICS = ("val_accuracy",)
#: Width (in depth steps) over which the initializers' points are spread sideways.
DODGE = 0.4


def _curve_block(subfig, curves: pd.DataFrame, metric: str, styles: dict[str, dict]) -> None:
    """One metric's panels: depths as rows, settings as columns, shared axes."""
    rows = curves[curves["metric"] == metric]
    depths = sorted(curves["depth"].unique())
    columns = settings(curves)
    markevery = max(1, int(curves["epoch"].max()) // 8)
    axes = subfig.subplots(len(depths), len(columns), sharex=True, sharey=True, squeeze=False)
    for col, (key, title) in enumerate(columns):
        setting = select(rows, key, setting_columns(curves))
        for row, depth in enumerate(depths):
            ax = axes[row, col]
            panel = setting[setting["depth"] == depth]
            for label, s in styles.items():
                lines = panel[panel["initializer"] == label]
                if len(lines):
                    style.band(ax, lines, "epoch", s, markevery)
            ax.set(xlabel="", ylabel="")
            if row == 0:
                ax.set_title(title)
            if col == len(columns) - 1:
                style.margin_title(ax, f"depth {depth}")
    if metric == "val_loss" and style.log_scale_helps(pd.concat([rows["mean"], rows["ci_low"], rows["ci_high"]])):
        style.log_y(axes[0, 0])
    subfig.supxlabel("Epoch", fontsize=STYLE["axes.labelsize"])
    style.supylabel(subfig, CURVE_METRICS[metric])


def draw_learning_curves(curves: pd.DataFrame) -> Figure:
    """Validation accuracy and loss per epoch, mean and CI over seeds, per initializer
    (the ``curves`` analysis table).

    One block of panels per metric (depths as rows, settings as columns); the two
    blocks sit side by side while there are at most two settings, else stacked. The
    loss axis is logarithmic when its values span more than a factor of ten. Epochs
    after a run diverged have no values, so late means cover the seeds still
    training.
    """
    percent = curves["metric"].isin(PERCENT_METRICS)
    curves = pd.concat([style.in_percent(curves[percent]), curves[~percent]])
    styles = style.initializer_styles(curves["initializer"])
    side_by_side = len(settings(curves)) <= 2
    n_depths = curves["depth"].nunique()
    with matplotlib.rc_context(STYLE):
        fig = style.figure(n_depths * (1 if side_by_side else 2), 1.3, style.legend_rows(len(styles)))
        blocks = fig.subfigures(*((1, 2) if side_by_side else (2, 1)))
        for subfig, metric in zip(blocks, CURVE_METRICS):
            _curve_block(subfig, curves, metric, styles)
        style.legend(fig, styles)
    return fig


def _depth_panel(ax, cells: pd.DataFrame, depths: list, styles: dict[str, dict]) -> None:
    """Mean score per depth (at positions 0, 1, ...) with CI error bars, one series per
    initializer, dodged sideways so the bars do not overlap."""
    offsets = dict(zip(styles, np.linspace(-DODGE / 2, DODGE / 2, len(styles)) if len(styles) > 1 else [0.0]))
    position = {depth: i for i, depth in enumerate(depths)}
    for label, s in styles.items():
        rows = cells[cells["initializer"] == label].sort_values("depth")
        x = rows["depth"].map(position).to_numpy(float) + offsets[label]
        ax.plot(x, rows["mean"], color=s["color"], marker=s["marker"], linestyle=style.linestyle(s),
                linewidth=1.0, markersize=3.5, markeredgecolor="w", markeredgewidth=0.75, zorder=3)
        # the bar spans the interval whatever the mean: bounds drawn as centre ± half-width
        centre, half = (rows["ci_low"] + rows["ci_high"]) / 2, (rows["ci_high"] - rows["ci_low"]) / 2
        ax.errorbar(x, centre, yerr=half, fmt="none", ecolor=s["color"], elinewidth=1.0, capsize=2.0,
                    capthick=1.0, zorder=2)
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlim(-0.5, len(depths) - 0.5)
    ax.set(xlabel="Depth (hidden layers)", ylabel="")


def draw_accuracy_vs_depth(bootstrap: pd.DataFrame) -> Figure:
    """Mean final test accuracy against depth per initializer, with the CI over seeds
    (the ``bootstrap`` statistics table: diverged runs scored by the study's policy).

    One panel per setting (activation, and dataset/architecture/optimizer when they
    vary), at most three per row; initializers are dodged sideways so their error
    bars do not overlap. Cells without a score are left out.
    """
    cells = style.in_percent(bootstrap)
    styles = style.initializer_styles(cells["initializer"])
    depths = sorted(cells["depth"].unique())
    panels = settings(cells)
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 2.2, style.legend_rows(len(styles)))
        for ax, (key, title) in zip(axes, panels):
            _depth_panel(ax, select(cells, key).dropna(subset=["mean"]), depths, styles)
            ax.set_title(title)
        style.supylabel(fig, "Test accuracy (%)")
        style.legend(fig, styles)
    return fig
