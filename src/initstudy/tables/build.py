"""Records -> tidy tables (Parquet, typed columns), each with one row per what it describes.

- ``runs.parquet``: one row per run: its fields, its initializer spec (canonical
  JSON, ``initializer_spec``: what the label only names), its last epoch's metrics
  (``epochs_trained`` says which epoch that was), its test metrics, divergence,
  timings, pack and execution settings, identity, and when its record was made (``created``,
  UTC, the record's provenance);
- ``history.parquet``: one row per run × epoch, the run's fields and the epoch's metrics;
- in every table, after the run fields, the run's ``learning_rate`` and ``width``
  (:data:`~initstudy.study.fields.RUN_SETTINGS`): its own where the grid has those axes,
  else the training settings it trained with (``training.learning_rate`` of its
  optimizer, ``training.width``, or ``training.filters`` for a cnn), so every study's rows
  say both;
- ``signal.parquet``: one row per run × epoch (0 = at init) × hidden layer;
- ``weights.parquet``: one row per run × epoch (0 or the last) × recorded layer × bin;
- ``jacobian.parquet``: one row per run × probe example × singular value (``index`` 0
  the largest) of the Jacobian at init, for runs that recorded it (``training.jacobian_inputs``).

Every record is validated on the way in; a corrupt or partial one stops the
aggregation with its path and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from initstudy.core import table_io
from initstudy.core.atomic import write_json
from initstudy.study.fields import EPOCH_METRICS, RUN_FIELDS, RUN_SETTINGS, SIGNAL_FIELDS
from initstudy.study.runs import axis_values
from initstudy.train import records

#: Per-run columns of ``runs.parquet`` after the run fields, in order.
RUN_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS,
               "initializer_spec", "epochs_trained", *EPOCH_METRICS, "test_loss", "test_accuracy", "diverged",
               "diverged_epoch", "num_classes", "wall_time_s", "pack_id", "keras_backend", "deterministic", "created"]
HISTORY_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "epoch", *EPOCH_METRICS]
SIGNAL_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "epoch", "layer", *SIGNAL_FIELDS]
WEIGHTS_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "epoch", "layer", "bin_left", "bin_right", "count"]
JACOBIAN_COLUMNS = [*RUN_FIELDS, *RUN_SETTINGS, "input", "index", "singular_value"]
STRING_COLUMNS = ["run_id", "dataset", "arch", "activation", "optimizer", "initializer", "initializer_spec",
                  "pack_id", "keras_backend", "created"]


def run_row(record: dict) -> dict:
    """The record's row of ``runs.parquet``: fields, last epoch, test, divergence, execution."""
    run = record["run"]
    last = record["history"][-1] if record["history"] else {}
    return {
        **{k: run[k] for k in RUN_FIELDS},
        **axis_values(run, record["training"]),
        "initializer_spec": json.dumps(run["initializer_spec"], sort_keys=True),
        "epochs_trained": last.get("epoch", 0),
        **{m: last.get(m) for m in EPOCH_METRICS},
        "test_loss": record["test"]["loss"], "test_accuracy": record["test"]["accuracy"],
        "diverged": record["diverged"], "diverged_epoch": record["diverged_epoch"],
        "num_classes": record["data"]["num_classes"], "wall_time_s": record["wall_time_s"],
        "pack_id": record["pack"]["id"], "keras_backend": record["provenance"]["keras_backend"],
        "deterministic": record["provenance"]["deterministic"],
        # when the record's run was made (UTC): claims compare it with their rules' registration
        "created": record["provenance"]["created"],
    }


def _typed(frame: pd.DataFrame, float_columns: list[str]) -> pd.DataFrame:
    for col in STRING_COLUMNS:
        if col in frame:
            frame[col] = frame[col].astype("string")
    for col in ("depth", "seed", "epoch", "epochs_trained", "layer", "num_classes"):
        if col in frame:
            frame[col] = frame[col].astype("int64")
    for col in float_columns:
        frame[col] = pd.to_numeric(frame[col], errors="raise").astype("float64")
    if "learning_rate" in frame:
        frame["learning_rate"] = frame["learning_rate"].astype("float64")
    for col in ("diverged_epoch", "width"):  # integers, empty where there is none
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    if "diverged" in frame:
        frame["diverged"] = frame["diverged"].astype(bool)
    return frame


def histogram_rows(fields: dict, histograms: list[dict]) -> list[dict]:
    return [{**fields, "epoch": h["epoch"], "layer": h["layer"], "bin_left": left, "bin_right": right,
             "count": count}
            for h in histograms
            for left, right, count in zip(h["bin_edges"][:-1], h["bin_edges"][1:], h["counts"])]


def frames(runs_records: list[dict]) -> dict[str, pd.DataFrame]:
    """The tidy frames of validated records: name (``runs``, ``history``, ``signal``,
    ``weights``, ``jacobian``) -> frame."""
    run_rows, history_rows, signal_rows, weight_rows, jacobian_rows = [], [], [], [], []
    for record in runs_records:
        # every row starts with the run's fields and its rate and width
        fields = {**{k: record["run"][k] for k in RUN_FIELDS}, **axis_values(record["run"], record["training"])}
        run_rows.append(run_row(record))
        history_rows += [{**fields, **h} for h in record["history"]]
        signal_rows += [{**fields, **s} for s in record.get("signal", [])]
        weight_rows += histogram_rows(fields, record.get("weights", []))
        jacobian_rows += [{**fields, "input": j["input"], "index": k, "singular_value": value}
                          for j in record.get("jacobian", []) for k, value in enumerate(j["singular_values"])]
    runs = _typed(pd.DataFrame(run_rows, columns=RUN_COLUMNS),
                  [*EPOCH_METRICS, "test_loss", "test_accuracy", "wall_time_s"])
    history = _typed(pd.DataFrame(history_rows, columns=HISTORY_COLUMNS), list(EPOCH_METRICS))
    signal = _typed(pd.DataFrame(signal_rows, columns=SIGNAL_COLUMNS), list(SIGNAL_FIELDS))
    weights = _typed(pd.DataFrame(weight_rows, columns=WEIGHTS_COLUMNS), ["bin_left", "bin_right"])
    weights["count"] = weights["count"].astype("int64")
    jacobian = _typed(pd.DataFrame(jacobian_rows, columns=JACOBIAN_COLUMNS), ["singular_value"])
    jacobian[["input", "index"]] = jacobian[["input", "index"]].astype("int64")
    keys = ["run_id", "epoch"]
    return {
        "runs": runs.sort_values("run_id", ignore_index=True),
        "history": history.sort_values(keys, ignore_index=True),
        "signal": signal.sort_values([*keys, "layer"], ignore_index=True),
        "weights": weights.sort_values([*keys, "layer", "bin_left"], ignore_index=True),
        "jacobian": jacobian.sort_values(["run_id", "input", "index"], ignore_index=True),
    }


def provenance_summary(runs_records: list[dict]) -> dict:
    """One record's provenance, plus what differs across records (commits, hosts, backends)."""
    provs = [r["provenance"] for r in runs_records]
    summary = dict(provs[0])
    for key, name in (("git_commit", "git_commits"), ("host", "hosts"), ("keras_backend", "keras_backends")):
        summary[name] = sorted({str(p[key]) for p in provs})
    return summary


def write_tables(paths: Iterable[str | Path], outputs: dict[str, str | Path], provenance_out: str | Path) -> None:
    """Validate every record (each read once), then write each table of :func:`frames`
    to ``outputs[name]`` and the provenance summary."""
    all_records = [records.read(path) for path in paths]
    table_io.write_tables(frames(all_records), outputs)
    write_json(provenance_out, provenance_summary(all_records))
