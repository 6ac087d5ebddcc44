"""Cost preview: what a config will train, and how long that should take.

For each (dataset, arch, depth) of the grid: how many runs, how many are done (a
record of the same identity exists, :mod:`initstudy.train.pending`), how many train
jobs the rest need, their floating-point operations (:mod:`initstudy.train.cost`)
and the time those take at a rate measured on this machine when the plan is made.
Where runs are done, their measured wall times stand beside what the estimate says
they should have taken, so the estimate's error is visible before the rest is
submitted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from initstudy.study import paths, stages
from initstudy.train import cost, records
from initstudy.train.pending import pending

COLUMNS = ["dataset", "arch", "depth", "runs", "done", "train_jobs", "tflop_left", "estimate_s",
           "done_measured_s", "done_estimated_s"]


def plan(config: dict, root: str | Path = paths.RUNS_ROOT, rate_gflops: float | None = None) -> pd.DataFrame:
    """One row per (dataset, arch, depth). ``rate_gflops`` is the trainer's rate
    (default: :func:`~initstudy.train.cost.matmul_rate` × ``TRAINER_EFFICIENCY``)."""
    if rate_gflops is None:
        rate_gflops = cost.matmul_rate() * cost.TRAINER_EFFICIENCY
    # a two-stage study's second stage as it costs: one rate per cell and initializer
    state = pending(config, root, stages.planned_runs(config))
    todo = {run.run_id for run in state.pending}
    training = config["training"]
    rows = []
    for run in state.runs:
        flops = cost.run_flops(run, training)
        measured = float("nan")
        if run.run_id not in todo:
            try:
                measured = records.read(state.records[run.run_id])["wall_time_s"]
            except records.RecordError:
                pass
        rows.append({"dataset": run.dataset, "arch": run.arch, "depth": run.depth, "todo": run.run_id in todo,
                     "flops": flops, "measured": measured})
    frame = pd.DataFrame(rows)
    jobs = pd.Series([(p.key[0], p.key[1], p.key[3]) for p in state.packs], dtype=object).value_counts()
    out = []
    for (dataset, arch, depth), group in frame.groupby(["dataset", "arch", "depth"], sort=True):
        left, done = group[group.todo], group[~group.todo]
        out.append({
            "dataset": dataset, "arch": arch, "depth": int(depth), "runs": len(group), "done": len(done),
            "train_jobs": int(jobs.get((dataset, arch, depth), 0)),
            "tflop_left": left.flops.sum() / 1e12,
            "estimate_s": left.flops.sum() / (rate_gflops * 1e9),
            "done_measured_s": done.measured.sum(min_count=1),
            "done_estimated_s": done.flops.sum() / (rate_gflops * 1e9) if len(done) else float("nan"),
        })
    table = pd.DataFrame(out, columns=COLUMNS)
    table.attrs["rate_gflops"] = rate_gflops
    return table


def render(table: pd.DataFrame) -> str:
    rate = table.attrs["rate_gflops"]
    lines = [table.to_string(index=False, float_format=lambda v: f"{v:.2f}"), ""]
    lines.append(f"{int(table.runs.sum())} runs, {int(table.done.sum())} done, "
                 f"{int(table.train_jobs.sum())} train jobs to run")
    lines.append(f"estimated compute of the training left: {table.estimate_s.sum() / 3600:.2f} h of one job "
                 f"slot ({table.tflop_left.sum():.2f} TFLOP at {rate:.1f} GFLOP/s: this machine's batched "
                 f"matmul rate × {cost.TRAINER_EFFICIENCY} trainer efficiency)")
    done = table.dropna(subset=["done_measured_s"])
    if len(done):
        measured, estimated = done.done_measured_s.sum(), done.done_estimated_s.sum()
        lines.append(f"finished runs took {measured:.1f} s measured against {estimated:.1f} s estimated "
                     f"(measured / estimated = {measured / estimated:.2f})")
    return "\n".join(lines)
