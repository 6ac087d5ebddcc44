"""Records: written atomically, read back equal, and refused by path and reason when bad."""

import json

import pandas as pd
import pytest

from initstudy.tables import build as aggregate

from initstudy.train import records
from initstudy.core.atomic import write_text


def a_record(run_id="digits/mlp/relu/adam/d2/he_normal/s0", seed=0, diverged_epoch=None):
    dataset, arch, act, opt, depth, init, s = run_id.split("/")
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5, "val_loss": 1.1 / e,
                "val_accuracy": 0.4} for e in (1, 2)]
    if diverged_epoch:
        history[diverged_epoch - 1].update(train_loss=None, train_accuracy=None, val_loss=None, val_accuracy=None)
    return {
        "schema_version": 1,
        "run": {"run_id": run_id, "dataset": dataset, "arch": arch, "activation": act, "optimizer": opt,
                "depth": int(depth[1:]), "initializer": init, "initializer_spec": {"name": init, "label": init},
                "seed": seed},
        "training": {"epochs": 2, "batch_size": 32, "learning_rate": {"adam": 0.001}},
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


def test_aggregate_builds_typed_tidy_tables(tmp_path):
    paths = []
    for seed, diverged in ((0, None), (1, 2)):
        run_id = f"digits/mlp/relu/adam/d2/he_normal/s{seed}"
        paths.append(tmp_path / run_id / "record.json")
        records.write(paths[-1], a_record(run_id, seed, diverged))
    runs, signal, weights = aggregate.tables(paths)
    assert len(runs) == 4 and len(signal) == 2 and len(weights) == 2 * 2 * 3
    assert weights.groupby(["run_id", "epoch"])["count"].sum().eq(6).all()
    assert runs["depth"].dtype == "int64" and runs["diverged_epoch"].dtype == "Int64"
    assert runs["initializer"].dtype == "string" and runs["val_loss"].dtype == "float64"
    assert runs["val_loss"].isna().sum() == 1 and runs["diverged"].sum() == 2
    out = tmp_path / "runs.parquet"
    aggregate.write_tables(paths, out, tmp_path / "signal.parquet", tmp_path / "w.parquet", tmp_path / "prov.json")
    pd.testing.assert_frame_equal(pd.read_parquet(out), runs)


def test_aggregate_refuses_a_corrupt_record_naming_it(tmp_path):
    good = tmp_path / "a" / "record.json"
    records.write(good, a_record())
    corrupt = tmp_path / "b" / "record.json"
    corrupt.parent.mkdir()
    corrupt.write_text('{"schema_version": 1, "run": ')
    with pytest.raises(records.RecordError, match=str(corrupt)):
        aggregate.write_tables([good, corrupt], tmp_path / "runs.parquet", tmp_path / "s.parquet",
                               tmp_path / "w.parquet", tmp_path / "p.json")
    assert not (tmp_path / "runs.parquet").exists()
