"""Figures of the study, drawn from the tidy tables alone as vector PDFs.

The tables are the workflow's: ``runs`` (one row per run × epoch), ``signal`` (per
run, epoch and hidden layer), ``weights`` (weight histograms at initialization and
after training) and the statistics tables of :mod:`initstudy.analysis.stats` (``bootstrap``,
``divergence``, ``ranks``, ``pairwise``). :data:`FIGURES` says which tables each
figure reads; :func:`write` draws figures by file name.

Every figure is sized for the paper's text width (6.5 in) with fonts of at least
8 pt, keeps its legend outside the panels, and draws each initializer with one
style (colour, marker, dashes) taken from the sorted initializer labels, so the
same initializer looks the same in every figure. Confidence intervals are
seaborn's bootstrap with a fixed seed: the same table draws the same bands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
    StrMethodFormatter,
)
from scipy.stats import spearmanr  # noqa: E402

from initstudy.analysis import stats  # noqa: E402
from initstudy.core.atomic import atomic_path  # noqa: E402

TEXT_WIDTH_IN = 6.5
#: Most of a page's height a figure may take, legend included.
MAX_HEIGHT_IN = 8.5
#: Panels per row of a figure with one panel per setting.
PANELS_PER_ROW = 3
CI_LEVEL = 95
N_BOOT = 1000
BOOTSTRAP_SEED = 0
#: Grid dimensions that get panels of their own; activation always does, the
#: others only when the table holds more than one value of them.
SETTING_COLUMNS = ("dataset", "arch", "optimizer", "activation")
CURVE_METRICS = {
    "val_accuracy": "Validation accuracy (%)",
    "val_loss": "Validation loss (nats)",
}
PERCENT_COLUMNS = ("val_accuracy", "test_accuracy")
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


def setting_columns(tidy: pd.DataFrame) -> list[str]:
    """The grid dimensions that split the table into panels (see ``SETTING_COLUMNS``)."""
    return [c for c in SETTING_COLUMNS if c == "activation" or tidy[c].nunique() > 1]


def settings(tidy: pd.DataFrame) -> list[tuple[tuple, str]]:
    """Each setting's key (values of :func:`setting_columns`) and its panel title."""
    keys = tidy[setting_columns(tidy)].drop_duplicates().sort_values(setting_columns(tidy))
    return [(key, ", ".join(map(str, key))) for key in keys.itertuples(index=False, name=None)]


def select(tidy: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """The rows of ``tidy`` in the setting ``key`` (values of :func:`setting_columns`)."""
    mask = np.logical_and.reduce([tidy[c] == v for c, v in zip(setting_columns(tidy), key)])
    return tidy[mask]


def _in_percent(tidy: pd.DataFrame) -> pd.DataFrame:
    return tidy.assign(**{c: tidy[c] * 100 for c in PERCENT_COLUMNS})


def _log_scale_helps(values: pd.Series) -> bool:
    """Log scale when the positive finite values span more than a factor of ten."""
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 0 and values.max() > 10 * values.min()


def _legend(fig: Figure, styles: dict[str, dict], lines: bool = True) -> None:
    """One legend for the whole figure, below the panels, in the styles' order; with
    ``lines=False`` markers only (for figures of points)."""
    handles = [
        Line2D([], [], color=s["color"], marker=s["marker"], label=label,
               **({"dashes": s["dashes"]} if lines else {"linestyle": ""}))
        for label, s in styles.items()
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 4),
        title="Initializer",
        frameon=False,
    )


def _margin_title(ax, text: str) -> None:
    """A row label on the right of a panel, like seaborn's margin titles."""
    ax.annotate(
        text, xy=(1.03, 0.5), xycoords="axes fraction", rotation=270, ha="left", va="center"
    )


def _figure(n_rows: int, row_height_in: float, legend_rows: int) -> Figure:
    """A constrained-layout figure of text width, with room for ``n_rows`` panel rows."""
    height = min(n_rows * row_height_in + 0.5 + 0.2 * legend_rows, MAX_HEIGHT_IN)
    return Figure(figsize=(TEXT_WIDTH_IN, height), layout="constrained")


def _panel_grid(n_panels: int, row_height_in: float, n_styles: int) -> tuple[Figure, list]:
    """A figure with ``n_panels`` panels sharing y, at most three per row, room for a
    legend of ``n_styles`` entries; panels beyond ``n_panels`` are hidden."""
    n_cols = min(n_panels, PANELS_PER_ROW)
    n_rows = -(-n_panels // n_cols)
    fig = _figure(n_rows, row_height_in, -(-n_styles // 4))
    axes = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _ci_lines(ax, data: pd.DataFrame, x: str, metric: str, styles: dict[str, dict]) -> None:
    """One line per initializer in its style: mean over seeds with a seeded bootstrap CI,
    a marker every 1/8 of the x range."""
    last = int(data[x].max()) if len(data) else 1
    sns.lineplot(
        data=data,
        x=x,
        y=metric,
        **_style_kwargs(styles),
        dashes={k: s["dashes"] for k, s in styles.items()},
        markevery=max(1, last // 8),
        errorbar=("ci", CI_LEVEL),
        n_boot=N_BOOT,
        seed=BOOTSTRAP_SEED,
        legend=False,
        ax=ax,
    )


def _curve_panel(ax, data: pd.DataFrame, metric: str, styles: dict[str, dict]) -> None:
    _ci_lines(ax, data, "epoch", metric, styles)
    ax.set(xlabel="", ylabel="")


def _log_y(ax) -> None:
    """Log y axis labelled at 1, 2 and 5 times powers of ten, as plain numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _curve_block(subfig, tidy: pd.DataFrame, metric: str, styles: dict[str, dict]) -> None:
    """One metric's panels: depths as rows, settings as columns, shared axes."""
    depths = sorted(tidy["depth"].unique())
    columns = settings(tidy)
    axes = subfig.subplots(len(depths), len(columns), sharex=True, sharey=True, squeeze=False)
    for col, (key, title) in enumerate(columns):
        setting = select(tidy, key)
        for row, depth in enumerate(depths):
            ax = axes[row, col]
            _curve_panel(ax, setting[setting["depth"] == depth], metric, styles)
            if row == 0:
                ax.set_title(title)
            if col == len(columns) - 1:
                _margin_title(ax, f"depth {depth}")
    if metric == "val_loss" and _log_scale_helps(tidy[metric]):
        _log_y(axes[0, 0])
    subfig.supxlabel("Epoch", fontsize=STYLE["axes.labelsize"])
    subfig.supylabel(CURVE_METRICS[metric], fontsize=STYLE["axes.labelsize"])


def draw_learning_curves(tidy: pd.DataFrame) -> Figure:
    """Validation accuracy and loss per epoch, mean and CI over seeds, per initializer.

    One block of panels per metric (depths as rows, settings as columns); the two
    blocks sit side by side while there are at most two settings, else stacked.
    Epochs after a run diverged have no values, so late means cover the seeds
    still training.
    """
    tidy = _in_percent(tidy)
    styles = initializer_styles(tidy["initializer"])
    side_by_side = len(settings(tidy)) <= 2
    n_depths = tidy["depth"].nunique()
    with matplotlib.rc_context(STYLE):
        fig = _figure(n_depths * (1 if side_by_side else 2), 1.3, -(-len(styles) // 4))
        blocks = fig.subfigures(*((1, 2) if side_by_side else (2, 1)))
        for subfig, metric in zip(blocks, CURVE_METRICS):
            _curve_block(subfig, tidy, metric, styles)
        _legend(fig, styles)
    return fig


def _depth_panel(ax, runs: pd.DataFrame, depths: list, styles: dict[str, dict]) -> None:
    sns.pointplot(
        data=runs,
        x="depth",
        y="test_accuracy",
        hue="initializer",
        order=depths,
        hue_order=list(styles),
        palette={k: s["color"] for k, s in styles.items()},
        markers=[s["marker"] for s in styles.values()],
        linestyles=[(0, s["dashes"]) if s["dashes"] else "-" for s in styles.values()],
        dodge=0.4 if len(styles) > 1 else False,
        errorbar=("ci", CI_LEVEL),
        n_boot=N_BOOT,
        seed=BOOTSTRAP_SEED,
        capsize=0.08,
        err_kws={"linewidth": 1.0},
        markersize=3.5,
        linewidth=1.0,
        legend=False,
        ax=ax,
    )
    ax.set(xlabel="Depth (hidden layers)", ylabel="")


def draw_accuracy_vs_depth(tidy: pd.DataFrame) -> Figure:
    """Final test accuracy against depth per initializer, mean and CI over seeds.

    One panel per setting (activation, and dataset/architecture/optimizer when they
    vary), at most three per row; initializers are dodged sideways so their error
    bars do not overlap. Runs without a finite test accuracy are left out.
    """
    runs = _in_percent(tidy.drop_duplicates("run_id"))
    styles = initializer_styles(runs["initializer"])
    depths = sorted(runs["depth"].unique())
    panels = settings(runs)
    with matplotlib.rc_context(STYLE):
        fig, axes = _panel_grid(len(panels), 2.2, len(styles))
        for ax, (key, title) in zip(axes, panels):
            _depth_panel(ax, select(runs, key), depths, styles)
            ax.set_title(title)
        fig.supylabel("Test accuracy (%)", fontsize=STYLE["axes.labelsize"])
        _legend(fig, styles)
    return fig


# ------------------------------------------------------------- signal at init

SIGNAL_METRICS = {
    "activation_std": "Activation std at initialization",
    "grad_norm": "Gradient norm at initialization",
}


def deepest_at_init(signal: pd.DataFrame) -> pd.DataFrame:
    """The signal rows at initialization (epoch 0) of each setting's deepest networks."""
    init = signal[signal["epoch"] == 0]
    deepest = init.groupby(setting_columns(init))["depth"].transform("max")
    return init[init["depth"] == deepest]


def zero_floor(values: pd.Series) -> float:
    """Where exact zeros are drawn on a log axis: the power of ten one decade below the
    smallest positive value's decade (1 when no value is positive)."""
    positive = values[values > 0]
    if positive.empty:
        return 1.0
    return 10.0 ** (np.floor(np.log10(positive.min())) - 1)


def _log_y_with_zero(ax, floor: float | None) -> None:
    """Log y axis with ticks at powers of ten, or at 1, 2 and 5 times them when the axis
    spans less than two decades; with a ``floor`` (see :func:`zero_floor`), one more
    tick there, labelled 0."""
    ax.set_yscale("log")
    if floor is not None:
        ax.set_ylim(bottom=floor / 2)
    low, high = ax.get_ylim()
    wide = high / low > 100
    locator = LogLocator(subs=(1.0,) if wide else (1.0, 2.0, 5.0), numticks=6)
    ticks = [t for t in locator.tick_values(low, high) if low <= t <= high and (floor is None or t > 5 * floor)]
    ax.yaxis.set_major_locator(FixedLocator([*([floor] if floor is not None else []), *ticks]))

    def label(value, _):
        if floor is not None and np.isclose(value, floor, rtol=1e-6, atol=0):
            return "0"
        return f"$10^{{{np.log10(value):.0f}}}$" if wide else f"{value:g}"

    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_locator(NullLocator())


def _style_kwargs(styles: dict[str, dict]) -> dict:
    """seaborn's hue/style arguments that draw every initializer in its own style."""
    return {
        "hue": "initializer",
        "style": "initializer",
        "hue_order": list(styles),
        "style_order": list(styles),
        "palette": {k: s["color"] for k, s in styles.items()},
        "markers": {k: s["marker"] for k, s in styles.items()},
    }


def draw_signal_profile(signal: pd.DataFrame, metric: str) -> Figure:
    """``metric`` per hidden layer at initialization, mean and CI over seeds, per initializer.

    One panel per setting, each showing the deepest network of its setting, where
    vanishing and exploding show most. The y axis is logarithmic because a signal
    that vanishes or explodes does so geometrically (x_l ≈ x_1 g^(l-1) for a
    per-layer gain g): a straight line of slope log g. Exact zeros (the zeros
    initializer, or values below float32's range) are drawn on the bottom tick, 0,
    when there are any.
    """
    init = deepest_at_init(signal)
    floor = zero_floor(init[metric]) if (init[metric] <= 0).any() else None
    init = init.assign(**{metric: init[metric].where(init[metric] > 0, floor)})
    styles = initializer_styles(signal["initializer"])
    panels = settings(init)
    with matplotlib.rc_context(STYLE):
        fig, axes = _panel_grid(len(panels), 2.2, len(styles))
        for ax, (key, title) in zip(axes, panels):
            data = select(init, key)
            depth = int(data["depth"].max())
            _ci_lines(ax, data, "layer", metric, styles)
            ax.set(title=f"{title} (depth {depth})", xlabel="Hidden layer", ylabel="")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True))
        _log_y_with_zero(axes[0], floor)
        fig.supylabel(SIGNAL_METRICS[metric], fontsize=STYLE["axes.labelsize"])
        _legend(fig, styles)
    return fig


def signal_trainability(signal: pd.DataFrame, runs: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """One row per run: the signal that reaches its last hidden layer at initialization,
    and how well the run trained.

    ``sigma_last`` is the activation std of the last hidden layer at epoch 0 (the
    inputs are standardized, so 1 means the input's scale arrived intact);
    ``distortion`` = |log10 sigma_last|, the number of decades by which it vanished
    or exploded (infinite when it is exactly 0). ``score`` is the final test accuracy
    with diverged runs scored by ``diverged_policy``, as in :mod:`initstudy.analysis.stats`.
    """
    last = signal[(signal["epoch"] == 0) & (signal["layer"] == signal["depth"])]
    final = stats.scored(stats.final_results(runs), diverged_policy)
    merged = final.merge(last[["run_id", "activation_std"]], on="run_id", validate="one_to_one")
    sigma = merged["activation_std"]
    distortion = np.abs(np.log10(sigma.where(sigma > 0))).mask(sigma == 0, np.inf)
    return merged.assign(sigma_last=sigma, distortion=distortion)


#: Distortion (decades) up to which the signal-vs-accuracy axis is linear.
DISTORTION_LINEAR = 1


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


def draw_signal_vs_accuracy(signal: pd.DataFrame, runs: pd.DataFrame, diverged_policy: str) -> Figure:
    """Final test accuracy against the distortion of the signal at initialization, one
    point per run (see :func:`signal_trainability`), one panel per setting, with
    Spearman's rank correlation of the two in each panel's corner."""
    frame = signal_trainability(signal, runs, diverged_policy)
    frame = frame.assign(score_percent=100 * frame["score"])
    styles = initializer_styles(frame["initializer"])
    panels = settings(frame)
    with matplotlib.rc_context(STYLE):
        fig, axes = _panel_grid(len(panels), 2.2, len(styles))
        for ax, (key, title) in zip(axes, panels):
            data = select(frame, key)
            infinity = _distortion_axis(ax, frame["distortion"])
            sns.scatterplot(
                data=data.assign(distortion=data["distortion"].replace(np.inf, infinity)),
                x="distortion",
                y="score_percent",
                **_style_kwargs(styles),
                s=18,
                alpha=0.8,
                legend=False,
                ax=ax,
            )
            ax.set(title=title, xlabel="|log$_{10}$ activation std|, last layer", ylabel="")
            rho = f"{spearman(data)['rho']:.2f}".replace("-", "\N{MINUS SIGN}")
            ax.text(0.97, 0.95, f"ρ = {rho}", transform=ax.transAxes, ha="right", va="top")
        fig.supylabel("Test accuracy (%)", fontsize=STYLE["axes.labelsize"])
        _legend(fig, styles, lines=False)
    return fig


def spearman(frame: pd.DataFrame) -> dict:
    """Spearman's rank correlation of ``distortion`` and ``score`` over the rows where
    both are defined (infinite distortions rank highest): ``scipy.stats.spearmanr``,
    the Pearson correlation of the ranks, two-sided p from the t distribution with
    n - 2 degrees of freedom. NaN when n < 3 or a column is constant."""
    both = frame[["distortion", "score"]].dropna()
    n = len(both)
    if n < 3 or both.nunique().min() < 2:
        return {"n": n, "rho": np.nan, "p_value": np.nan}
    result = spearmanr(both["distortion"], both["score"])
    return {"n": n, "rho": float(result.statistic), "p_value": float(result.pvalue)}


# ---------------------------------------------------------- from the stats tables

#: (stats table, column, panel title, colour map) of the two heatmaps.
HEATMAPS = (
    ("bootstrap", "mean", "test accuracy (%)", "viridis"),
    ("divergence", "rate", "diverged (%)", "rocket_r"),
)


def draw_heatmaps(bootstrap: pd.DataFrame, divergence: pd.DataFrame) -> Figure:
    """Mean final test accuracy (``bootstrap`` table: the mean over seeds with
    diverged runs scored by the stats' policy) and divergence rate (``divergence``
    table), per initializer (rows) and depth (columns), in percent.

    One row of two heatmaps per setting; each quantity has one colour scale for all
    settings (accuracy from its lowest to its highest mean, divergence 0-100 %).
    """
    tables = {"bootstrap": bootstrap, "divergence": divergence}
    labels = sorted(bootstrap["initializer"].unique())
    panels = settings(bootstrap)
    limits = {"mean": (bootstrap["mean"].min() * 100, bootstrap["mean"].max() * 100), "rate": (0, 100)}
    with matplotlib.rc_context(STYLE):
        fig = _figure(len(panels), 0.22 * len(labels) + 0.55, 2)
        axes = fig.subplots(len(panels), len(HEATMAPS), squeeze=False)
        for row, (key, title) in enumerate(panels):
            for col, (table, column, what, cmap) in enumerate(HEATMAPS):
                grid = select(tables[table], key).pivot(index="initializer", columns="depth", values=column)
                ax = axes[row, col]
                sns.heatmap(
                    grid.reindex(labels) * 100,
                    vmin=limits[column][0],
                    vmax=limits[column][1],
                    cmap=cmap,
                    annot=True,
                    fmt=".0f",
                    cbar=False,
                    linewidths=0.5,
                    annot_kws={"fontsize": STYLE["font.size"]},
                    ax=ax,
                )
                ax.set(title=f"{title}: {what}", ylabel="", xlabel="Depth" if row == len(panels) - 1 else "")
                ax.tick_params(length=0)
                if col:
                    ax.set_yticklabels([])
        for col, (_, _, what, _) in enumerate(HEATMAPS):
            fig.colorbar(
                axes[0, col].collections[0], ax=axes[:, col], location="bottom", shrink=0.8, aspect=40, label=what
            )
    return fig


def mean_rank_over_cells(ranks: pd.DataFrame, by: list[str]) -> pd.Series:
    """The mean over cells of each initializer's mean Friedman rank (``ranks`` table),
    grouped by ``by`` and the initializer; with the same number of seeds in every cell
    this is the initializer's mean rank over all (cell, seed) blocks."""
    return ranks.groupby([*by, "initializer"])["mean_rank"].mean()


def not_worse_than_best(cell_ranks: pd.Series, cell_pairs: pd.DataFrame) -> list[str]:
    """The initializers of one cell that the best-ranked one (lowest mean rank; ties to
    the first label) does not beat significantly: no Holm-corrected rejection in the
    ``pairwise`` rows of the cell. The best is the first entry."""
    best = cell_ranks.idxmin()
    against = cell_pairs[(cell_pairs["initializer_a"] == best) | (cell_pairs["initializer_b"] == best)]
    beaten = against[against["reject"].fillna(False).astype(bool)]
    beaten = set(beaten["initializer_a"]) | set(beaten["initializer_b"])
    return [best, *(i for i in cell_ranks.sort_values().index if i != best and i not in beaten)]


def draw_mean_ranks(ranks: pd.DataFrame, pairwise: pd.DataFrame) -> Figure:
    """Mean Friedman rank (1 = best) of each initializer per depth, and over depths,
    one panel per setting: a critical-difference style diagram.

    At each depth a grey bar spans the ranks of the best initializer and of those it
    does not beat significantly (Holm-corrected Wilcoxon, :func:`not_worse_than_best`);
    the bottom row is :func:`mean_rank_over_cells` over depths (no test). Points of
    equal rank are spread vertically, in the initializers' sorted order.
    """
    styles = initializer_styles(ranks["initializer"])
    panels = settings(ranks)
    depths = sorted(ranks["depth"].unique())
    offsets = dict(zip(styles, np.linspace(-0.25, 0.25, len(styles))))
    k = len(styles)
    with matplotlib.rc_context(STYLE):
        fig, axes = _panel_grid(len(panels), 0.35 * (len(depths) + 1) + 0.7, len(styles))
        for ax, (key, title) in zip(axes, panels):
            setting, pairs = select(ranks, key), select(pairwise, key)
            rows = {str(d): setting[setting["depth"] == d].set_index("initializer")["mean_rank"] for d in depths}
            rows["mean"] = mean_rank_over_cells(setting, [])
            for y, (row, cell) in enumerate(rows.items()):
                cell = cell.dropna()
                if cell.empty:
                    continue
                if row != "mean":
                    group = not_worse_than_best(cell, pairs[pairs["depth"] == int(row)])
                    ax.plot(cell[group].agg(["min", "max"]), [y, y], color="0.8", linewidth=5,
                            solid_capstyle="round", zorder=1)
                for label, rank in cell.items():
                    s = styles[label]
                    ax.plot(rank, y + offsets[label], marker=s["marker"], color=s["color"], linestyle="", zorder=2)
            ax.axhline(len(depths) - 0.5, color="0.6", linewidth=0.6)
            ax.set_yticks(range(len(rows)), [*rows][:-1] + ["all"])
            ax.set(title=title, xlim=(0.6, k + 0.4), ylim=(len(rows) - 0.4, -0.6), xlabel="Mean rank (1 = best)")
            ax.set_xticks(range(1, k + 1))
        axes[0].set_ylabel("Depth")
        _legend(fig, styles, lines=False)
    return fig


# ------------------------------------------------------------------ weights

WEIGHT_CHOICES = ("highest", "lowest")


def weight_runs(runs: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """The runs whose weight histograms are drawn: per setting, the deepest network at
    the lowest seed, and of its initializers the one with the highest and the one with
    the lowest final test accuracy (a run without one counts as lowest; ties go to the
    first label). Runs whose weights at initialization are constant (one occupied bin
    in every layer, as for ``zeros``) have no shape to show and are passed over while
    there are others. One row per run, with ``choice`` ("highest" or "lowest")."""
    init = weights[(weights["epoch"] == 0) & (weights["count"] > 0)]
    occupied = init.groupby(["run_id", "layer"]).size().groupby("run_id").max()
    final = runs[runs["run_id"].isin(weights["run_id"])].drop_duplicates("run_id")
    final = final.assign(constant=final["run_id"].map(occupied).fillna(0).le(1))
    chosen = []
    for key, _ in settings(final):
        setting = select(final, key)
        candidates = setting[(setting["depth"] == setting["depth"].max()) & (setting["seed"] == setting["seed"].min())]
        if not candidates["constant"].all():
            candidates = candidates[~candidates["constant"]]
        ranked = {
            choice: candidates.sort_values(["test_accuracy", "initializer"], ascending=[ascending, True],
                                           na_position="first" if ascending else "last").iloc[0]
            for choice, ascending in zip(WEIGHT_CHOICES, (False, True))
        }
        picks = pd.DataFrame([row.to_dict() | {"choice": choice} for choice, row in ranked.items()])
        chosen.append(picks.drop(columns="constant").drop_duplicates("run_id"))
    return pd.concat(chosen, ignore_index=True)


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


def draw_weight_histograms(weights: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """Kernel weights at initialization (filled) and after training (line) of the runs
    of :func:`weight_runs`, one row per run and one panel per histogrammed hidden
    layer (first, middle, last); both epochs share the bins, so the shapes compare
    directly. The row's title names the setting, initializer and test accuracy."""
    chosen = weight_runs(runs, weights)
    styles = initializer_styles(runs["initializer"])
    n_layers = int(weights.groupby("run_id")["layer"].nunique().max())
    with matplotlib.rc_context(STYLE):
        fig = _figure(len(chosen), 1.1, 1)
        rows = fig.subfigures(len(chosen), 1, squeeze=False)[:, 0]
        for subfig, run in zip(rows, chosen.itertuples(index=False)):
            title = ", ".join(str(getattr(run, c)) for c in setting_columns(runs))
            accuracy = "no test accuracy" if pd.isna(run.test_accuracy) else f"{100 * run.test_accuracy:.1f} %"
            subfig.suptitle(
                f"{title}, {run.initializer}: {run.choice} test accuracy at depth {run.depth} ({accuracy})",
                x=0.01, ha="left", fontsize=STYLE["axes.titlesize"],
            )
            hist = weights[weights["run_id"] == run.run_id]
            last_epoch = hist["epoch"].max()
            axes = subfig.subplots(1, n_layers, squeeze=False)[0]
            for ax, (layer, bins) in zip(axes, hist.groupby("layer")):
                for epoch, filled in ((0, True), (last_epoch, False)):
                    _histogram(ax, bins[bins["epoch"] == epoch], styles[run.initializer]["color"], filled)
                ax.set_title(f"layer {layer}", fontsize=STYLE["axes.titlesize"])
                ax.set_ylim(bottom=0)
                ax.xaxis.set_major_locator(MaxNLocator(4))
            axes[0].set_ylabel("Weights (%)")
        fig.legend(
            handles=[
                Patch(color="0.5", alpha=0.35, label="at initialization"),
                Line2D([], [], color="0.3", label="after training"),
            ],
            loc="outside lower center",
            ncols=2,
            frameon=False,
        )
    return fig


# ------------------------------------------------------------------ registry


@dataclass(frozen=True)
class FigureSpec:
    """How to draw one figure: the function, the tables it takes (positionally, by
    name) and the options it takes as keywords (from the workflow's config)."""

    draw: Callable[..., Figure]
    tables: tuple[str, ...]
    options: tuple[str, ...] = field(default=())


#: File name (in the figures directory) -> how to draw it.
FIGURES = {
    "learning_curves.pdf": FigureSpec(draw_learning_curves, ("runs",)),
    "accuracy_vs_depth.pdf": FigureSpec(draw_accuracy_vs_depth, ("runs",)),
    "activation_std_at_init.pdf": FigureSpec(partial(draw_signal_profile, metric="activation_std"), ("signal",)),
    "grad_norm_at_init.pdf": FigureSpec(partial(draw_signal_profile, metric="grad_norm"), ("signal",)),
    "signal_vs_accuracy.pdf": FigureSpec(draw_signal_vs_accuracy, ("signal", "runs"), ("diverged_policy",)),
    "heatmaps.pdf": FigureSpec(draw_heatmaps, ("bootstrap", "divergence")),
    "mean_ranks.pdf": FigureSpec(draw_mean_ranks, ("ranks", "pairwise")),
    "weight_histograms.pdf": FigureSpec(draw_weight_histograms, ("weights", "runs")),
}


def read_table(path: str | Path) -> pd.DataFrame:
    """A tidy table: Parquet, or a CSV of :mod:`initstudy.analysis.stats` (``reject`` as a
    nullable boolean, empty fields as NaN)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"reject": "boolean"})


def draw(name: str, tables: dict[str, pd.DataFrame], **options) -> Figure:
    """The figure ``name`` of :data:`FIGURES` from ``tables`` (name -> frame)."""
    spec = FIGURES[name]
    return spec.draw(*(tables[t] for t in spec.tables), **{o: options[o] for o in spec.options})


def save(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` atomically as PDF, without a creation date (same input, same bytes)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})


def write(paths, table_paths: dict[str, str | Path], **options) -> list[Path]:
    """Draw each of ``paths`` (its file name a key of :data:`FIGURES`) from the tables
    at ``table_paths`` (name -> file, each read once) into that path."""
    paths = [Path(p) for p in paths]
    tables = {name: read_table(path) for name, path in table_paths.items()}
    for path in paths:
        save(draw(path.name, tables, **options), path)
    return paths


def main(tidy_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw the figures of :data:`FIGURES` that need only the tidy run table into ``out_dir``."""
    names = [name for name, spec in FIGURES.items() if spec.tables == ("runs",) and not spec.options]
    return write([Path(out_dir) / name for name in names], {"runs": tidy_path})
