"""Figures of the study, drawn from the tidy table alone as vector PDFs.

Every figure is sized for the paper's text width (6.5 in) with fonts of at least
8 pt, keeps its legend outside the panels, and draws each initializer with one
style (colour, marker, dashes) taken from the sorted initializer labels, so the
same initializer looks the same in every figure. Confidence intervals are
seaborn's bootstrap with a fixed seed: the same table draws the same bands.
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
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter  # noqa: E402

from initstudy.atomic import atomic_path  # noqa: E402

TEXT_WIDTH_IN = 6.5
#: Most of a page's height a figure may take, legend included.
MAX_HEIGHT_IN = 8.5
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


def _select(tidy: pd.DataFrame, key: tuple) -> pd.DataFrame:
    mask = np.logical_and.reduce([tidy[c] == v for c, v in zip(setting_columns(tidy), key)])
    return tidy[mask]


def _in_percent(tidy: pd.DataFrame) -> pd.DataFrame:
    return tidy.assign(**{c: tidy[c] * 100 for c in PERCENT_COLUMNS})


def _log_scale_helps(values: pd.Series) -> bool:
    """Log scale when the positive finite values span more than a factor of ten."""
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 0 and values.max() > 10 * values.min()


def _legend(fig: Figure, styles: dict[str, dict]) -> None:
    """One legend for the whole figure, below the panels, in the styles' order."""
    handles = [
        Line2D([], [], color=s["color"], marker=s["marker"], dashes=s["dashes"], label=label)
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


def _curve_panel(ax, data: pd.DataFrame, metric: str, styles: dict[str, dict]) -> None:
    epochs = int(data["epoch"].max()) if len(data) else 1
    sns.lineplot(
        data=data,
        x="epoch",
        y=metric,
        hue="initializer",
        style="initializer",
        hue_order=list(styles),
        style_order=list(styles),
        palette={k: s["color"] for k, s in styles.items()},
        markers={k: s["marker"] for k, s in styles.items()},
        dashes={k: s["dashes"] for k, s in styles.items()},
        markevery=max(1, epochs // 8),
        errorbar=("ci", CI_LEVEL),
        n_boot=N_BOOT,
        seed=BOOTSTRAP_SEED,
        legend=False,
        ax=ax,
    )
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
        setting = _select(tidy, key)
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
        dodge=0.4,
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
    n_cols = min(len(panels), 3)
    n_rows = -(-len(panels) // n_cols)
    with matplotlib.rc_context(STYLE):
        fig = _figure(n_rows, 2.2, -(-len(styles) // 4))
        axes = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False).ravel()
        for ax, (key, title) in zip(axes, panels):
            _depth_panel(ax, _select(runs, key), depths, styles)
            ax.set_title(title)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.supylabel("Test accuracy (%)", fontsize=STYLE["axes.labelsize"])
        _legend(fig, styles)
    return fig


def save(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` atomically as PDF, without a creation date (same input, same bytes)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})


def learning_curves(tidy: pd.DataFrame, path: str | Path) -> Figure:
    """Draw :func:`draw_learning_curves` into ``path``; return the figure."""
    fig = draw_learning_curves(tidy)
    save(fig, path)
    return fig


def accuracy_vs_depth(tidy: pd.DataFrame, path: str | Path) -> Figure:
    """Draw :func:`draw_accuracy_vs_depth` into ``path``; return the figure."""
    fig = draw_accuracy_vs_depth(tidy)
    save(fig, path)
    return fig


#: File name (in the figures directory) -> drawing function.
FIGURES = {
    "learning_curves.pdf": learning_curves,
    "accuracy_vs_depth.pdf": accuracy_vs_depth,
}


def main(tidy_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw every figure of :data:`FIGURES` from the tidy table into ``out_dir``."""
    tidy = pd.read_parquet(tidy_path)
    paths = [Path(out_dir) / name for name in FIGURES]
    for path, draw in zip(paths, FIGURES.values()):
        draw(tidy, path)
    return paths
