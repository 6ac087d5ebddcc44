"""Weight histograms at initialization and after training of the runs the analysis chose
(the ``weight_runs`` analysis table), from ``results/weights.parquet``."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from initstudy.analysis.settings import setting_columns
from initstudy.figures import style
from initstudy.figures.style import STYLE


def _histogram(ax, bins: pd.DataFrame, color, filled: bool) -> None:
    """One epoch's histogram (``bin_left``, ``bin_right``, ``count``) as a step line,
    in percent of the layer's weights."""
    bins = bins.sort_values("bin_left")
    edges = np.append(bins["bin_left"].to_numpy(), bins["bin_right"].iloc[-1])
    share = 100 * bins["count"].to_numpy() / bins["count"].sum()
    if filled:
        ax.stairs(share, edges, fill=True, color=color, alpha=0.35, linewidth=0)
    else:
        ax.stairs(share, edges, color=color, linewidth=STYLE["lines.linewidth"])


def draw_weight_histograms(weights: pd.DataFrame, weight_runs: pd.DataFrame) -> Figure:
    """Kernel weights at initialization (filled) and after training (line) of the runs
    of ``weight_runs``, one row per run and one panel per histogrammed hidden layer
    (first, middle, last); both epochs share the bins, so the shapes compare directly.
    The row's title names the setting, initializer and test accuracy.

    Colours are assigned over the initializers of ``weights`` (every run records its
    histograms), so each initializer has the colour it has in the other figures.
    """
    styles = style.initializer_styles(weights["initializer"])
    chosen = weight_runs.reset_index(drop=True)
    hists = {run_id: weights[weights["run_id"] == run_id] for run_id in chosen["run_id"]}
    n_layers = max((h["layer"].nunique() for h in hists.values()), default=1)
    with matplotlib.rc_context(STYLE):
        fig = style.figure(len(chosen), 1.1, 1)
        rows = fig.subfigures(len(chosen), 1, squeeze=False)[:, 0]
        for subfig, run in zip(rows, chosen.itertuples(index=False)):
            title = ", ".join(str(getattr(run, c)) for c in setting_columns(chosen))
            accuracy = "no test accuracy" if pd.isna(run.test_accuracy) else f"{100 * run.test_accuracy:.1f} %"
            subfig.suptitle(
                f"{title}, {run.initializer}: {run.choice} test accuracy at depth {run.depth} ({accuracy})",
                x=0.01, ha="left", fontsize=STYLE["axes.titlesize"],
            )
            hist = hists[run.run_id]
            last_epoch = hist["epoch"].max()
            axes = subfig.subplots(1, n_layers, squeeze=False)[0]
            for ax, (layer, bins) in zip(axes, hist.groupby("layer")):
                for epoch, filled in ((0, True), (last_epoch, False)):
                    _histogram(ax, bins[bins["epoch"] == epoch], styles[run.initializer]["color"], filled)
                ax.set_title(f"layer {layer}", fontsize=STYLE["axes.titlesize"])
                ax.set_ylim(bottom=0)
                ax.xaxis.set_major_locator(MaxNLocator(4))
            axes[0].set_ylabel("Weights (%)")
        style.figure_legend(
            fig,
            [Patch(color="0.5", alpha=0.35, label="at initialization"),
             Line2D([], [], color="0.3", label="after training")],
            ncols=2,
        )
    return fig
