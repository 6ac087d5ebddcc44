"""The figure of the Saxe et al. (2013) claim, drawn from the tables its family wrote
(:func:`initstudy.analysis.claims.families.saxe2013.saxe2013_tables`): one row per
setting (dataset, arch, activation, optimizer) of two panels,

- left: every run's time to the loss threshold (steps) against depth, a point per run
  (censored runs as open triangles at the time they were observed up to, a lower bound),
  and per initializer the least-squares line over all its runs with the confidence band
  of the mean time;
- right: each slope part's slope per seed (points), the pooled slope with the interval of
  the claim's rule (the verdict's), and the rule's claimed region: the band between the
  bounds of a ``within`` rule, the side of its bound that a ``greater`` or ``less`` rule
  claims.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from initstudy.figures import style
from initstudy.figures.style import STYLE

SETTING = ["dataset", "arch", "activation", "optimizer"]
#: The colour of the difference of slopes, which is no initializer's.
DIFFERENCE_COLOR = "0.3"
#: The rule's claimed region.
CLAIMED = ("tab:green", 0.15, "claim's region")
#: Sideways spread of a depth's points (in layers) and of a part's seed points.
JITTER_LAYERS, JITTER_PART = 0.8, 0.12


def _setting(table: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """The rows of ``table`` in the setting ``key`` (values of :data:`SETTING`)."""
    return table[np.logical_and.reduce([table[c] == v for c, v in zip(SETTING, key)])]


def _times_panel(ax, times: pd.DataFrame, lines: pd.DataFrame, styles: dict, rng) -> None:
    for label, s in styles.items():
        rows = times[times["initializer"] == label]
        x = rows["depth"].to_numpy(float) + rng.uniform(-JITTER_LAYERS, JITTER_LAYERS, len(rows))
        reached = rows["status"].to_numpy() != "censored"
        ax.scatter(x[reached], rows["fit_steps"].to_numpy(float)[reached], color=s["color"], marker=s["marker"],
                   s=12, alpha=0.75, edgecolors="w", linewidths=0.3, zorder=3)
        ax.scatter(x[~reached], rows["fit_steps"].to_numpy(float)[~reached], facecolors="none", marker="^",
                   edgecolors=s["color"], s=18, linewidths=0.8, zorder=3)
        line = lines[lines["initializer"] == label].sort_values("depth")
        ax.plot(line["depth"], line["mean"], color=s["color"], linestyle=style.linestyle(s), zorder=2)
        ax.fill_between(line["depth"], line["ci_low"], line["ci_high"], color=s["color"], alpha=style.BAND_ALPHA,
                        linewidth=0, zorder=1)
    ax.set(xlabel="Depth (hidden layers)", ylabel="Steps to the loss threshold")
    ax.set_ylim(bottom=0)


def _slopes_panel(ax, slopes: pd.DataFrame, colors: dict, rng) -> None:
    pooled = slopes[slopes["kind"] == "pooled"].reset_index(drop=True)
    values = pd.concat([slopes["slope"], *(pooled[c] for c in ("rule_low", "rule_high", "bound_low",
                                                                "bound_high"))]).to_numpy(float)
    values = values[np.isfinite(values)]
    span = max(np.ptp(values), 1e-9)
    bottom, top = values.min() - 0.1 * span, values.max() + 0.1 * span
    for i, row in pooled.iterrows():
        color = colors.get(row["initializer"], DIFFERENCE_COLOR)
        region = {"within": (row["bound_low"], row["bound_high"]), "greater": (row["bound_low"], top),
                  "less": (bottom, row["bound_high"])}.get(row["direction"])
        if region is not None:
            ax.fill_between([i - 0.4, i + 0.4], *region, color=CLAIMED[0], alpha=CLAIMED[1], linewidth=0)
        seeds = slopes[(slopes["kind"] == "seed") & (slopes["part"] == row["part"])]
        ax.scatter(i - 0.15 + rng.uniform(-JITTER_PART, JITTER_PART, len(seeds)), seeds["slope"], color=color,
                   s=9, alpha=0.7, edgecolors="none")
        if np.isfinite(row["rule_low"]) and np.isfinite(row["rule_high"]):
            ax.vlines(i + 0.15, row["rule_low"], row["rule_high"], color=color, linewidth=1.1)
        ax.plot([i + 0.15], [row["slope"]], color=color, marker="D", markersize=4, linestyle="")
    ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
    ax.set_ylim(bottom, top)
    ax.set_xticks(range(len(pooled)), [p.replace("_", "\n") for p in pooled["part"]])
    ax.set_xlim(-0.6, len(pooled) - 0.4)
    ax.set_ylabel("Slope (steps per layer)")


def draw_saxe2013(times: pd.DataFrame, lines: pd.DataFrame, slopes: pd.DataFrame) -> Figure:
    """Saxe et al. 2013: time to threshold against depth with the fitted lines (left), the
    slopes per seed and their rule's interval against its claimed region (right)."""
    styles = style.initializer_styles(times["initializer"])
    settings = list(times[SETTING].drop_duplicates().sort_values(SETTING).itertuples(index=False, name=None))
    rng = np.random.default_rng(0)  # the points' sideways jitter only
    handles = style.initializer_handles(styles) + [
        Line2D([], [], color="0.4", marker="^", markerfacecolor="none", linestyle="",
               label="never reached (observed up to)"),
        Line2D([], [], color="0.4", marker="D", linestyle="", label="pooled slope, rule's interval"),
        Patch(color=CLAIMED[0], alpha=CLAIMED[1] * 2, label=CLAIMED[2])]
    with matplotlib.rc_context(STYLE):
        fig = style.figure(len(settings), 2.4, style.legend_rows(len(handles), 3))
        axes = fig.subplots(len(settings), 2, squeeze=False, width_ratios=[3, 2])
        for (left, right), key in zip(axes, settings):
            _times_panel(left, _setting(times, key), _setting(lines, key), styles, rng)
            _slopes_panel(right, _setting(slopes, key), {k: s["color"] for k, s in styles.items()}, rng)
            left.set_title(", ".join(map(str, key)))
        style.figure_legend(fig, handles, ncols=3)
    return fig
