"""Cost preview: what a config will train, and how long that should take.

For each (dataset, arch, depth) of the grid: how many runs, how many are already
done (their record exists), how many train jobs (packs) the rest need, and an
estimate of the time left. The estimate uses the measured ``wall_time_s`` of
finished runs (a run's share of its pack's wall time): the mean at the same
(dataset, arch, depth) when there is one, else a straight line in depth fitted
to that (dataset, arch)'s finished depths (per-run time grows about linearly with
depth: one more layer, one more matmul), else "no timing" — train a few runs first
(e.g. the smallest depth) to calibrate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from initstudy.train import records

from initstudy.study import runs


def timings(root: str | Path) -> pd.DataFrame:
    """Per-run wall time of every finished record below ``root``."""
    rows = []
    for path in Path(root).rglob("record.json"):
        try:
            record = records.read(path)
        except records.RecordError:
            continue  # a corrupt record is not a timing; `aggregate` will name it
        run = record["run"]
        rows.append({"dataset": run["dataset"], "arch": run["arch"], "depth": run["depth"],
                     "wall_time_s": record["wall_time_s"]})
    return pd.DataFrame(rows, columns=["dataset", "arch", "depth", "wall_time_s"])


def estimate(done: pd.DataFrame, dataset: str, arch: str, depth: int) -> tuple[float, str]:
    """(seconds per run, how it was estimated); NaN when nothing can be said."""
    same = done[(done.dataset == dataset) & (done.arch == arch)]
    at_depth = same[same.depth == depth]
    if len(at_depth):
        return float(at_depth.wall_time_s.mean()), f"measured ({len(at_depth)} runs)"
    means = same.groupby("depth").wall_time_s.mean()
    if len(means) >= 2:
        slope, intercept = np.polyfit(means.index.to_numpy(float), means.to_numpy(), 1)
        return max(float(intercept + slope * depth), 0.0), f"fitted on depths {list(means.index)}"
    return float("nan"), "no timing yet"


def plan(config: dict, root: str | Path = runs.RUNS_ROOT) -> pd.DataFrame:
    all_runs = runs.expand(config)
    left = [not (Path(root) / r.run_id / "record.json").exists() for r in all_runs]
    packs = runs.make_packs([r for r, todo in zip(all_runs, left) if todo], config["training"]["pack_size"])
    done = timings(root)
    rows = []
    for (dataset, arch, depth), group in pd.DataFrame(
            [{"dataset": r.dataset, "arch": r.arch, "depth": r.depth, "todo": todo}
             for r, todo in zip(all_runs, left)]
    ).groupby(["dataset", "arch", "depth"]):
        per_run, basis = estimate(done, dataset, arch, int(depth))
        n_left = int(group.todo.sum())
        rows.append({"dataset": dataset, "arch": arch, "depth": int(depth), "runs": len(group),
                     "done": len(group) - n_left,
                     "train_jobs": sum(1 for p in packs if p.key[0] == dataset and p.key[1] == arch
                                       and p.key[3] == depth),
                     "s_per_run": per_run, "estimate_s": per_run * n_left, "basis": basis})
    return pd.DataFrame(rows)


def render(table: pd.DataFrame) -> str:
    total = table.estimate_s.sum(min_count=1)
    unknown = table.estimate_s.isna() & (table.runs > table.done)
    lines = [table.to_string(index=False, float_format=lambda v: f"{v:.1f}"), ""]
    lines.append(f"{int(table.runs.sum())} runs, {int(table.done.sum())} done, "
                 f"{int(table.train_jobs.sum())} train jobs to run")
    known = "unknown" if np.isnan(total) else f"{total / 3600:.2f} h of one job slot"
    lines.append(f"estimated wall time of the training left: {known}"
                 + (f" (+ {int(unknown.sum())} rows without a timing: train a few runs to calibrate)"
                    if unknown.any() else ""))
    return "\n".join(lines)
