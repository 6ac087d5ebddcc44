"""Figures from a synthetic tidy table: valid PDFs with the expected panels and legends."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from initstudy import figures

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


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return synthetic_tidy()


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


def test_learning_curves(tidy, tmp_path):
    path = tmp_path / "curves.pdf"
    fig = figures.learning_curves(tidy, path)
    _assert_pdf(path)
    panels = _panels(fig)
    # two metrics x 3 depths x 2 activations
    assert len(panels) == 2 * 3 * 2
    assert _legend_labels(fig) == sorted(INITIALIZERS)
    assert {ax.get_title() for ax in panels} == {"relu", "tanh", ""}
    # each panel draws one mean line per initializer, in the shared colours
    styles = figures.initializer_styles(INITIALIZERS)
    for ax in panels:
        colors = [tuple(line.get_color()) for line in ax.get_lines()]
        assert colors == [tuple(s["color"]) for s in styles.values()]
    labels = {sub.get_supylabel() for sub in fig.subfigs}
    assert labels == set(figures.CURVE_METRICS.values())


def test_accuracy_vs_depth(tidy, tmp_path):
    path = tmp_path / "depth.pdf"
    fig = figures.accuracy_vs_depth(tidy, path)
    _assert_pdf(path)
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


def test_panels_per_arch_when_several(tmp_path):
    tidy = synthetic_tidy(archs=("mlp", "cnn"), depths=(2, 8), seeds=(0, 1), epochs=4)
    fig = figures.draw_accuracy_vs_depth(tidy)
    assert [ax.get_title() for ax in _panels(fig)] == [
        "cnn, relu", "cnn, tanh", "mlp, relu", "mlp, tanh"
    ]
    curves = figures.draw_learning_curves(tidy)
    assert len(_panels(curves)) == 2 * 2 * 4


def test_same_table_same_bytes(tidy, tmp_path):
    """Fixed bootstrap seed and no creation date: a figure is reproducible to the byte."""
    figures.accuracy_vs_depth(tidy, tmp_path / "a.pdf")
    figures.accuracy_vs_depth(tidy, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_main_writes_every_figure(tmp_path):
    tidy_path = tmp_path / "runs.parquet"
    synthetic_tidy(depths=(2, 8), seeds=(0, 1), epochs=3).to_parquet(tidy_path)
    paths = figures.main(tidy_path, tmp_path / "figures")
    assert [p.name for p in paths] == list(figures.FIGURES)
    for path in paths:
        _assert_pdf(path)
