"""The figure of the Schoenholz et al. (2017) claim, as their Figure 5: the mean final
train accuracy over (sigma_w2, depth) as a heatmap, one panel per setting, with the
theory's trainable-depth curve L = multiple · xi_c(sigma_w2) over it and the critical
sigma_w2 marked. Cells where most seeds' trainability disagrees with the prediction
carry a cross, so the agreement part of the claim can be read off the picture."""

from __future__ import annotations

import matplotlib
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


def edges(values) -> np.ndarray:
    """Cell edges around sorted grid values: midpoints, the ends half a step out."""
    v = np.asarray(sorted(values), dtype=float)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def draw_schoenholz2017(trainability: pd.DataFrame, theory: pd.DataFrame) -> Figure:
    """Heatmap of the mean final train accuracy (%) per (sigma_w2, depth) with the curve
    L = multiple · xi_c (white), the critical sigma_w2 (dashed) and a cross on each cell
    whose majority trainability (share of seeds > 1/2) disagrees with the prediction."""
    settings = trainability[SETTING].drop_duplicates().sort_values(SETTING)
    multiple = (trainability["depth_scale"] / trainability["xi_c"]).iloc[0]
    handles = [Line2D([], [], label=f"L = {multiple:g} ξ_c (theory)", **CURVE),
               Line2D([], [], label="critical σ_w²", **CRITICAL),
               Line2D([], [], linestyle="", marker="x", color="tab:red", label="measured ≠ predicted")]
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(settings), 3.0, 1)
        top = 100 * trainability["accuracy"].max()
        for ax, setting in zip(axes, settings.itertuples(index=False)):
            key = dict(zip(SETTING, setting))
            cells = trainability[(trainability[SETTING] == pd.Series(key)).all(axis=1)]
            sw, depths = sorted(cells["sigma_w2"].unique()), sorted(cells["depth"].unique())
            grid = cells.pivot(index="depth", columns="sigma_w2", values="accuracy").reindex(
                index=depths, columns=sw)
            mesh = ax.pcolormesh(edges(sw), edges(depths), 100 * grid.to_numpy(float), cmap="viridis", rasterized=True,
                                 vmin=100 * cells["chance"].min(), vmax=top)
            wrong = cells[(cells["trained"] > 0.5) != cells["predicted"].astype(bool)]
            ax.scatter(wrong["sigma_w2"], wrong["depth"], zorder=3, **DISAGREE)
            curve = theory[(theory["activation"] == key["activation"])
                           & np.isclose(theory["sigma_b2"], key["sigma_b2"])].sort_values("sigma_w2")
            ax.plot(curve["sigma_w2"], curve["depth_scale"].clip(upper=10 * max(depths)), zorder=2, **CURVE)
            ax.axvline(curve["critical_sigma_w2"].iloc[0], zorder=2, **CRITICAL)
            ax.set(xlim=edges(sw)[[0, -1]], ylim=edges(depths)[[0, -1]], xlabel="σ_w²",
                   title=f"{key['activation']}, σ_b² = {key['sigma_b2']:.3g}, {key['optimizer']}")
            ax.set_xticks(sw, [f"{s:g}" for s in sw], rotation=90)
            ax.set_yticks(depths)
            fig.colorbar(mesh, ax=ax, label="Final train accuracy (%)")
        axes[0].set_ylabel("Depth L")
        style.figure_legend(fig, handles, ncols=3)
    return fig
