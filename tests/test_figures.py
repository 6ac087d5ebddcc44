"""Figures from synthetic analysis tables: valid PDFs whose panels, legends and plotted
values are those the tables say; one style per initializer across figures."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from synthetic_observations import GAIN, signal_rows, weight_rows

from initstudy.figures import registry
from initstudy.analysis import stats
from initstudy.analysis.curves import learning_curves
from initstudy.analysis.ranks import not_worse_than_best, rank_summary
from initstudy.analysis.signal_profile import deepest_at_init, signal_profiles
from initstudy.analysis.trainability import signal_trainability, spearman, spearman_table
from initstudy.analysis.tuning import sensitivity_table
from initstudy.analysis.weight_choice import weight_runs
from initstudy.core.table_io import read_table
from initstudy.study import catalog
from initstudy.figures import curves, signal, style
from initstudy.study.fields import RUN_FIELDS, RUN_SETTINGS

INITIALIZERS = ("he_normal", "glorot_uniform", "random_normal-stddev0.01", "lecun_normal")
STRING_COLUMNS = [
    "run_id", "dataset", "arch", "activation", "optimizer", "initializer", "pack_id", "keras_backend"
]
#: (arch, activation, depth, initializer, seed) -> epoch at which that run diverged.
DIVERGED = {
    ("mlp", "tanh", 32, "random_normal-stddev0.01", 1): 4,
    ("mlp", "relu", 32, "glorot_uniform", 2): 6,
}
POLICY = "chance"
RESAMPLES = 199


def _run_rows(arch, activation, depth, initializer, seed, epochs, rng) -> pd.DataFrame:
    """The epoch rows of one synthetic run: accuracy rises towards a ceiling that
    depends on the initializer and shrinks with depth; a diverged run stops early."""
    ceiling = 0.9 - 0.1 * INITIALIZERS.index(initializer) * np.log2(depth) / 5
    epoch = np.arange(1, epochs + 1)
    val_accuracy = ceiling * (1 - np.exp(-epoch / 3)) + rng.normal(0, 0.01, epochs)
    diverged_at = DIVERGED.get((arch, activation, depth, initializer, seed))
    frame = pd.DataFrame(
        {
            "epoch": epoch,
            "train_accuracy": val_accuracy + 0.02,
            "val_accuracy": val_accuracy,
            "train_loss": -np.log(val_accuracy.clip(0.05)) * 0.9,
            "val_loss": -np.log(val_accuracy.clip(0.05)),
            "test_accuracy": val_accuracy[-1] + rng.normal(0, 0.01),
            "test_loss": -np.log(val_accuracy[-1]),
        }
    )
    if diverged_at is not None:
        frame = frame[frame["epoch"] <= diverged_at].copy()
        last = frame["epoch"] == diverged_at
        frame.loc[last, ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]] = np.nan
        frame[["test_accuracy", "test_loss"]] = np.nan
    return frame.assign(diverged=diverged_at is not None, diverged_epoch=diverged_at)


def synthetic_tidy(
    archs=("mlp",), activations=("relu", "tanh"), depths=(2, 8, 32), seeds=(0, 1, 2), epochs=10
) -> pd.DataFrame:
    """One row per run and epoch (``history.parquet`` with each run's per-run columns of
    ``runs.parquet``): several initializers, depths, activations and seeds, and two
    diverged runs."""
    rng = np.random.default_rng(0)
    frames = []
    for arch, activation, depth, initializer, seed in itertools.product(
        archs, activations, depths, INITIALIZERS, seeds
    ):
        run_id = f"mnist1d-{arch}-{activation}-adam-d{depth}-{initializer}-s{seed}"
        rows = _run_rows(arch, activation, depth, initializer, seed, epochs, rng)
        frames.append(
            rows.assign(
                run_id=run_id,
                dataset="mnist1d",
                arch=arch,
                activation=activation,
                optimizer="adam",
                depth=depth,
                learning_rate=0.001,
                width=128,
                initializer=initializer,
                seed=seed,
                num_classes=10,
                wall_time_s=float(rng.uniform(20, 60)),
                pack_id=f"pack-{arch}-{activation}-d{depth}",
                keras_backend="tensorflow",
                deterministic=True,
            )
        )
    tidy = pd.concat(frames, ignore_index=True)
    return tidy.astype(
        {
            **dict.fromkeys(STRING_COLUMNS, "string"),
            **dict.fromkeys(["depth", "seed", "epoch", "num_classes"], "int64"),
            "diverged_epoch": "Int64",
        }
    )


def synthetic_runs(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run, its last epoch's (like ``runs.parquet``)."""
    return tidy.sort_values(["run_id", "epoch"]).drop_duplicates("run_id", keep="last").reset_index(drop=True)


def _runs_of(tidy: pd.DataFrame):
    return tidy.drop_duplicates("run_id")[[*RUN_FIELDS, *RUN_SETTINGS]].itertuples(index=False)


def synthetic_signal(tidy: pd.DataFrame, epochs=(0, 1)) -> pd.DataFrame:
    """A table like ``results/signal.parquet`` for the runs of ``tidy`` (see
    :func:`synthetic_observations.signal_rows`)."""
    return pd.DataFrame(signal_rows(_runs_of(tidy), epochs))


def synthetic_weights(tidy: pd.DataFrame, bins: int = 40) -> pd.DataFrame:
    """A table like ``results/weights.parquet`` for the runs of ``tidy`` (see
    :func:`synthetic_observations.weight_rows`), the last epoch ``tidy``'s last."""
    return pd.DataFrame(weight_rows(_runs_of(tidy), int(tidy["epoch"].max()), bins))


def synthetic_stats(tidy: pd.DataFrame, policy: str = POLICY) -> dict[str, pd.DataFrame]:
    """The stats tables of ``tidy`` (few bootstrap resamples, to be quick)."""
    return stats.compute_all(synthetic_runs(tidy), diverged_policy=policy, n_resamples=RESAMPLES)


def synthetic_theory(labels=INITIALIZERS, activations=("relu", "tanh"), depth=32) -> dict[str, pd.DataFrame]:
    """Theory tables like :mod:`initstudy.analysis.theory`'s: predicted q_l =
    (GAIN^2)^(l - 1) (a label not in GAIN predicts 0), measured median within 10 % of
    it with a range of ±30 %, and the stability table's curves."""
    predicted, measured, stability = [], [], []
    for activation, label in itertools.product(activations, labels):
        gain2 = GAIN.get(label, 0.0) ** 2 * (1.1 if activation == "tanh" else 1.0)
        q = gain2 ** np.arange(depth) if label in GAIN else np.zeros(depth)
        curve = {"dataset": "mnist1d", "activation": activation, "initializer": label}
        predicted += [{**curve, "layer": layer + 1, "predicted": v} for layer, v in enumerate(q)]
        measured += [{**curve, "layer": layer + 1, "median": 1.05 * v, "low": 0.7 * v, "high": 1.3 * v, "runs": 3}
                     for layer, v in enumerate(q)]
        stability.append({**curve, "theory": "stable", "theory_ratio": q[-1] / q[0] if q[0] else np.nan,
                          "measured": "stable", "measured_ratio": np.nan, "layers": depth, "note": ""})
    return {"theory_predicted": pd.DataFrame(predicted), "theory_measured": pd.DataFrame(measured),
            "theory": pd.DataFrame(stability)}


def analysis_tables(tidy: pd.DataFrame, policy: str = POLICY) -> dict[str, pd.DataFrame]:
    """Every table a figure reads, by the name :data:`registry.FIGURES` uses, computed by
    the analysis from synthetic tidy tables."""
    runs, signal_table, weights = synthetic_runs(tidy), synthetic_signal(tidy), synthetic_weights(tidy)
    stat = synthetic_stats(tidy, policy)
    trainability = signal_trainability(signal_table, runs, policy)
    return {
        "curves": learning_curves(tidy),
        "bootstrap": stat["bootstrap"],
        "divergence": stat["divergence"],
        "signal_profile": signal_profiles(signal_table),
        "trainability": trainability,
        "spearman": spearman_table(trainability),
        "rank_summary": rank_summary(stat["ranks"], stat["pairwise"], stat["bootstrap"]),
        "weights": weights,
        "weight_runs": weight_runs(runs, weights),
        "sensitivity": sensitivity_table(runs, policy),
        **synthetic_theory(),
    }


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return synthetic_tidy()


@pytest.fixture(scope="module")
def tables(tidy) -> dict[str, pd.DataFrame]:
    return analysis_tables(tidy)


@pytest.fixture(scope="module")
def drawn(tables) -> dict:
    """Every figure of the registry, drawn once."""
    return {f"{name}.pdf": registry.draw(entry, tables) for name, entry in registry.FIGURES.items()}


def _legend_labels(fig) -> list[str]:
    (legend,) = fig.legends
    return [text.get_text() for text in legend.get_texts()]


def _panels(fig) -> list:
    """The visible axes of a figure, its subfigures' included."""
    return [ax for ax in fig.get_axes() if ax.get_visible()]


def _assert_pdf(path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]


def _lines(ax) -> list:
    """The lines of a panel that carry a marker (means), not bars or error-bar caps."""
    return [line for line in ax.get_lines() if line.get_marker() not in ("None", "", "_", None)]


# ------------------------------------------------------------------ style


def test_styles_are_stable_and_sorted():
    styles = style.initializer_styles(["b", "a", "c", "a"])
    assert list(styles) == ["a", "b", "c"]
    assert style.initializer_styles(["c", "a", "b"]) == styles
    assert len({s["color"] for s in styles.values()}) == 3
    assert len({s["marker"] for s in styles.values()}) == 3


def test_every_figure_is_text_width_and_at_most_a_page(drawn):
    for name, fig in drawn.items():
        width, height = fig.get_size_inches()
        assert width == style.TEXT_WIDTH_IN and height <= style.MAX_HEIGHT_IN, name


def test_same_initializer_same_style_in_every_figure(drawn, tables):
    """Each initializer has one colour and marker in every figure's legend and points."""
    styles = style.initializer_styles(INITIALIZERS)
    expected = {label: (tuple(s["color"]), s["marker"]) for label, s in styles.items()}
    with_legend = [f"{n}.pdf" for n in registry.FIGURES if n not in ("heatmaps", "weight_histograms")]
    for name in with_legend:
        (legend,) = drawn[name].legends
        seen = {h.get_label(): (tuple(h.get_color()), h.get_marker()) for h in legend.legend_handles
                if h.get_label() in styles}
        assert seen == expected, name
    # the weight histograms fill each run's panels in its initializer's colour
    fig = drawn["weight_histograms.pdf"]
    for subfig, run in zip(fig.subfigs, tables["weight_runs"].itertuples()):
        fill = subfig.get_axes()[0].patches[0].get_facecolor()
        np.testing.assert_allclose(fill[:3], styles[run.initializer]["color"])


def test_legends_sit_outside_the_panels(drawn):
    """Every legend is the figure's, below all panels (after layout)."""
    for name, fig in drawn.items():
        if name == "heatmaps.pdf":  # colour bars, no legend
            continue
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # runs the constrained layout
        renderer = canvas.get_renderer()
        (legend,) = fig.legends
        top = legend.get_window_extent(renderer).y1
        lowest = min(ax.get_tightbbox(renderer).y0 for ax in _panels(fig))
        assert top <= lowest + 1, name
        assert all(ax.get_legend() is None for ax in _panels(fig)), name


def test_zero_floor():
    assert style.zero_floor(pd.Series([0.0, 3e-7, 2.0])) == pytest.approx(1e-8)
    assert style.zero_floor(pd.Series([0.5, 1.0])) == pytest.approx(1e-2)
    assert style.zero_floor(pd.Series([0.0, 0.0])) == 1.0


def test_same_tables_same_bytes(tables, tmp_path):
    """No creation date and no randomness in drawing: a figure is reproducible to the byte."""
    for name in ("a.pdf", "b.pdf"):
        style.save(registry.draw(registry.FIGURES["accuracy_vs_depth"], tables), tmp_path / name)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_figures_compute_no_statistic():
    """The figure modules import no statistics and aggregate nothing."""
    import inspect

    from initstudy.figures import comparison, registry, theory, weights

    for module in (style, curves, signal, comparison, weights, theory, registry):
        source = inspect.getsource(module)
        for banned in ("scipy", "initstudy.paper", ".mean()", ".agg(", "errorbar=", "n_boot", "lineplot",
                       "pointplot"):
            assert banned not in source, (module.__name__, banned)


# ------------------------------------------------------------------ training


def test_learning_curves(drawn, tables):
    fig = drawn["learning_curves.pdf"]
    panels = _panels(fig)
    # two metrics x 3 depths x 2 activations
    assert len(panels) == 2 * 3 * 2
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert "None" not in {h.get_linestyle() for h in fig.legends[0].legend_handles}
    assert {ax.get_title() for ax in panels} == {"relu", "tanh", ""}
    # each panel draws one mean line per initializer, in the shared colours, and its band
    styles = style.initializer_styles(INITIALIZERS)
    for ax in panels:
        colors = [tuple(line.get_color()) for line in ax.get_lines()]
        assert colors == [tuple(s["color"]) for s in styles.values()]
        assert len(ax.collections) == len(INITIALIZERS)
    labels = {sub.get_supylabel() for sub in fig.subfigs}
    assert labels == set(curves.CURVE_METRICS.values())
    # the lines are the table's means, accuracy in percent
    accuracy = fig.subfigs[0].get_axes()[0]  # relu, depth 2
    rows = tables["curves"].query("metric == 'val_accuracy' and activation == 'relu' and depth == 2"
                                  " and initializer == 'glorot_uniform'").sort_values("epoch")
    line = accuracy.get_lines()[list(styles).index("glorot_uniform")]
    np.testing.assert_allclose(line.get_ydata(), 100 * rows["mean"])
    band = accuracy.collections[list(styles).index("glorot_uniform")].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(100 * rows["ci_low"].min())
    assert band.max() == pytest.approx(100 * rows["ci_high"].max())


def test_learning_curves_loss_on_a_log_axis_when_it_helps(tables):
    loss = tables["curves"]["metric"] == "val_loss"
    wide = tables["curves"].assign(mean=tables["curves"]["mean"].where(~loss, tables["curves"]["mean"] * 100))
    wide.loc[loss & (wide["epoch"] == 1), "mean"] = 0.01
    fig = curves.draw_learning_curves(wide)
    assert fig.subfigs[1].get_axes()[0].get_yscale() == "log"
    assert fig.subfigs[0].get_axes()[0].get_yscale() == "linear"
    narrow = curves.draw_learning_curves(tables["curves"].assign(ci_low=0.5, ci_high=2.0, mean=1.0))
    assert narrow.subfigs[1].get_axes()[0].get_yscale() == "linear"


def test_accuracy_vs_depth(drawn, tables):
    fig = drawn["accuracy_vs_depth.pdf"]
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32"]
        assert ax.get_xlabel() == "Depth (hidden layers)"
    # the points are the bootstrap table's means in percent, dodged around each depth
    boot = tables["bootstrap"].query("activation == 'relu'")
    styles = list(style.initializer_styles(INITIALIZERS))
    lines = _lines(panels[0])
    assert len(lines) == len(styles)
    for label, line in zip(styles, lines):
        expected = boot[boot["initializer"] == label].sort_values("depth")["mean"].mul(100)
        np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    xs = np.array([line.get_xdata() for line in lines])
    assert (np.diff(xs, axis=0) > 0).all() and np.allclose(xs.mean(axis=0), [0, 1, 2])


def test_accuracy_vs_depth_error_bars_span_the_intervals(drawn, tables):
    ax = _panels(drawn["accuracy_vs_depth.pdf"])[0]
    boot = tables["bootstrap"].query("activation == 'relu'")
    (bars, *_) = [c for c in ax.collections if len(c.get_segments()) == 3]
    first = boot[boot["initializer"] == sorted(INITIALIZERS)[0]].sort_values("depth")
    spans = np.array([[seg[0][1], seg[1][1]] for seg in bars.get_segments()])
    np.testing.assert_allclose(np.sort(spans, axis=1), 100 * first[["ci_low", "ci_high"]].to_numpy())


def test_panels_per_arch_when_several():
    tidy = synthetic_tidy(archs=("mlp", "cnn"), depths=(2, 8), seeds=(0, 1), epochs=4)
    stat = synthetic_stats(tidy)
    fig = curves.draw_accuracy_vs_depth(stat["bootstrap"])
    assert [ax.get_title() for ax in _panels(fig)] == ["cnn, relu", "cnn, tanh", "mlp, relu", "mlp, tanh"]
    drawn = curves.draw_learning_curves(learning_curves(tidy))
    assert len(_panels(drawn)) == 2 * 2 * 4


# ------------------------------------------------------------------ signal


@pytest.mark.parametrize("metric", ["activation_std", "grad_norm"])
def test_signal_profile(drawn, tables, metric):
    """Per activation, the deepest network's per-layer mean over seeds on a log axis;
    exact zeros (the underflowing random_normal) drawn on a tick labelled 0."""
    name = {"activation_std": "activation_std_at_init.pdf", "grad_norm": "grad_norm_at_init.pdf"}[metric]
    fig = drawn[name]
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu (depth 32)", "tanh (depth 32)"]
    assert fig.get_supylabel() == signal.SIGNAL_METRICS[metric]
    relu = panels[0]
    assert relu.get_yscale() == "log"
    rows = tables["signal_profile"].query("metric == @metric")
    floor = style.zero_floor(pd.concat([rows["mean"], rows["ci_low"], rows["ci_high"]]))
    assert relu.get_yticklabels()[0].get_text() == "0" and relu.get_yticks()[0] == pytest.approx(floor)
    lines = dict(zip(style.initializer_styles(INITIALIZERS), relu.get_lines()))
    mean_seed_factor = np.mean([1 + s / 10 for s in (0, 1, 2)])
    np.testing.assert_allclose(lines["glorot_uniform"].get_ydata(), 0.8 ** np.arange(32) * mean_seed_factor)
    np.testing.assert_allclose(lines["he_normal"].get_ydata(), np.full(32, mean_seed_factor))
    assert lines["random_normal-stddev0.01"].get_ydata()[-1] == pytest.approx(floor)


def test_signal_profile_without_zeros_has_no_zero_tick(tidy):
    """Without exact zeros there is no 0 tick, and a narrow range gets 1-2-5 ticks."""
    table = signal_profiles(synthetic_signal(tidy[tidy["initializer"].isin(["he_normal", "lecun_normal"])]))
    ax = _panels(signal.draw_signal_profile(table, "activation_std"))[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "0" not in labels
    assert labels == ["0.05", "0.1", "0.2", "0.5", "1"]
    shallow = signal_profiles(synthetic_signal(synthetic_tidy(depths=(2,), seeds=(0,), epochs=1)))
    ax = _panels(signal.draw_signal_profile(shallow, "activation_std"))[0]
    assert all(float(x).is_integer() for x in ax.get_xticks())  # layers, not 1.2, 1.4, ...


def test_signal_vs_accuracy(drawn, tables):
    fig = drawn["signal_vs_accuracy.pdf"]
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    relu = panels[0]
    assert relu.get_xscale() == "symlog" and relu.get_xticklabels()[-1].get_text() == "∞"
    rho = tables["spearman"].set_index("setting").loc["relu", "rho"]
    assert [t.get_text() for t in relu.texts] == [f"ρ = {rho:.2f}".replace("-", "\N{MINUS SIGN}")]
    assert rho < 0 and "\N{MINUS SIGN}" in relu.texts[0].get_text()
    trainability = tables["trainability"]
    points = np.concatenate([c.get_offsets() for c in relu.collections])
    assert len(points) == (trainability["activation"] == "relu").sum()
    assert points[:, 0].max() == pytest.approx(relu.get_xticks()[-1])  # infinite distortions
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert {h.get_linestyle() for h in fig.legends[0].legend_handles} == {"None"}  # points, no lines


def test_signal_vs_accuracy_takes_rho_from_the_table(tables):
    """The printed rho is the spearman table's, whatever the points say."""
    spearman = tables["spearman"].assign(rho=[0.5, float("nan"), 0.1])
    relu, tanh = _panels(signal.draw_signal_vs_accuracy(tables["trainability"], spearman))
    assert [t.get_text() for t in relu.texts] == ["ρ = 0.50"]
    assert [t.get_text() for t in tanh.texts] == ["ρ undefined"]
    with pytest.raises(ValueError, match="tanh"):
        signal.draw_signal_vs_accuracy(tables["trainability"], spearman.iloc[[0]])


# ------------------------------------------------------------------ comparison


def test_heatmaps(drawn, tables):
    """Accuracy and divergence per initializer × depth, annotated in percent."""
    fig = drawn["heatmaps.pdf"]
    axes = [ax for ax in _panels(fig) if ax.get_title()]
    assert [ax.get_title() for ax in axes] == [
        "relu: test accuracy (%)", "relu: diverged (%)", "tanh: test accuracy (%)", "tanh: diverged (%)"
    ]
    boot = tables["bootstrap"].set_index(["activation", "initializer", "depth"])["mean"]
    texts = [t.get_text() for t in axes[0].texts]
    expected = [f"{100 * boot['relu', init, d]:.0f}" for init in sorted(INITIALIZERS) for d in (2, 8, 32)]
    assert texts == expected
    divergence = [t.get_text() for t in axes[3].texts]
    row = sorted(INITIALIZERS).index("random_normal-stddev0.01")
    assert divergence[3 * row: 3 * row + 3] == ["0", "0", "33"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == sorted(INITIALIZERS)


def test_mean_ranks(drawn, tables):
    fig = drawn["mean_ranks.pdf"]
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    relu = panels[0]
    assert [t.get_text() for t in relu.get_yticklabels()] == ["2", "8", "32", "all"]
    summary = tables["rank_summary"].query("activation == 'relu'")
    styles = style.initializer_styles(INITIALIZERS)
    drawn_ranks = {(line.get_color(), round(float(line.get_ydata()[0]))): float(line.get_xdata()[0])
                   for line in _lines(relu)}
    for y, depth in enumerate(("2", "8", "32", "all")):
        for label, rank in summary[summary["depth"] == depth].set_index("initializer")["mean_rank"].items():
            assert drawn_ranks[styles[label]["color"], y] == pytest.approx(rank)
    # 3 seeds: no Holm-corrected test can reject, so every bar spans all ranks at its depth
    bars = [line for line in relu.get_lines() if line.get_linewidth() == 5]
    assert len(bars) == 3
    for bar, depth in zip(bars, ("2", "8", "32")):
        cell = summary[summary["depth"] == depth]["mean_rank"]
        assert list(bar.get_xdata()) == pytest.approx([cell.min(), cell.max()])
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert {h.get_linestyle() for h in fig.legends[0].legend_handles} == {"None"}  # points, no lines


def test_mean_ranks_bar_spans_the_rows_with_the_best(tables):
    summary = tables["rank_summary"].copy()
    at_8 = (summary["depth"] == "8") & (summary["activation"] == "relu")
    best = summary.loc[at_8, "mean_rank"].idxmin()
    summary.loc[at_8, "with_best"] = False
    summary.loc[best, "with_best"] = True
    relu = _panels(registry.draw(registry.FIGURES["mean_ranks"], {"rank_summary": summary}))[0]
    bars = [line for line in relu.get_lines() if line.get_linewidth() == 5]
    assert list(bars[1].get_xdata()) == pytest.approx([summary.loc[best, "mean_rank"]] * 2)


# ------------------------------------------------------------------ weights


def test_weight_histograms(drawn, tables):
    fig = drawn["weight_histograms.pdf"]
    chosen = tables["weight_runs"]
    assert len(fig.subfigs) == len(chosen) == 4
    first = chosen.iloc[0]
    assert fig.subfigs[0]._suptitle.get_text().startswith(f"relu, {first['initializer']}: highest test accuracy")
    axes = fig.subfigs[0].get_axes()
    assert [ax.get_title() for ax in axes] == ["layer 1", "layer 16", "layer 32"]
    bins = tables["weights"].query("run_id == @first.run_id and layer == 1 and epoch == 0")
    init, final = axes[0].patches
    np.testing.assert_allclose(init.get_data().values, 100 * bins["count"] / bins["count"].sum())
    np.testing.assert_allclose(init.get_data().edges, [*bins["bin_left"], bins["bin_right"].iloc[-1]])
    assert init.get_fill() and not final.get_fill()
    assert _legend_labels(fig) == ["at initialization", "after training"]


# ------------------------------------------------------------------ theory


def test_theory_vs_measurement(drawn, tables):
    fig = drawn["theory_vs_measurement.pdf"]
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    assert all(ax.get_yscale() == "log" for ax in panels)
    low, high = panels[0].get_ylim()
    assert low >= np.finfo(np.float32).tiny and high <= np.finfo(np.float32).max
    assert _legend_labels(fig) == [*sorted(INITIALIZERS), "mean-field theory", "measured: median",
                                   "measured: range over runs"]
    predicted = tables["theory_predicted"].query("activation == 'relu' and initializer == 'glorot_uniform'")
    line = panels[0].get_lines()[2 * sorted(INITIALIZERS).index("glorot_uniform")]
    np.testing.assert_allclose(line.get_ydata(), predicted["predicted"])


def test_theory_marks_an_initializer_without_signal():
    theory = synthetic_theory(labels=("he_normal", "zeros"), activations=("relu",), depth=4)
    fig = registry.draw(registry.FIGURES["theory_vs_measurement"], theory)
    assert _legend_labels(fig)[:2] == ["he_normal", "zeros (variance 0: not drawn)"]
    ax = _panels(fig)[0]
    assert ax.get_yscale() == "log" and ax.get_yticklabels()[0].get_text() != ""  # narrow: plain 1-2-5 labels


# ------------------------------------------------------------------ registry and files


def test_registry_names_every_figure_and_its_tables():
    assert list(registry.FIGURES) == [
        "learning_curves", "accuracy_vs_depth", "activation_std_at_init", "grad_norm_at_init",
        "signal_vs_accuracy", "heatmaps", "mean_ranks", "weight_histograms", "learning_rate_sensitivity",
        "theory_vs_measurement",
    ]
    tables = {t for entry in catalog.FIGURES for t in entry.draws}
    assert tables == {"curves", "bootstrap", "divergence", "signal_profile", "trainability", "spearman",
                      "rank_summary", "weights", "weight_runs", "sensitivity", "theory_predicted", "theory_measured",
                      "theory"}


def test_write_draws_every_figure_from_table_files(tmp_path):
    """Tables written as the analysis writes them (CSV; weights as Parquet), read back
    once each, draw every figure as a PDF."""
    tables = analysis_tables(synthetic_tidy(depths=(2, 32), seeds=(0, 1), epochs=3), policy="exclude")
    paths = {}
    for name, table in tables.items():
        paths[name] = tmp_path / "tables" / (f"{name}.parquet" if name == "weights" else f"{name}.csv")
        paths[name].parent.mkdir(exist_ok=True)
        if name == "weights":
            table.to_parquet(paths[name])
        else:
            table.to_csv(paths[name], index=False)
    written = registry.write([tmp_path / "figures" / f"{name}.pdf" for name in registry.FIGURES], paths)
    assert [p.stem for p in written] == list(registry.FIGURES)
    for path in written:
        _assert_pdf(path)
    read = read_table(paths["trainability"])
    assert np.isinf(read["distortion"]).any()  # infinite distortions survive the CSV
    assert read_table(paths["rank_summary"])["with_best"].dtype == "boolean"
    with pytest.raises(ValueError, match="no figure named"):
        registry.write([tmp_path / "nope.pdf"], {})


# ------------------------------------------------------------------ the analysis the figures draw
# (these functions were the figures' until the analysis took them over)


def test_deepest_at_init(tidy):
    init = deepest_at_init(synthetic_signal(tidy))
    assert set(init["epoch"]) == {0} and set(init["depth"]) == {32}
    assert len(init) == 2 * len(INITIALIZERS) * 3 * 32


def test_signal_trainability(tidy):
    """Distortion is |log10| of the last layer's activation std at init (inf at 0);
    the score follows the diverged policy."""
    signal_table, runs = synthetic_signal(tidy), synthetic_runs(tidy)
    frame = signal_trainability(signal_table, runs, "chance")
    assert len(frame) == runs["run_id"].nunique()
    row = frame.set_index("run_id").loc["mnist1d-mlp-relu-adam-d8-glorot_uniform-s0"]
    assert row["distortion"] == pytest.approx(7 * -np.log10(0.8))
    deep = frame[(frame["depth"] == 32) & (frame["initializer"] == "random_normal-stddev0.01")]
    assert np.isinf(deep["distortion"]).all()
    diverged = frame[frame["diverged"]]
    assert len(diverged) == len(DIVERGED) and (diverged["score"] == 0.1).all()
    excluded = signal_trainability(signal_table, runs, "exclude")
    assert excluded.loc[excluded["diverged"], "score"].isna().all()


def test_spearman_is_scipys_and_nan_when_undefined():
    frame = pd.DataFrame({"distortion": [0.1, 2.0, np.inf, 0.5], "score": [0.9, 0.4, 0.1, 0.8]})
    assert spearman(frame) == {"n": 4, "rho": pytest.approx(-1.0), "p_value": pytest.approx(0.0)}
    assert np.isnan(spearman(frame.assign(score=0.5))["rho"])
    assert spearman(frame.iloc[:2])["n"] == 2 and np.isnan(spearman(frame.iloc[:2])["rho"])


def _cell(initializers, ranks, rejected=()):
    """A ranks and a pairwise table of one cell; ``rejected`` pairs (winner, loser)."""
    ranks_table = pd.DataFrame({"initializer": initializers, "mean_rank": ranks, "depth": 4})
    rows = []
    for a, b in itertools.combinations(sorted(initializers), 2):
        winner = next((w for w, loser in rejected if {w, loser} == {a, b}), None)
        rows.append({"initializer_a": a, "initializer_b": b, "depth": 4,
                     "reject": winner is not None, "mean_diff": 0.1 if winner == a else -0.1})
    return ranks_table, pd.DataFrame(rows).astype({"reject": "boolean"})


def test_not_worse_than_best():
    ranks, pairs = _cell(["a", "b", "c", "d"], [2.0, 1.0, 3.0, 4.0], rejected=[("b", "d")])
    group = not_worse_than_best("b", ranks.set_index("initializer")["mean_rank"], pairs)
    assert group == ["b", "a", "c"]
    pairs.loc[:, "reject"] = pd.NA  # no test: nothing is beaten
    assert not_worse_than_best("b", ranks.set_index("initializer")["mean_rank"], pairs) == ["b", "a", "c", "d"]


def test_weight_runs_choose_highest_and_lowest_and_skip_constants(tidy):
    runs, weights = synthetic_runs(tidy), synthetic_weights(tidy)
    chosen = weight_runs(runs, weights)
    assert set(chosen["depth"]) == {32} and set(chosen["seed"]) == {0}
    final = runs.query("depth == 32 and seed == 0")
    for activation, picks in chosen.groupby("activation"):
        accuracy = final[final["activation"] == activation].set_index("initializer")["test_accuracy"]
        assert list(picks["choice"]) == ["highest", "lowest"]
        assert list(picks["initializer"]) == [accuracy.idxmax(), accuracy.idxmin()]
    # a constant initializer's weights (one occupied bin) are never chosen
    lowest = chosen.loc[chosen["choice"] == "lowest", "run_id"]
    constant = weights[~weights["run_id"].isin(lowest)].copy()
    constant = pd.concat([constant, weights[weights["run_id"].isin(lowest)].assign(
        count=lambda w: np.where(w["bin_left"] == w.groupby(["run_id", "epoch", "layer"])["bin_left"].transform("min"),
                                 500, 0))])
    again = weight_runs(runs, constant)
    assert not again["run_id"].isin(lowest).any()
