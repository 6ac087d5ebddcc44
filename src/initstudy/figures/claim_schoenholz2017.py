"""The figure of the Schoenholz et al. (2017) claim, as their Figure 5: the mean final
train accuracy over (sigma_w2, depth) as a heatmap, one panel per setting, with the
theory's trainable-depth curve L = multiple · xi_c(sigma_w2) over it and the critical
sigma_w2 marked. Cells where most seeds' trainability disagrees with the prediction
carry a cross. Beside each heatmap, the ``agreement`` part per seed: the share of the
seed's cells where the theory agrees with the measurement, and the share where the best
σ-blind depth cutoff (chosen on the seed's own runs) does, joined by a line per seed."""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from initstudy.figures import style
from initstudy.figures.style import STYLE

SETTING = ["dataset", "arch", "activation", "optimizer", "sigma_b2"]
#: The theory curve: white with a dark outline, visible on both ends of the colour map.
CURVE = {"color": "w", "linewidth": 1.6,
         "path_effects": [patheffects.Stroke(linewidth=2.8, foreground="0.15"), patheffects.Normal()]}
CRITICAL = {"color": "tab:red", "dashes": (4, 2), "linewidth": 1.0}
DISAGREE = {"marker": "x", "color": "tab:red", "s": 22, "linewidths": 1.0}
PAIR = {"color": "0.6", "linewidth": 0.8, "zorder": 2}


def edges(values, log: bool = False) -> np.ndarray:
    """Cell edges around sorted grid values: midpoints, the ends half a step out; with
    ``log``, the same in log scale (geometric midpoints), for a grid spaced evenly in log."""
    v = np.asarray(sorted(values), dtype=float)
    if log:
        return np.exp(edges(np.log(v)))
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _paired(ax, seeds: pd.DataFrame, multiple: float) -> None:
    """Per seed, the theory's agreement and the best σ-blind cutoff's, joined by a line;
    the seeds' cutoffs are written beside their baseline points (once per point)."""
    for row in seeds.itertuples(index=False):
        ax.plot([0, 1], [row.theory, row.baseline], **PAIR)
    for baseline, group in seeds.groupby("baseline"):
        cutoffs = ", ".join("all" if np.isinf(c) else f"L<{c:g}" for c in sorted(set(group["cutoff"])))
        ax.annotate(cutoffs, (1, baseline), xytext=(5, 0), textcoords="offset points", va="center",
                    fontsize="x-small", color="0.35")
    ax.scatter(np.zeros(len(seeds)), seeds["theory"], zorder=3, color="tab:blue", s=14)
    ax.scatter(np.ones(len(seeds)), seeds["baseline"], zorder=3, color="tab:orange", s=14)
    ax.set_xticks([0, 1], [f"L < {multiple:g} ξ_c", "best depth\ncutoff"])
    ax.set(xlim=(-0.4, 1.8), ylim=(min(0.5, seeds[["theory", "baseline"]].min().min() - 0.05), 1.02),
           ylabel="Share of cells agreeing", title=f"agreement per seed (n = {len(seeds)})")


def draw_schoenholz2017(trainability: pd.DataFrame, theory: pd.DataFrame, agreement: pd.DataFrame) -> Figure:
    """Per setting, left: a heatmap of the mean final train accuracy (%) per (sigma_w2,
    depth) with the curve L = multiple · xi_c (white), the critical sigma_w2 (dashed) and
    a cross on each cell whose majority trainability (share of seeds > 1/2) disagrees
    with the prediction; right: the agreement part's per-seed pairs (:func:`_paired`)."""
    settings = trainability[SETTING].drop_duplicates().sort_values(SETTING)
    multiple = (trainability["depth_scale"] / trainability["xi_c"]).iloc[0]
    handles = [Line2D([], [], label=f"L = {multiple:g} ξ_c (theory)", **CURVE),
               Line2D([], [], label="critical σ_w²", **CRITICAL),
               Line2D([], [], linestyle="", marker="x", color="tab:red", label="measured ≠ predicted")]
    with matplotlib.rc_context(STYLE):
        fig, panels = style.panel_grid(2 * len(settings), 3.0, 1, sharey=False)
        top = 100 * trainability["accuracy"].max()
        for ax, pair, setting in zip(panels[::2], panels[1::2], settings.itertuples(index=False)):
            key = dict(zip(SETTING, setting))
            cells = trainability[(trainability[SETTING] == pd.Series(key)).all(axis=1)]
            sw, depths = sorted(cells["sigma_w2"].unique()), sorted(cells["depth"].unique())
            grid = cells.pivot(index="depth", columns="sigma_w2", values="accuracy").reindex(
                index=depths, columns=sw)
            ax.set_xscale("log")
            mesh = ax.pcolormesh(edges(sw, log=True), edges(depths), 100 * grid.to_numpy(float), cmap="viridis",
                                 rasterized=True, vmin=100 * cells["chance"].min(), vmax=top)
            wrong = cells[(cells["trained"] > 0.5) != cells["predicted"].astype(bool)]
            ax.scatter(wrong["sigma_w2"], wrong["depth"], zorder=3, **DISAGREE)
            curve = theory[(theory["activation"] == key["activation"])
                           & np.isclose(theory["sigma_b2"], key["sigma_b2"])].sort_values("sigma_w2")
            ax.plot(curve["sigma_w2"], curve["depth_scale"].clip(upper=10 * max(depths)), zorder=2, **CURVE)
            ax.axvline(curve["critical_sigma_w2"].iloc[0], zorder=2, **CRITICAL)
            ax.set(xlim=edges(sw, log=True)[[0, -1]], ylim=edges(depths)[[0, -1]], xlabel="σ_w² (log scale)",
                   title=f"{key['activation']}, σ_b² = {key['sigma_b2']:.3g}, {key['optimizer']}")
            ax.set_xticks(sw, [f"{s:.3g}" for s in sw], rotation=90)
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_yticks(depths)
            fig.colorbar(mesh, ax=ax, label="Final train accuracy (%)")
            ax.set_ylabel("Depth L")
            seeds = agreement[(agreement[SETTING] == pd.Series(key)).all(axis=1)].sort_values("seed")
            _paired(pair, seeds, multiple)
        style.figure_legend(fig, handles, ncols=3)
    return fig
