"""The claims' figures, one per claim family, drawn from the tables ``initstudy claim``
wrote (``results/claims/<name>/<table>.csv``): every mean and interval is the analysis'
(BCa bootstrap over seeds), every bound the claim's rule.

- he2015: test accuracy per depth and initializer against chance and the rule's bounds;
  the activations' second moment per layer at init against the ratio the rule predicts;
- glorot2010: the back-propagated and the weight gradients per layer at init, relative
  to the top layer; the mean activation of each hidden layer per epoch (sigmoid).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from initstudy.analysis.settings import select, settings
from initstudy.figures import style
from initstudy.figures.style import STYLE

#: Reference lines: (colour, dashes, label).
CHANCE = ("0.35", (4, 2), "chance")
TRAINS_BOUND = ("tab:green", (6, 2), "claim's bound: trains")
CHANCE_BOUND = ("tab:green", (1, 1.5), "claim's bound: at chance")
PREDICTED = ("0.2", (2, 2), "predicted")
#: Sideways spread of the initializers' points at one depth (in depth steps).
DODGE = 0.5


def _hline(ax, y: float, line: tuple, linewidth: float = 0.9) -> None:
    if np.isfinite(y):
        ax.axhline(y, color=line[0], dashes=line[1], linewidth=linewidth, zorder=0)


def _line_handle(line: tuple) -> Line2D:
    return Line2D([], [], color=line[0], dashes=line[1], linewidth=0.9, label=line[2])


def _errorbars(ax, rows: pd.DataFrame, x, s: dict) -> None:
    """Means with their interval as error bars (a mean without interval as a point)."""
    mean = rows["mean"].to_numpy(float)
    low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    err = np.vstack([np.where(np.isfinite(low), mean - low, 0), np.where(np.isfinite(high), high - mean, 0)])
    ax.errorbar(x, mean, yerr=err, color=s["color"], marker=s["marker"], linestyle="", capsize=1.5,
                elinewidth=0.8, markeredgecolor="w", markeredgewidth=0.5)


def _depth_axis(ax, depths: list[int]) -> None:
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlim(-0.6, len(depths) - 0.4)
    ax.set_xlabel("Depth")


def _accuracy_panels(subfig, accuracy: pd.DataFrame, styles: dict) -> None:
    """Mean test accuracy (%) per depth and initializer, one panel per setting, with
    chance and the rules' bounds."""
    table = style.in_percent(accuracy)
    table = table.assign(**{c: table[c] * 100 for c in ("chance", "trains_bound", "at_chance_bound")})
    panels = settings(table)
    depths = sorted(table["depth"].unique())
    offsets = dict(zip(styles, np.linspace(-DODGE / 2, DODGE / 2, len(styles)) if len(styles) > 1 else [0.0]))
    axes = subfig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (key, title) in zip(axes, panels):
        data = select(table, key)
        for label, s in styles.items():
            rows = data[data["initializer"] == label].sort_values("depth")
            if len(rows):
                x = [depths.index(d) + offsets[label] for d in rows["depth"]]
                _errorbars(ax, rows, x, s)
        _hline(ax, data["chance"].iloc[0], CHANCE)
        _hline(ax, data["at_chance_bound"].iloc[0], CHANCE_BOUND)
        _hline(ax, data["trains_bound"].iloc[0], TRAINS_BOUND)
        _depth_axis(ax, depths)
        ax.set_title(title)
    axes[0].set_ylabel("Test accuracy (%)")
    axes[0].set_ylim(bottom=0)


def _variance_panels(subfig, variance: pd.DataFrame, styles: dict) -> None:
    """E[a_l²] / E[a_1²] per hidden layer at init, mean and CI over seeds, one panel per
    arch and depth, log y, with the ratio the rule predicts."""
    keys = variance[["arch", "depth"]].drop_duplicates().sort_values(["arch", "depth"])
    axes = subfig.subplots(1, len(keys), sharey=True, squeeze=False)[0]
    positive = variance[variance["mean"] > 0]
    for ax, (arch, depth) in zip(axes, keys.itertuples(index=False)):
        data = positive[(positive["arch"] == arch) & (positive["depth"] == depth)]
        for label, s in styles.items():
            rows = data[data["initializer"] == label].sort_values("layer")
            if len(rows):
                rows = rows.assign(ci_low=rows["ci_low"].where(rows["ci_low"] > 0, rows["mean"]))
                style.band(ax, rows, "layer", s, max(1, int(depth) // 8))
                ax.plot(rows["layer"], rows["predicted"], color=PREDICTED[0], dashes=PREDICTED[1],
                        linewidth=0.9, zorder=0)
        ax.set(title=f"{arch}, depth {int(depth)}", xlabel="Hidden layer")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True))
    style.log_y_with_zero(axes[0], None)
    axes[0].set_ylabel("E[a²] / E[a²] at layer 1")


def draw_he2015(accuracy: pd.DataFrame, variance: pd.DataFrame) -> Figure:
    """He et al. 2015: accuracy per depth (top), the second moment per layer at init (bottom)."""
    styles = style.initializer_styles(accuracy["initializer"])
    handles = style.initializer_handles(styles, lines=False) + [
        _line_handle(CHANCE), _line_handle(TRAINS_BOUND), _line_handle(CHANCE_BOUND), _line_handle(PREDICTED)]
    with matplotlib.rc_context(STYLE):
        fig = style.figure(2, 2.1, style.legend_rows(len(handles), 3))
        top, bottom = fig.subfigures(2, 1)
        _accuracy_panels(top, accuracy, styles)
        _variance_panels(bottom, variance, styles)
        style.figure_legend(fig, handles, ncols=3)
    return fig


def draw_glorot2010(gradients: pd.DataFrame, saturation: pd.DataFrame) -> Figure:
    """Glorot & Bengio 2010: back-propagated and weight gradients per layer at init,
    relative to the top hidden layer (top row); the mean activation of every hidden
    layer per epoch, one panel per initializer (bottom row)."""
    styles = style.initializer_styles(gradients["initializer"])
    with matplotlib.rc_context(STYLE):
        fig = style.figure(2, 2.1, 2)
        top, bottom = fig.subfigures(2, 1)
        axes = top.subplots(1, 2, sharey=True)
        titles = {"backprop": "Back-propagated gradient (estimate)", "weight": "Weight gradient ‖∂L/∂W‖"}
        for ax, (quantity, title) in zip(axes, titles.items()):
            data = gradients[gradients["quantity"] == quantity]
            for label, s in styles.items():
                rows = data[data["initializer"] == label]
                if len(rows):
                    style.band(ax, rows, "layer", s)
            ax.axhline(1, color="0.6", linewidth=0.6, zorder=0)
            ax.set(title=title, xlabel="Hidden layer")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        style.log_y_with_zero(axes[0], None)
        axes[0].set_ylabel("Relative to the top layer")
        panels = sorted(saturation["initializer"].unique())
        axes = bottom.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        layers = sorted(saturation["layer"].unique())
        colors = dict(zip(layers, sns.color_palette("viridis", len(layers))))
        for ax, label in zip(axes, panels):
            data = saturation[saturation["initializer"] == label]
            for layer in layers:
                rows = data[data["layer"] == layer].sort_values("epoch")
                ax.plot(rows["epoch"], rows["mean"], color=colors[layer], linewidth=1.6 if rows["top"].any() else 1)
                ax.fill_between(rows["epoch"], rows["ci_low"], rows["ci_high"], color=colors[layer],
                                alpha=style.BAND_ALPHA, linewidth=0)
            ax.set(title=f"{data['activation'].iloc[0]}, {label}", xlabel="Epoch (0 = init)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0].set_ylabel("Mean activation")
        handles = style.initializer_handles(styles)
        handles += [Line2D([], [], color=colors[layer], label=f"layer {layer}") for layer in layers]
        style.figure_legend(fig, handles, ncols=max(len(styles), len(layers)))
    return fig
