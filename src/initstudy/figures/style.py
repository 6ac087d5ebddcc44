"""The one look of every figure: size, fonts, per-initializer styles, legend, panel
grids, log axes and saving.

Every figure is sized for the paper's text width (6.5 in) with fonts of at least
8 pt, keeps its legend outside the panels, and draws each initializer with one
style (colour, marker, dashes) taken from the sorted initializer labels, so the
same initializer looks the same in every figure. Nothing here computes a
statistic: the figures draw the numbers the analysis tables hold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    NullLocator,
    StrMethodFormatter,
)

from initstudy.core.atomic import atomic_path  # noqa: E402

TEXT_WIDTH_IN = 6.5
#: Most of a page's height a figure may take, legend included.
MAX_HEIGHT_IN = 8.5
#: Panels per row of a figure with one panel per setting.
PANELS_PER_ROW = 3
#: Entries per row of the initializer legend.
LEGEND_COLUMNS = 4
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")
DASHES = ((), (4, 1.5), (1.2, 1.2), (5, 1.5, 1.2, 1.5), (2.5, 2.5), (6, 1.5, 1.2, 1.5, 1.2, 1.5))
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 9,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "pdf.fonttype": 42,
}
#: Opacity of a confidence band.
BAND_ALPHA = 0.2
#: Columns of an interval table drawn in percent when the quantity is an accuracy.
INTERVAL_VALUES = ("mean", "ci_low", "ci_high")


def initializer_styles(labels) -> dict[str, dict]:
    """Colour, marker and dashes per initializer label, assigned in sorted order.

    Colour-blind-safe colours while there are enough of them; markers and dashes
    keep the initializers apart in grey-scale print.
    """
    labels = sorted(set(labels))
    palette = "colorblind" if len(labels) <= 10 else "husl"
    colors = sns.color_palette(palette, len(labels))
    return {
        label: {
            "color": colors[i],
            "marker": MARKERS[i % len(MARKERS)],
            "dashes": DASHES[i % len(DASHES)],
        }
        for i, label in enumerate(labels)
    }


def linestyle(style: dict):
    """The matplotlib ``linestyle`` of a style's dashes (solid when it has none)."""
    return (0, style["dashes"]) if style["dashes"] else "-"


def in_percent(table: pd.DataFrame, columns=INTERVAL_VALUES) -> pd.DataFrame:
    """``table`` with ``columns`` (fractions) times 100."""
    return table.assign(**{c: table[c] * 100 for c in columns})


# ------------------------------------------------------------------ legend


def initializer_handles(styles: dict[str, dict], lines: bool = True, hollow: bool = False,
                        labels: dict[str, str] | None = None) -> list[Line2D]:
    """One legend handle per initializer in the styles' order: marker and dashed line, or
    with ``lines=False`` the marker only (for figures of points); ``hollow`` markers
    are unfilled; ``labels`` renames entries (label -> text)."""
    labels = labels or {}
    return [
        Line2D([], [], color=s["color"], marker=s["marker"], label=labels.get(label, label),
               **({"linestyle": linestyle(s)} if lines else {"linestyle": ""}),
               **({"markerfacecolor": "none"} if hollow else {}))
        for label, s in styles.items()
    ]


def figure_legend(fig: Figure, handles: list, ncols: int = LEGEND_COLUMNS, title: str | None = None) -> None:
    """One legend for the whole figure, below the panels, outside them."""
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), ncols), title=title,
               frameon=False)


def legend(fig: Figure, styles: dict[str, dict], lines: bool = True) -> None:
    """The initializer legend of a figure (see :func:`initializer_handles`)."""
    figure_legend(fig, initializer_handles(styles, lines), title="Initializer")


def legend_rows(n_entries: int, ncols: int = LEGEND_COLUMNS) -> int:
    """Rows a legend of ``n_entries`` takes."""
    return -(-n_entries // ncols)


# ------------------------------------------------------------------ figure and panels


def figure(n_rows: int, row_height_in: float, legend_rows: int) -> Figure:
    """A constrained-layout figure of text width, with room for ``n_rows`` panel rows and
    a legend of ``legend_rows`` rows; never taller than :data:`MAX_HEIGHT_IN`."""
    height = min(n_rows * row_height_in + 0.5 + 0.2 * legend_rows, MAX_HEIGHT_IN)
    return Figure(figsize=(TEXT_WIDTH_IN, height), layout="constrained")


def panel_grid(n_panels: int, row_height_in: float, legend_rows: int, sharex: bool = False,
               sharey: bool = True) -> tuple[Figure, list]:
    """A figure with ``n_panels`` panels, at most :data:`PANELS_PER_ROW` per row, sharing
    y (and x) as asked, with room for a legend of ``legend_rows`` rows; panels beyond
    ``n_panels`` are hidden."""
    n_cols = min(n_panels, PANELS_PER_ROW)
    n_rows = -(-n_panels // n_cols)
    fig = figure(n_rows, row_height_in, legend_rows)
    axes = fig.subplots(n_rows, n_cols, sharex=sharex, sharey=sharey, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def margin_title(ax, text: str) -> None:
    """A row label on the right of a panel, like seaborn's margin titles."""
    ax.annotate(text, xy=(1.03, 0.5), xycoords="axes fraction", rotation=270, ha="left", va="center")


def supylabel(fig, text: str) -> None:
    """The y label of a whole figure (or subfigure), at the axes' label size."""
    fig.supylabel(text, fontsize=STYLE["axes.labelsize"])


# ------------------------------------------------------------------ drawing intervals


def band(ax, rows: pd.DataFrame, x: str, style: dict, markevery: int = 1) -> None:
    """One initializer's precomputed ``mean`` against ``x`` as a line in its style, with
    its confidence interval (``ci_low`` to ``ci_high``) as a band; rows without a
    bound leave a gap in the band."""
    rows = rows.sort_values(x)
    ax.plot(rows[x], rows["mean"], color=style["color"], marker=style["marker"], linestyle=linestyle(style),
            markevery=markevery, markeredgecolor="w", markeredgewidth=0.75)
    ax.fill_between(rows[x], rows["ci_low"], rows["ci_high"], color=style["color"], alpha=BAND_ALPHA, linewidth=0)


# ------------------------------------------------------------------ log axes


def log_scale_helps(values: pd.Series) -> bool:
    """Log scale when the positive finite values span more than a factor of ten."""
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 0 and values.max() > 10 * values.min()


def log_y(ax) -> None:
    """Log y axis labelled at 1, 2 and 5 times powers of ten, as plain numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def zero_floor(values: pd.Series) -> float:
    """Where exact zeros are drawn on a log axis: the power of ten one decade below the
    smallest positive value's decade (1 when no value is positive)."""
    positive = values[values > 0]
    if positive.empty:
        return 1.0
    return 10.0 ** (np.floor(np.log10(positive.min())) - 1)


def log_y_with_zero(ax, floor: float | None) -> None:
    """Log y axis with ticks at powers of ten, or at 1, 2 and 5 times them when the axis
    spans less than two decades; with a ``floor`` (see :func:`zero_floor`), one more
    tick there, labelled 0."""
    ax.set_yscale("log")
    if floor is not None:
        ax.set_ylim(bottom=floor / 2)
    low, high = ax.get_ylim()
    wide = high / low > 100
    locator = LogLocator(subs=(1.0,) if wide else (1.0, 2.0, 5.0), numticks=6)
    ticks = [t for t in locator.tick_values(low, high)
             if low <= t <= high and (floor is None or t > 5 * floor)]
    ax.yaxis.set_major_locator(FixedLocator([*([floor] if floor is not None else []), *ticks]))

    def label(value, _):
        if floor is not None and np.isclose(value, floor, rtol=1e-6, atol=0):
            return "0"
        return f"$10^{{{np.log10(value):.0f}}}$" if wide else f"{value:g}"

    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_locator(NullLocator())


# ------------------------------------------------------------------ saving


def save(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` atomically as PDF, without a creation date (same input, same bytes)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
