"""Figures from synthetic tidy tables: valid PDFs whose panels, legends and plotted
values are those the tables say."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from initstudy import figures

from initstudy.analysis import stats

INITIALIZERS = ("he_normal", "glorot_uniform", "random_normal-stddev0.01", "lecun_normal")
STRING_COLUMNS = [
    "run_id", "dataset", "arch", "activation", "optimizer", "initializer", "pack_id", "keras_backend"
]
#: (arch, activation, depth, initializer, seed) -> epoch at which that run diverged.
DIVERGED = {
    ("mlp", "tanh", 32, "random_normal-stddev0.01", 1): 4,
    ("mlp", "relu", 32, "glorot_uniform", 2): 6,
}


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
    """A tidy table like ``results/runs.parquet``: one row per run and epoch, with
    several initializers, depths, activations and seeds, and two diverged runs."""
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


#: Per-layer gain of the synthetic signal at initialization, per initializer: the
#: activation std of layer l is GAIN ** (l - 1), so 0.01 underflows float32 (to 0).
GAIN = {"he_normal": 1.0, "glorot_uniform": 0.8, "random_normal-stddev0.01": 0.01, "lecun_normal": 0.9}
#: Std of the synthetic weights per initializer (before and after training).
WEIGHT_STD = {"he_normal": 0.2, "glorot_uniform": 0.1, "random_normal-stddev0.01": 0.01, "lecun_normal": 0.15}
RUN_FIELDS = ["run_id", "dataset", "arch", "activation", "optimizer", "depth", "initializer", "seed"]


def synthetic_signal(tidy: pd.DataFrame, epochs=(0, 1)) -> pd.DataFrame:
    """A table like ``results/signal.parquet`` for the runs of ``tidy``: activation std
    and gradient norm GAIN ** (l - 1) at layer l (seed s scales them by 1 + s/10),
    values below float32's smallest normal number set to 0."""
    rows = []
    for run in tidy.drop_duplicates("run_id")[RUN_FIELDS].itertuples(index=False):
        for epoch, layer in itertools.product(epochs, range(1, run.depth + 1)):
            value = GAIN[run.initializer] ** (layer - 1) * (1 + run.seed / 10)
            value = value if value > np.finfo(np.float32).tiny else 0.0
            rows.append({**run._asdict(), "epoch": epoch, "layer": layer, "activation_mean": 0.0,
                         "activation_std": value, "preactivation_var": value**2, "saturated_fraction": np.nan,
                         "dead_fraction": np.nan, "grad_norm": value, "kernel_std": 0.1})
    return pd.DataFrame(rows)


def synthetic_weights(tidy: pd.DataFrame, bins: int = 40) -> pd.DataFrame:
    """A table like ``results/weights.parquet``: per run, hidden layers 1, ceil(depth/2)
    and depth, at epoch 0 and the last epoch, 40 common bins; Gaussian counts whose std
    is WEIGHT_STD at initialization and 1.5 times it after training."""
    rng = np.random.default_rng(1)
    rows = []
    last = int(tidy["epoch"].max())
    for run in tidy.drop_duplicates("run_id")[RUN_FIELDS].itertuples(index=False):
        std = WEIGHT_STD[run.initializer]
        for layer in sorted({1, math.ceil(run.depth / 2), run.depth}):
            samples = {0: rng.normal(0, std, 500), last: rng.normal(0, 1.5 * std, 500)}
            edges = np.histogram_bin_edges(np.concatenate(list(samples.values())), bins)
            for epoch, values in samples.items():
                counts, _ = np.histogram(values, edges)
                rows += [{**run._asdict(), "epoch": epoch, "layer": layer, "bin_left": lo, "bin_right": hi,
                          "count": int(c)} for lo, hi, c in zip(edges[:-1], edges[1:], counts)]
    return pd.DataFrame(rows)


def synthetic_stats(tidy: pd.DataFrame, policy: str = "chance") -> dict[str, pd.DataFrame]:
    """The stats tables of ``tidy`` (few bootstrap resamples, to be quick)."""
    return stats.compute_all(stats.final_results(tidy), diverged_policy=policy, n_resamples=199)


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return synthetic_tidy()


@pytest.fixture(scope="module")
def tables(tidy) -> dict[str, pd.DataFrame]:
    """Every table a figure reads, by the name :data:`figures.FIGURES` uses."""
    return {"runs": tidy, "signal": synthetic_signal(tidy), "weights": synthetic_weights(tidy),
            **synthetic_stats(tidy)}


def _legend_labels(fig) -> list[str]:
    (legend,) = fig.legends
    return [text.get_text() for text in legend.get_texts()]


def _panels(fig) -> list:
    """The visible axes of a figure, its subfigures' included."""
    return [ax for ax in fig.get_axes() if ax.get_visible()]


def _assert_pdf(path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]


def test_styles_are_stable_and_sorted():
    styles = figures.initializer_styles(["b", "a", "c", "a"])
    assert list(styles) == ["a", "b", "c"]
    assert figures.initializer_styles(["c", "a", "b"]) == styles
    assert len({s["color"] for s in styles.values()}) == 3
    assert len({s["marker"] for s in styles.values()}) == 3


def test_learning_curves(tables):
    fig = figures.draw("learning_curves.pdf", tables)
    panels = _panels(fig)
    # two metrics x 3 depths x 2 activations
    assert len(panels) == 2 * 3 * 2
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert "None" not in {h.get_linestyle() for h in fig.legends[0].legend_handles}
    assert {ax.get_title() for ax in panels} == {"relu", "tanh", ""}
    # each panel draws one mean line per initializer, in the shared colours
    styles = figures.initializer_styles(INITIALIZERS)
    for ax in panels:
        colors = [tuple(line.get_color()) for line in ax.get_lines()]
        assert colors == [tuple(s["color"]) for s in styles.values()]
    labels = {sub.get_supylabel() for sub in fig.subfigs}
    assert labels == set(figures.CURVE_METRICS.values())


def test_accuracy_vs_depth(tables):
    fig = figures.draw("accuracy_vs_depth.pdf", tables)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32"]
        assert ax.get_xlabel() == "Depth (hidden layers)"


def test_accuracy_vs_depth_means_are_percent(tidy):
    """The plotted points are the per-run means of test accuracy, in percent."""
    fig = figures.draw_accuracy_vs_depth(tidy)
    relu = _panels(fig)[0]
    runs = tidy.drop_duplicates("run_id")
    expected = (
        runs[runs["activation"] == "relu"]
        .groupby(["initializer", "depth"])["test_accuracy"]
        .mean()
        .mul(100)
    )
    styles = list(figures.initializer_styles(INITIALIZERS))
    mean_lines = [line for line in relu.get_lines() if line.get_marker() != "None"]
    for label, line in zip(styles, mean_lines):
        np.testing.assert_allclose(line.get_ydata(), expected[label].to_numpy())


def test_panels_per_arch_when_several():
    tidy = synthetic_tidy(archs=("mlp", "cnn"), depths=(2, 8), seeds=(0, 1), epochs=4)
    fig = figures.draw_accuracy_vs_depth(tidy)
    assert [ax.get_title() for ax in _panels(fig)] == [
        "cnn, relu", "cnn, tanh", "mlp, relu", "mlp, tanh"
    ]
    curves = figures.draw_learning_curves(tidy)
    assert len(_panels(curves)) == 2 * 2 * 4


def test_zero_floor():
    assert figures.zero_floor(pd.Series([0.0, 3e-7, 2.0])) == pytest.approx(1e-8)
    assert figures.zero_floor(pd.Series([0.5, 1.0])) == pytest.approx(1e-2)
    assert figures.zero_floor(pd.Series([0.0, 0.0])) == 1.0


def test_deepest_at_init(tables):
    init = figures.deepest_at_init(tables["signal"])
    assert set(init["epoch"]) == {0} and set(init["depth"]) == {32}
    assert len(init) == 2 * len(INITIALIZERS) * 3 * 32


@pytest.mark.parametrize("metric", ["activation_std", "grad_norm"])
def test_signal_profile(tables, metric):
    """Per activation, the deepest network's per-layer mean over seeds on a log axis;
    exact zeros (the underflowing random_normal) drawn on a tick labelled 0."""
    name = {"activation_std": "activation_std_at_init.pdf", "grad_norm": "grad_norm_at_init.pdf"}[metric]
    fig = figures.draw(name, tables)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu (depth 32)", "tanh (depth 32)"]
    assert fig.get_supylabel() == figures.SIGNAL_METRICS[metric]
    relu = panels[0]
    assert relu.get_yscale() == "log"
    floor = figures.zero_floor(tables["signal"].query("epoch == 0")[metric])
    assert relu.get_yticklabels()[0].get_text() == "0" and relu.get_yticks()[0] == pytest.approx(floor)
    lines = dict(zip(figures.initializer_styles(INITIALIZERS), relu.get_lines()))
    mean_seed_factor = np.mean([1 + s / 10 for s in (0, 1, 2)])
    np.testing.assert_allclose(lines["glorot_uniform"].get_ydata(), 0.8 ** np.arange(32) * mean_seed_factor)
    np.testing.assert_allclose(lines["he_normal"].get_ydata(), np.full(32, mean_seed_factor))
    assert lines["random_normal-stddev0.01"].get_ydata()[-1] == pytest.approx(floor)


def test_signal_trainability(tables):
    """Distortion is |log10| of the last layer's activation std at init (inf at 0);
    the score follows the diverged policy."""
    runs = figures.signal_trainability(tables["signal"], tables["runs"], "chance")
    assert len(runs) == tables["runs"]["run_id"].nunique()
    row = runs.set_index("run_id").loc["mnist1d-mlp-relu-adam-d8-glorot_uniform-s0"]
    assert row["distortion"] == pytest.approx(7 * -np.log10(0.8))
    deep = runs[(runs["depth"] == 32) & (runs["initializer"] == "random_normal-stddev0.01")]
    assert np.isinf(deep["distortion"]).all()
    diverged = runs[runs["diverged"]]
    assert len(diverged) == len(DIVERGED) and (diverged["score"] == 0.1).all()
    excluded = figures.signal_trainability(tables["signal"], tables["runs"], "exclude")
    assert excluded.loc[excluded["diverged"], "score"].isna().all()


def test_spearman_is_scipys_and_nan_when_undefined():
    frame = pd.DataFrame({"distortion": [0.1, 2.0, np.inf, 0.5], "score": [0.9, 0.4, 0.1, 0.8]})
    assert figures.spearman(frame) == {"n": 4, "rho": pytest.approx(-1.0), "p_value": pytest.approx(0.0)}
    constant = frame.assign(score=0.5)
    assert np.isnan(figures.spearman(constant)["rho"])
    assert figures.spearman(frame.iloc[:2])["n"] == 2 and np.isnan(figures.spearman(frame.iloc[:2])["rho"])


def test_signal_vs_accuracy(tables):
    fig = figures.draw("signal_vs_accuracy.pdf", tables, diverged_policy="chance")
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    relu = panels[0]
    assert relu.get_xscale() == "symlog" and relu.get_xticklabels()[-1].get_text() == "∞"
    trainability = figures.signal_trainability(tables["signal"], tables["runs"], "chance")
    rho = figures.spearman(trainability[trainability["activation"] == "relu"])["rho"]
    assert [t.get_text() for t in relu.texts] == [f"ρ = {rho:.2f}".replace("-", "\N{MINUS SIGN}")]
    points = np.concatenate([c.get_offsets() for c in relu.collections])
    assert len(points) == (trainability["activation"] == "relu").sum()
    assert points[:, 0].max() == pytest.approx(relu.get_xticks()[-1])  # infinite distortions


def test_heatmaps(tables):
    """Accuracy and divergence per initializer × depth, annotated in percent."""
    fig = figures.draw("heatmaps.pdf", tables)
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
    group = figures.not_worse_than_best(ranks.set_index("initializer")["mean_rank"], pairs)
    assert group == ["b", "a", "c"]
    pairs.loc[:, "reject"] = pd.NA  # no test: nothing is beaten
    assert figures.not_worse_than_best(ranks.set_index("initializer")["mean_rank"], pairs) == ["b", "a", "c", "d"]


def test_mean_ranks(tables):
    fig = figures.draw("mean_ranks.pdf", tables)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["relu", "tanh"]
    relu = panels[0]
    assert [t.get_text() for t in relu.get_yticklabels()] == ["2", "8", "32", "all"]
    ranks = tables["ranks"][tables["ranks"]["activation"] == "relu"]
    styles = figures.initializer_styles(INITIALIZERS)
    points = [line for line in relu.get_lines() if line.get_marker() not in ("None", "")]
    drawn = {(line.get_color(), round(float(line.get_ydata()[0]))): float(line.get_xdata()[0]) for line in points}
    for y, depth in enumerate((2, 8, 32)):
        for label, rank in ranks[ranks["depth"] == depth].set_index("initializer")["mean_rank"].items():
            assert drawn[styles[label]["color"], y] == pytest.approx(rank)
    overall = figures.mean_rank_over_cells(ranks, [])
    for label, rank in overall.items():
        assert drawn[styles[label]["color"], 3] == pytest.approx(rank)
    # 3 seeds: no Holm-corrected test can reject, so every bar spans all ranks
    bars = [line for line in relu.get_lines() if line.get_linewidth() == 5]
    for bar, depth in zip(bars, (2, 8, 32)):
        cell = ranks[ranks["depth"] == depth]["mean_rank"]
        assert list(bar.get_xdata()) == pytest.approx([cell.min(), cell.max()])
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert {h.get_linestyle() for h in fig.legends[0].legend_handles} == {"None"}  # points, no lines


def test_weight_runs_choose_highest_and_lowest_and_skip_constants(tables):
    runs, weights = tables["runs"], tables["weights"]
    chosen = figures.weight_runs(runs, weights)
    assert set(chosen["depth"]) == {32} and set(chosen["seed"]) == {0}
    final = runs.drop_duplicates("run_id").query("depth == 32 and seed == 0")
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
    again = figures.weight_runs(runs, constant)
    assert not again["run_id"].isin(lowest).any()


def test_weight_histograms(tables):
    fig = figures.draw("weight_histograms.pdf", tables)
    chosen = figures.weight_runs(tables["runs"], tables["weights"])
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


def test_same_table_same_bytes(tables, tmp_path):
    """Fixed bootstrap seed and no creation date: a figure is reproducible to the byte."""
    for name in ("a.pdf", "b.pdf"):
        figures.save(figures.draw("accuracy_vs_depth.pdf", tables), tmp_path / name)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_write_draws_every_figure_from_table_files(tmp_path):
    tidy = synthetic_tidy(depths=(2, 8), seeds=(0, 1), epochs=3)
    paths = {"runs": tmp_path / "runs.parquet", "signal": tmp_path / "signal.parquet",
             "weights": tmp_path / "weights.parquet"}
    tidy.to_parquet(paths["runs"])
    synthetic_signal(tidy).to_parquet(paths["signal"])
    synthetic_weights(tidy).to_parquet(paths["weights"])
    stats.write_all(synthetic_stats(tidy), tmp_path / "stats")
    paths |= {name: tmp_path / "stats" / f"{name}.csv" for name in ("bootstrap", "divergence", "ranks", "pairwise")}
    written = figures.write([tmp_path / "figures" / name for name in figures.FIGURES], paths,
                            diverged_policy="exclude")
    assert [p.name for p in written] == list(figures.FIGURES)
    for path in written:
        _assert_pdf(path)
    assert figures.read_table(paths["pairwise"])["reject"].dtype == "boolean"


def test_main_draws_the_figures_of_the_run_table(tmp_path):
    tidy_path = tmp_path / "runs.parquet"
    synthetic_tidy(depths=(2, 8), seeds=(0, 1), epochs=3).to_parquet(tidy_path)
    paths = figures.main(tidy_path, tmp_path / "figures")
    assert [p.name for p in paths] == ["learning_curves.pdf", "accuracy_vs_depth.pdf"]
    for path in paths:
        _assert_pdf(path)


def test_signal_profile_without_zeros_has_no_zero_tick(tidy):
    """Without exact zeros there is no 0 tick, and a narrow range gets 1-2-5 ticks."""
    signal = synthetic_signal(tidy[tidy["initializer"].isin(["he_normal", "lecun_normal"])])
    ax = _panels(figures.draw_signal_profile(signal, "activation_std"))[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "0" not in labels
    assert labels == ["0.05", "0.1", "0.2", "0.5", "1"]
    shallow = synthetic_signal(synthetic_tidy(depths=(2,), seeds=(0,), epochs=1))
    ax = _panels(figures.draw_signal_profile(shallow, "activation_std"))[0]
    assert all(float(x).is_integer() for x in ax.get_xticks())  # layers, not 1.2, 1.4, ...
