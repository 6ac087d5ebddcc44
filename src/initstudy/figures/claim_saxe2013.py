"""The figure of the Saxe et al. (2013) claim, drawn from the tables its family wrote
(:func:`initstudy.analysis.claims.families.saxe2013.saxe2013_tables`): one row per
setting (dataset, arch, activation, optimizer) of three panels,

- left: each compared run's time to the loss threshold (steps, log scale) against depth,
  every depth and initializer at its chosen rate (censored runs as open triangles at the
  time they were observed up to, a lower bound), and the median over seeds per
  initializer;
- middle (a mechanism check, not a sub-claim): the chosen rate against depth per
  initializer, on log-log axes, beside a line falling as 1 / depth through the
  orthogonal choice at the shallowest depth (the source's scaling of the best rate);
- right: each fitted-change part's value per seed (points), their mean with the interval
  of the claim's rule (the verdict's), and the rule's claimed region: the band between
  the bounds of a ``within`` rule, the side of its bound that a ``greater`` rule claims.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initstudy.figures import style
from initstudy.figures.style import STYLE

SETTING = ["dataset", "arch", "activation", "optimizer"]
#: The colour of the ratio, which is no initializer's.
RATIO_COLOR = "0.3"
#: The rule's claimed region.
CLAIMED = ("tab:green", 0.15, "claim's region")
#: Sideways spread of a depth's points (as a factor of depth, log axis) and of a part's seed points.
JITTER_DEPTH, JITTER_PART = 0.05, 0.12
#: Each part's label on the right panel.
PART_LABELS = {"orthogonal_flat": "orthogonal\n(flat)", "ratio_growth": "gaussian /\northogonal\n(grows)"}


def _setting(table: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """The rows of ``table`` in the setting ``key`` (values of :data:`SETTING`)."""
    return table[np.logical_and.reduce([table[c] == v for c, v in zip(SETTING, key)])]


def _times_panel(ax, times: pd.DataFrame, styles: dict, rng) -> None:
    compared = times[times["chosen"]]
    for label, s in styles.items():
        rows = compared[compared["initializer"] == label]
        x = rows["depth"].to_numpy(float) * np.exp(rng.uniform(-JITTER_DEPTH, JITTER_DEPTH, len(rows)))
        reached = rows["status"].to_numpy() != "censored"
        y = rows["fit_steps"].to_numpy(float)
        ax.scatter(x[reached], y[reached], color=s["color"], marker=s["marker"], s=12, alpha=0.75, edgecolors="w",
                   linewidths=0.3, zorder=3)
        ax.scatter(x[~reached], y[~reached], facecolors="none", marker="^", edgecolors=s["color"], s=18,
                   linewidths=0.8, zorder=3)
        median = rows.groupby("depth")["fit_steps"].median().sort_index()
        ax.plot(median.index, median.to_numpy(), color=s["color"], linestyle=style.linestyle(s), zorder=2)
    _depth_axis(ax, times["depth"])
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="Depth (hidden layers)", ylabel="Steps to the loss threshold\n(each at its chosen rate)")


def _depth_axis(ax, depths: pd.Series) -> None:
    """A log depth axis labelled at the study's depths."""
    ticks = np.sort(depths.unique()).astype(int)
    ax.set_xscale("log")
    ax.set_xticks(ticks, [str(d) for d in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _rates_panel(ax, rates: pd.DataFrame, styles: dict) -> None:
    chosen = rates[rates["chosen"]]
    grid = np.sort(rates["learning_rate"].unique())
    for label, s in styles.items():
        rows = chosen[chosen["initializer"] == label].sort_values("depth")
        ax.plot(rows["depth"], rows["learning_rate"], color=s["color"], marker=s["marker"], markersize=4,
                linestyle=style.linestyle(s), linewidth=0.9)
    anchor = chosen[chosen["depth"] == chosen["depth"].min()]["learning_rate"]
    if len(anchor):
        depths = np.sort(chosen["depth"].unique()).astype(float)
        ax.plot(depths, anchor.max() * depths.min() / depths, color="0.5", linestyle=":", linewidth=1.2,
                zorder=3)
    _depth_axis(ax, rates["depth"])
    ax.set_yscale("log")
    ax.set_yticks(grid, [f"{r:g}" for r in grid])
    ax.minorticks_off()
    ax.set(xlabel="Depth (hidden layers)", ylabel="Chosen learning rate")
    ax.set_title("mechanism check", fontsize="small")


def _changes_panel(ax, changes: pd.DataFrame, colors: dict) -> None:
    means = changes[changes["kind"] == "mean"].reset_index(drop=True)
    values = pd.concat([changes["value"], *(means[c] for c in ("ci_low", "ci_high", "bound_low",
                                                                "bound_high"))]).to_numpy(float)
    values = values[np.isfinite(values)]
    span = max(np.ptp(values), 1e-9) if len(values) else 1.0
    bottom = min(values.min() if len(values) else 0.0, 0.0) - 0.1 * span
    top = (values.max() if len(values) else 1.0) + 0.1 * span
    rng = np.random.default_rng(1)
    for i, row in means.iterrows():
        color = colors.get(row["part"], RATIO_COLOR)
        region = {"within": (row["bound_low"], row["bound_high"]), "greater": (row["bound_low"], top),
                  "less": (bottom, row["bound_high"])}.get(row["direction"])
        if region is not None:
            ax.fill_between([i - 0.4, i + 0.4], *region, color=CLAIMED[0], alpha=CLAIMED[1], linewidth=0)
        seeds = changes[(changes["kind"] == "seed") & (changes["part"] == row["part"])]
        ax.scatter(i - 0.15 + rng.uniform(-JITTER_PART, JITTER_PART, len(seeds)), seeds["value"], color=color,
                   s=9, alpha=0.7, edgecolors="none")
        if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
            ax.vlines(i + 0.15, row["ci_low"], row["ci_high"], color=color, linewidth=1.1)
        ax.plot([i + 0.15], [row["value"]], color=color, marker="D", markersize=4, linestyle="")
    ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
    ax.set_ylim(bottom, top)
    ax.set_xticks(range(len(means)), [PART_LABELS.get(p, p) for p in means["part"]], fontsize="small")
    ax.set_xlim(-0.6, len(means) - 0.4)
    ax.set_ylabel("Change of ln T, shallowest to deepest")


def draw_saxe2013(times: pd.DataFrame, rates: pd.DataFrame, changes: pd.DataFrame) -> Figure:
    """Saxe et al. 2013: time to threshold at each depth's chosen rate (left), the chosen
    rates against 1 / depth (middle), the per-seed changes over depth and their rule's
    interval against its claimed region (right)."""
    styles = style.initializer_styles(times["initializer"])
    colors = {"orthogonal_flat": styles.get("orthogonal", {}).get("color", RATIO_COLOR)}
    settings = list(times[SETTING].drop_duplicates().sort_values(SETTING).itertuples(index=False, name=None))
    rng = np.random.default_rng(0)  # the points' sideways jitter only
    handles = style.initializer_handles(styles) + [
        Line2D([], [], color="0.4", marker="^", markerfacecolor="none", linestyle="",
               label="never reached (observed up to)"),
        Line2D([], [], color="0.5", linestyle=":", label="rate falling as 1 / depth"),
        Line2D([], [], color="0.4", marker="D", linestyle="", label="mean of seeds, rule's interval"),
        Patch(color=CLAIMED[0], alpha=CLAIMED[1] * 2, label=CLAIMED[2])]
    with matplotlib.rc_context(STYLE):
        fig = style.figure(len(settings), 2.4, style.legend_rows(len(handles), 3))
        axes = fig.subplots(len(settings), 3, squeeze=False, width_ratios=[3, 2, 2])
        for (left, middle, right), key in zip(axes, settings):
            _times_panel(left, _setting(times, key), styles, rng)
            _rates_panel(middle, _setting(rates, key), styles)
            _changes_panel(right, _setting(changes, key), colors)
            left.set_title(", ".join(map(str, key)))
        style.figure_legend(fig, handles, ncols=3)
    return fig
