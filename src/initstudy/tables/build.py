"""Records -> tidy tables (Parquet, typed columns).

``runs.parquet``: one row per run × epoch (the history), with the run's fields and
final results repeated on each of its rows. ``signal.parquet``: one row per run ×
epoch (0 = at init) × hidden layer. ``weights.parquet``: one row per run × epoch
(0 or the last) × recorded layer × histogram bin. Every record is validated on the way in; a
corrupt or partial one stops the aggregation with its path and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from initstudy.train import records
from initstudy.core.atomic import atomic_path, write_json

RUN_FIELDS = ["run_id", "dataset", "arch", "activation", "optimizer", "depth", "initializer", "seed"]
METRICS = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
SIGNAL = ["activation_mean", "activation_std", "preactivation_var", "saturated_fraction",
          "dead_fraction", "grad_norm", "kernel_std"]
STRING_COLUMNS = ["run_id", "dataset", "arch", "activation", "optimizer", "initializer", "pack_id",
                  "keras_backend"]


def run_columns(record: dict) -> dict:
    run = record["run"]
    return {
        **{k: run[k] for k in RUN_FIELDS},
        "test_loss": record["test"]["loss"], "test_accuracy": record["test"]["accuracy"],
        "diverged": record["diverged"], "diverged_epoch": record["diverged_epoch"],
        "num_classes": record["data"]["num_classes"], "wall_time_s": record["wall_time_s"],
        "pack_id": record["pack"]["id"], "keras_backend": record["provenance"]["keras_backend"],
        "deterministic": record["provenance"]["deterministic"],
    }


def _typed(frame: pd.DataFrame, float_columns: list[str]) -> pd.DataFrame:
    for col in STRING_COLUMNS:
        if col in frame:
            frame[col] = frame[col].astype("string")
    for col in ("depth", "seed", "epoch", "layer", "num_classes"):
        if col in frame:
            frame[col] = frame[col].astype("int64")
    for col in float_columns:
        frame[col] = pd.to_numeric(frame[col], errors="raise").astype("float64")
    if "diverged_epoch" in frame:
        frame["diverged_epoch"] = frame["diverged_epoch"].astype("Int64")
    if "diverged" in frame:
        frame["diverged"] = frame["diverged"].astype(bool)
    return frame


def histogram_rows(fields: dict, histograms: list[dict]) -> list[dict]:
    return [{**fields, "epoch": h["epoch"], "layer": h["layer"], "bin_left": left, "bin_right": right,
             "count": count}
            for h in histograms
            for left, right, count in zip(h["bin_edges"][:-1], h["bin_edges"][1:], h["counts"])]


def tables(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read and validate every record; return the (runs, signal, weights) tidy frames."""
    return frames([records.read(path) for path in paths])


def frames(runs_records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The (runs, signal, weights) tidy frames of validated records."""
    history_rows, signal_rows, weight_rows = [], [], []
    for record in runs_records:
        base = run_columns(record)
        fields = {k: base[k] for k in RUN_FIELDS}
        history_rows += [{**base, **h} for h in record["history"]]
        signal_rows += [{**fields, **s} for s in record.get("signal", [])]
        weight_rows += histogram_rows(fields, record.get("weights", []))
    runs = pd.DataFrame(history_rows, columns=[*RUN_FIELDS, "epoch", *METRICS, "test_loss", "test_accuracy",
                                               "diverged", "diverged_epoch", "num_classes", "wall_time_s",
                                               "pack_id", "keras_backend", "deterministic"])
    runs = _typed(runs, [*METRICS, "test_loss", "test_accuracy", "wall_time_s"])
    signal = pd.DataFrame(signal_rows, columns=[*RUN_FIELDS, "epoch", "layer", *SIGNAL])
    signal = _typed(signal, SIGNAL)
    weights = pd.DataFrame(weight_rows, columns=[*RUN_FIELDS, "epoch", "layer", "bin_left", "bin_right", "count"])
    weights = _typed(weights, ["bin_left", "bin_right"])
    weights["count"] = weights["count"].astype("int64")
    keys = ["run_id", "epoch"]
    return (runs.sort_values(keys, ignore_index=True),
            signal.sort_values([*keys, "layer"], ignore_index=True),
            weights.sort_values([*keys, "layer", "bin_left"], ignore_index=True))


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def provenance_summary(runs_records: list[dict]) -> dict:
    """One record's provenance, plus what differs across records (commits, hosts, backends)."""
    provs = [r["provenance"] for r in runs_records]
    summary = dict(provs[0])
    for key, name in (("git_commit", "git_commits"), ("host", "hosts"), ("keras_backend", "keras_backends")):
        summary[name] = sorted({str(p[key]) for p in provs})
    return summary


def write_tables(paths: Iterable[str | Path], runs_out: str | Path, signal_out: str | Path,
                 weights_out: str | Path, provenance_out: str | Path) -> None:
    """Validate every record (each read once), then write the three tables and the provenance summary."""
    all_records = [records.read(path) for path in paths]
    runs, signal, weights = frames(all_records)
    write_parquet(runs, runs_out)
    write_parquet(signal, signal_out)
    write_parquet(weights, weights_out)
    write_json(provenance_out, provenance_summary(all_records))
