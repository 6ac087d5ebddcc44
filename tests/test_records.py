"""Records: written atomically, read back equal, and refused by path and reason when bad."""

import json

import pandas as pd
import pytest

from initstudy.analysis import stats
from initstudy.core.atomic import write_text
from initstudy.study.fields import EPOCH_METRICS, RUN_FIELDS
from initstudy.study.paths import TABLES
from initstudy.tables import build
from initstudy.train import records


def a_record(run_id="digits/mlp/relu/adam/d2/he_normal/s0", seed=0, diverged_epoch=None):
    dataset, arch, act, opt, depth, init, s = run_id.split("/")
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5, "val_loss": 1.1 / e,
                "val_accuracy": 0.4} for e in (1, 2)]
    if diverged_epoch:
        history[diverged_epoch - 1].update(train_loss=None, train_accuracy=None, val_loss=None, val_accuracy=None)
    fields = {"dataset": dataset, "arch": arch, "activation": act, "optimizer": opt, "depth": int(depth[1:]),
              "seed": seed}
    return {
        "schema_version": 2,
        "run": {"run_id": run_id, **fields, "initializer": init, "initializer_spec": {"name": init, "label": init},
                },
        "identity": {"hash": "0123456789abcdef", "version": 1, "fields": fields, "initializer": {"name": init},
                     "training": {"epochs": 2}, "keras_backend": "tensorflow", "deterministic": True,
                     "data": "scikit-learn load_digits (bundled file)"},
        "training": {"epochs": 2, "batch_size": 32, "width": 16, "learning_rate": {"adam": 0.001}},
        "data": {"num_classes": 10, "input_shape": [8, 8, 1], "n_train": 100, "n_val": 10, "n_test": 20},
        "seeds": {"init": 1, "data_order": 2, "split": 3},
        "history": history,
        "signal": [{"epoch": 0, "layer": 1, "activation_mean": 0.1, "activation_std": 1.0,
                    "preactivation_var": 1.0, "saturated_fraction": None, "dead_fraction": 0.0,
                    "grad_norm": 0.3, "kernel_std": 0.2}],
        "weights": [{"epoch": e, "layer": 1, "bin_edges": [-1.0, 0.0, 0.5, 1.0], "counts": [1, 2, 3]}
                    for e in (0, 2)],
        "test": {"loss": 0.9, "accuracy": 0.6},
        "diverged": diverged_epoch is not None, "diverged_epoch": diverged_epoch,
        "wall_time_s": 1.5,
        "pack": {"id": "p", "size": 1, "index": 0, "wall_time_s": 1.5},
        "execution": {"threads": 1, "pack_size": 1, "bitwise_reproducible_at": "the same thread count"},
        "provenance": {"initstudy": "0", "git_commit": "abc", "packages": {}, "python": "3.11", "host": "h",
                       "platform": "p", "cpu": "c", "devices": ["CPU"], "keras_backend": "tensorflow",
                       "deterministic": True, "created": "now"},
    }


def test_round_trip(tmp_path):
    path = tmp_path / "r" / "record.json"
    records.write(path, a_record())
    assert records.read(path) == a_record()
    assert not [p for p in path.parent.iterdir() if p.name != "record.json"]  # no temp file left


def test_nan_is_written_as_null():
    assert records.finite_or_none(float("nan")) is None and records.finite_or_none(float("inf")) is None
    assert records.finite_or_none(2) == 2.0


def test_truncated_record_is_refused_with_its_path(tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(a_record())[:200])
    with pytest.raises(records.RecordError, match=rf"{path}: not valid JSON \(corrupt or partial record\)"):
        records.read(path)


def test_schema_violation_names_the_field(tmp_path):
    bad = a_record()
    bad["history"][1]["val_accuracy"] = "high"
    path = tmp_path / "record.json"
    write_text(path, json.dumps(bad))
    with pytest.raises(records.RecordError, match=rf"{path}: invalid record at history/1/val_accuracy"):
        records.read(path)


def test_writing_an_invalid_record_leaves_the_old_one(tmp_path):
    path = tmp_path / "record.json"
    records.write(path, a_record())
    bad = a_record()
    del bad["test"]
    with pytest.raises(records.RecordError, match="'test' is a required property"):
        records.write(path, bad)
    assert records.read(path) == a_record()


def write_records(tmp_path, runs=((0, None), (1, 2))) -> list:
    """Records of he_normal at seeds 0 and 1, the second diverged at epoch 2."""
    paths = []
    for seed, diverged in runs:
        run_id = f"digits/mlp/relu/adam/d2/he_normal/s{seed}"
        paths.append(tmp_path / run_id / "record.json")
        records.write(paths[-1], a_record(run_id, seed, diverged))
    return paths


def test_frames_are_typed_tidy_tables_with_one_row_per_what_they_describe(tmp_path):
    paths = write_records(tmp_path)
    tables = build.frames([records.read(p) for p in paths])
    assert list(tables) == list(TABLES)
    runs, history, signal, weights, jacobian = (tables[name] for name in TABLES)
    assert list(runs.columns) == build.RUN_COLUMNS and list(history.columns) == build.HISTORY_COLUMNS
    assert list(signal.columns) == build.SIGNAL_COLUMNS and list(weights.columns) == build.WEIGHTS_COLUMNS
    assert list(jacobian.columns) == build.JACOBIAN_COLUMNS and jacobian.empty  # none asked for
    # runs: one row per run, its last epoch's metrics and the test's
    assert len(runs) == 2 and runs["run_id"].is_unique
    assert runs["epochs_trained"].tolist() == [2, 2]
    first = runs.iloc[0]
    assert (first["val_loss"], first["train_accuracy"]) == (pytest.approx(1.1 / 2), 0.5)
    assert (first["test_accuracy"], first["test_loss"], first["wall_time_s"]) == (0.6, 0.9, 1.5)
    assert (first["pack_id"], first["keras_backend"], first["num_classes"]) == ("p", "tensorflow", 10)
    assert bool(first["deterministic"]) and not first["diverged"] and pd.isna(first["diverged_epoch"])
    diverged = runs.iloc[1]
    assert diverged["diverged"] and diverged["diverged_epoch"] == 2
    assert runs.loc[1, list(EPOCH_METRICS)].isna().all()  # the epoch it diverged at has no metrics
    # history: one row per run and epoch
    assert len(history) == 4 and history[["run_id", "epoch"]].drop_duplicates().shape[0] == 4
    assert history["val_loss"].isna().sum() == 1 and history["val_loss"].iloc[0] == pytest.approx(1.1)
    assert "test_accuracy" not in history and "diverged" not in history
    assert len(signal) == 2 and len(weights) == 2 * 2 * 3
    assert weights.groupby(["run_id", "epoch"])["count"].sum().eq(6).all()
    # types
    assert runs["depth"].dtype == "int64" and runs["diverged_epoch"].dtype == "Int64"
    assert runs["initializer"].dtype == "string" and runs["val_loss"].dtype == "float64"
    assert runs["diverged"].dtype == bool and runs["epochs_trained"].dtype == "int64"
    assert json.loads(runs["initializer_spec"].iloc[0]) == {"name": "he_normal", "label": "he_normal"}
    assert history["epoch"].dtype == "int64" and weights["count"].dtype == "int64"
    assert signal["saturated_fraction"].dtype == "float64"
    for table in tables.values():
        assert list(table.columns[: len(RUN_FIELDS)]) == list(RUN_FIELDS)


def test_the_runs_table_is_what_the_statistics_take(tmp_path):
    runs = build.frames([records.read(p) for p in write_records(tmp_path)])["runs"]
    tables = stats.compute_all(runs, n_resamples=99)
    row = tables["bootstrap"].iloc[0]
    assert (row["n"], row["mean"]) == (2, pytest.approx((0.6 + 0.1) / 2))  # diverged: chance, 1/10
    assert tables["divergence"].iloc[0]["n_diverged"] == 1


def test_write_tables_writes_each_frame_and_the_provenance(tmp_path):
    paths = write_records(tmp_path)
    outputs = {name: tmp_path / "out" / f"{name}.parquet" for name in TABLES}
    build.write_tables(paths, outputs, tmp_path / "out" / "prov.json")
    expected = build.frames([records.read(p) for p in paths])
    for name, path in outputs.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), expected[name])
    provenance = json.loads((tmp_path / "out" / "prov.json").read_text())
    assert provenance["git_commits"] == ["abc"] and provenance["keras_backends"] == ["tensorflow"]
    assert provenance["hosts"] == ["h"] and provenance["python"] == "3.11"


def test_write_tables_refuses_a_corrupt_record_naming_it(tmp_path):
    good = tmp_path / "a" / "record.json"
    records.write(good, a_record())
    corrupt = tmp_path / "b" / "record.json"
    corrupt.parent.mkdir()
    corrupt.write_text('{"schema_version": 1, "run": ')
    outputs = {name: tmp_path / f"{name}.parquet" for name in TABLES}
    with pytest.raises(records.RecordError, match=str(corrupt)):
        build.write_tables([good, corrupt], outputs, tmp_path / "p.json")
    assert not any(path.exists() for path in outputs.values())
    assert not (tmp_path / "p.json").exists()
