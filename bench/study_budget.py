"""The default study's cost beside the baseline's (the study before it was designed for decisions),
measured in one sitting.

Runs ``snakemake --cores N`` (what ``make study`` runs) from empty ``results/`` to the
PDF for each config, in a fresh copy of the workflow, one after the other, and prints
each one's wall time, its runs and training FLOPs, the load average before and after,
and the ratio to the first. The baseline (``bench/baseline_study.yaml``) is the default
study before it was redesigned to decide (10 seeds, depths 2-30, 10 epochs, plus its
claims); the budget allows 1.3x its time.

    python bench/study_budget.py                       # baseline, then config/config.yaml
    python bench/study_budget.py --configs A.yaml B.yaml --cores 2

Machines of this kind differ 2-3x in speed, so only the ratio of two runs of one sitting
means anything; the load average says how much other work shared the cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from workflow_copy import REPO, copy_workflow


def study_flops(config_path: Path) -> tuple[int, float]:
    """Runs and training FLOPs of a config, its claims and its control studies, a run two
    share counted once (:func:`initstudy.train.cost.run_flops` per distinct record)."""
    from initstudy.study import config as study_config
    from initstudy.study import paths, stages
    from initstudy.train import cost, pending

    cfg = study_config.load(config_path)
    studies = [cfg, *(study_config.load(REPO / paths.claim_config(name)) for name in cfg["claims"]),
               *(study_config.load(REPO / paths.control_config(name)) for name in cfg.get("controls", []))]
    flops = {}  # record path (the run's identity) -> its FLOPs
    with tempfile.TemporaryDirectory() as root:
        for study in studies:
            state = pending.pending(study, root=root, runs=stages.planned_runs(study))
            for run in state.runs:
                flops[state.records[run.run_id]] = cost.run_flops(run, study["training"])
    return len(flops), sum(flops.values())


def run_study(config_path: Path, cores: int, keep: Path | None = None) -> float:
    """Wall seconds of ``snakemake --cores`` from empty results to the PDF in a fresh
    copy (kept as ``keep/<config name>`` when ``keep`` is given, to look at)."""
    with tempfile.TemporaryDirectory(prefix="initstudy-budget-") as tmp:
        work = keep / config_path.stem if keep else Path(tmp)
        if keep and work.exists():
            sys.exit(f"--keep: {work} exists; the study must start from empty results/")
        copy_workflow(work, config_path)
        # The copy's code, not the checkout's (an editable install would follow edits made
        # while the study runs): PYTHONPATH comes before the install on sys.path.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               "PYTHONPATH": str(work / "src")}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores)], cwd=work, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{config_path}: snakemake failed:\n{proc.stderr[-3000:]}")
        if not (work / "paper" / "build" / "main.pdf").exists():
            sys.exit(f"{config_path}: no PDF")
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", type=Path,
                        default=[REPO / "bench" / "baseline_study.yaml", REPO / "config" / "config.yaml"])
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--keep", type=Path, help="run each study in KEEP/<config name> and keep it")
    args = parser.parse_args()
    rows = []
    for path in args.configs:
        yaml.safe_load(path.read_text())  # fail early on a bad file, before an hour of training
        runs, flops = study_flops(path)
        load_before = os.getloadavg()[0]
        wall = run_study(path, args.cores, args.keep)
        rows.append((path.name, runs, flops / 1e12, wall, load_before, os.getloadavg()[0]))
        print(f"{path.name}: {wall:.0f} s", file=sys.stderr, flush=True)
    print(f"{os.cpu_count()} CPUs, snakemake --cores {args.cores}, from empty results/ to the PDF")
    print(f"{'config':<22} {'runs':>5} {'TFLOP':>7} {'wall s':>8} {'ratio':>6} {'load before/after':>18}")
    for name, runs, tflop, wall, before, after in rows:
        print(f"{name:<22} {runs:>5} {tflop:>7.2f} {wall:>8.0f} {wall / rows[0][3]:>6.2f} {before:>9.1f}/{after:.1f}")


if __name__ == "__main__":
    main()
