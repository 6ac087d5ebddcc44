"""How long Snakemake takes to plan: `snakemake -n` on a 10,080-run grid from an empty
results/ with packs of 1 and of 64, and on a finished study.

    python bench/planning.py                   # the 10,080-run grid, pack sizes 1 and 64
    python bench/planning.py --finished DIR    # also `snakemake -n` in a finished study's folder

Each figure is the wall time of one `snakemake -n --cores 8` process (Python start,
parsing the workflow, building the DAG), the best of --repeats. Parsing imports no
Keras or TensorFlow (initstudy.train.pending works from the config alone); the DAG
has one job per pack plus the light rules.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
#: 2 architectures × 7 activations × 4 optimizers × 6 depths × 6 initializers × 5 seeds.
GRID = {
    "datasets": ["mnist1d"],
    "architectures": ["mlp", "cnn"],
    "activations": ["relu", "leaky_relu", "tanh", "sigmoid", "selu", "gelu", "linear"],
    "optimizers": ["sgd", "momentum", "adam", "rmsprop"],
    "depths": [2, 5, 10, 20, 30, 50],
    "initializers": ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "orthogonal"],
    "seeds": [0, 1, 2, 3, 4],
}


def dry_run(workdir: Path, repeats: int) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "8", "--quiet", "all"],
                              cwd=workdir, env=env, capture_output=True, text=True)
        best = min(best, time.perf_counter() - start)
        if proc.returncode:
            raise SystemExit(f"snakemake -n failed in {workdir}:\n{proc.stderr[-3000:]}")
    return best


def workflow_copy(dest: Path, config: dict) -> Path:
    for name in ("Snakefile", "workflow", "paper/main.tex", "paper/sections"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    (dest / "config").mkdir()
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=Path, help="a finished study's folder to time `snakemake -n` in")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    n_runs = 1
    for values in GRID.values():
        n_runs *= len(values)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"# {platform.node()}: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'what':48s} {'snakemake -n (s)':>16s}")
    for pack_size in (1, 64):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "paper").mkdir()
            work = workflow_copy(Path(tmp), {"grid": GRID, "training": {"pack_size": pack_size}})
            seconds = dry_run(work, args.repeats)
        print(f"{f'{n_runs}-run grid, empty results/, pack_size {pack_size}':48s} {seconds:16.1f}")
    if args.finished:
        print(f"{f'finished study in {args.finished}':48s} {dry_run(args.finished, args.repeats):16.1f}")


if __name__ == "__main__":
    main()
