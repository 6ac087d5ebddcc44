"""Signal-propagation figures: the signal per layer at initialization, and the signal
that reaches the last layer against how well the network trained.

They draw the ``signal_profile``, ``trainability`` and ``spearman`` analysis tables.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from initstudy.analysis.trainability import DISTORTION_LINEAR
from initstudy.analysis.settings import select, setting_columns, settings
from initstudy.figures import style
from initstudy.figures.style import INTERVAL_VALUES, STYLE

SIGNAL_METRICS = {
    "activation_std": "Activation std at initialization",
    "grad_norm": "Gradient norm at initialization",
}
MINUS = "\N{MINUS SIGN}"
#: Area (pt^2) of a run's point; its white edge is as thin as seaborn draws it.
POINT_AREA = 18


def draw_signal_profile(signal_profile: pd.DataFrame, metric: str) -> Figure:
    """``metric`` per hidden layer at initialization, mean and CI over seeds, per
    initializer (the ``signal_profile`` analysis table).

    One panel per setting, each showing the deepest network of its setting, where
    vanishing and exploding show most. The y axis is logarithmic because a signal
    that vanishes or explodes does so geometrically (x_l ≈ x_1 g^(l-1) for a
    per-layer gain g): a straight line of slope log g. Exact zeros (the zeros
    initializer, or values below float32's range) are drawn on the bottom tick, 0,
    when there are any (:func:`~initstudy.figures.style.zero_floor`).
    """
    rows = signal_profile[signal_profile["metric"] == metric]
    drawn = pd.concat([rows[c] for c in INTERVAL_VALUES])
    floor = style.zero_floor(drawn) if (drawn <= 0).any() else None
    rows = rows.assign(**{c: rows[c].where(rows[c] > 0, floor) if floor is not None else rows[c]
                          for c in INTERVAL_VALUES})
    styles = style.initializer_styles(rows["initializer"])
    panels = settings(rows)
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 2.2, style.legend_rows(len(styles)))
        for ax, (key, title) in zip(axes, panels):
            data = select(rows, key)
            depth = int(data["depth"].max())
            data = data[data["depth"] == depth]
            for label, s in styles.items():
                lines = data[data["initializer"] == label]
                if len(lines):
                    style.band(ax, lines, "layer", s, max(1, depth // 8))
            ax.set(title=f"{title} (depth {depth})", xlabel="Hidden layer", ylabel="")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True))
        style.log_y_with_zero(axes[0], floor)
        style.supylabel(fig, SIGNAL_METRICS[metric])
        style.legend(fig, styles)
    return fig


def _distortion_axis(ax, values: pd.Series) -> float:
    """A symmetric-log x axis (linear up to DISTORTION_LINEAR decades, logarithmic beyond) for
    distortions, with infinite ones drawn at the next power of ten above the largest
    finite one, on a tick labelled ∞; returns that position."""
    finite = values[np.isfinite(values)]
    top = max(float(finite.max()) if len(finite) else 0.0, DISTORTION_LINEAR)
    infinity = 10.0 ** (np.floor(np.log10(top)) + 1)
    ax.set_xscale("symlog", linthresh=DISTORTION_LINEAR, linscale=0.6)
    ticks = [0.0, *10.0 ** np.arange(0, np.log10(infinity))]
    ax.set_xticks([*ticks, infinity], [f"{t:g}" for t in ticks] + ["∞"])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(-0.15, infinity * 1.6)
    return infinity


def rho_text(rho: float) -> str:
    """Spearman's rho as printed in a panel: two decimals, a true minus sign."""
    return "ρ undefined" if pd.isna(rho) else f"ρ = {rho:.2f}".replace("-", MINUS)


def draw_signal_vs_accuracy(trainability: pd.DataFrame, spearman: pd.DataFrame) -> Figure:
    """Final score (test accuracy, diverged runs scored by the study's policy) against the
    distortion of the signal at initialization, one point per run (the ``trainability``
    analysis table), one panel per setting, with Spearman's rank correlation of the two
    from the ``spearman`` table (its row whose ``setting`` is the panel's title) in the
    panel's corner. Runs without a score are left out."""
    frame = trainability.assign(score_percent=100 * trainability["score"])
    rho = spearman.set_index("setting")["rho"]
    styles = style.initializer_styles(frame["initializer"])
    panels = settings(frame)
    columns = setting_columns(frame)
    with matplotlib.rc_context(STYLE):
        fig, axes = style.panel_grid(len(panels), 2.2, style.legend_rows(len(styles)))
        for ax, (key, title) in zip(axes, panels):
            data = select(frame, key, columns).dropna(subset=["score_percent", "distortion"])
            infinity = _distortion_axis(ax, frame["distortion"])
            for label, s in styles.items():
                points = data[data["initializer"] == label]
                ax.scatter(points["distortion"].replace(np.inf, infinity), points["score_percent"],
                           color=s["color"], marker=s["marker"], s=POINT_AREA, alpha=0.8, edgecolors="w",
                           linewidths=0.08 * np.sqrt(POINT_AREA))
            ax.set(title=title, xlabel="|log$_{10}$ activation std|, last layer", ylabel="")
            if title not in rho.index:
                raise ValueError(f"the spearman table has no row for setting {title!r}")
            ax.text(0.97, 0.95, rho_text(rho[title]), transform=ax.transAxes, ha="right", va="top")
        style.supylabel(fig, "Test accuracy (%)")
        style.legend(fig, styles, lines=False)
    return fig
