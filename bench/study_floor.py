"""How close a whole study runs to this machine's FLOP floor: `snakemake` from an empty
results/ to the tidy tables, against the time its training FLOPs need at the matmul
rate this machine reaches at the trainer's shapes, measured in the same run.

    python bench/study_floor.py                          # config/config.yaml (10-20 min on 2 cores)
    python bench/study_floor.py --config my.yaml --cores 2

It copies the workflow (Snakefile, workflow/, config/, src/, the paper's sources) into
a temporary folder with the given config as config/config.yaml, runs
``snakemake --cores N <runs table>`` there from empty results/, and prints:

- wall: the seconds of that one snakemake process (parsing, every train job's start,
  import and compilation, the training, the tables: all fixed costs included);
- FLOPs: the training work of the records it wrote, counted as
  :func:`initstudy.train.cost.run_flops` counts it (3F per training and probe
  example, F per validation and test example); a pack of one trains beside a copy of itself
  (train/job.py's ``padded``), work not counted here;
- rate: the compiled batched matmul members × (batch×width @ width×width) at the
  study's batch size and width and its median pack size (as the workflow cuts the
  main study's packs on these cores), with as many threads as cores, measured before
  and after the study (the better is used: the floor is the least time), and a 2048²
  matmul as the machine's peak;
- floor = FLOPs / rate, and floor / wall: the share of the floor the study reaches
  (the target for the default study: ≥ 85 %).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workflow_copy import REPO, copy_workflow  # noqa: E402  (bench/ is on the path now)


def records(workdir: Path) -> list[dict]:
    from initstudy.study import paths

    return [json.loads(p.read_text()) for p in sorted((workdir / paths.RUNS_ROOT).rglob("record-*.json"))]


def training_flops(recs: list[dict]) -> float:
    from initstudy.study.runs import Run
    from initstudy.train.cost import run_flops

    return sum(run_flops(Run.from_dict(r["run"]), r["training"]) for r in recs)


def typical_pack(checked: dict, cores: int) -> int:
    """The median size of the main study's packs as the workflow cuts them on ``cores``
    (one slot per ``threads`` cores; claims' runs left out)."""
    from initstudy.train import pending

    training = checked["training"]
    state = pending.pending(checked, root=tempfile.mkdtemp(prefix="study-floor-none-"))
    work = pending.work([(state, training)], training, slots=max(1, cores // training["threads"]))
    return int(statistics.median(len(p.runs) for p in work.packs)) if work.packs else 1


def rates(members: int, batch: int, width: int) -> tuple[float, float]:
    """(GFLOP/s at the trainer's shape, GFLOP/s of a 2048² matmul), compiled as the trainer
    compiles (XLA). The large matmul runs first: in a process that has run no large op
    yet, TensorFlow's XLA ran the small batched matmul at about half the rate it reaches
    afterwards (this script read 87-102 GFLOP/s before a study and 164-179 after it while
    it measured the small one first; README), and a train job's own steps reach the later
    state within its first epoch; bench/throughput.py measures its peak first too."""
    from throughput import chained_matmul_rate

    peak = chained_matmul_rate((2048, 2048), (2048, 2048), chain=4)
    shape = chained_matmul_rate((members, batch, width), (members, width, width))
    return shape, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()

    from initstudy.study import config, paths

    raw = yaml.safe_load(Path(args.config).read_text())
    checked = config.check(json.loads(json.dumps(raw)))
    training = checked["training"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from initstudy.core import runtime

    runtime.configure(threads=args.cores, xla=True)
    from throughput import header, load

    for line in header(args.cores)[:2]:
        print(line, flush=True)
    members = typical_pack(checked, args.cores)
    before = rates(members, training["batch_size"], training["width"])
    print(f"# before: shape {before[0]:.1f} GFLOP/s, peak {before[1]:.1f} GFLOP/s; load average {load()}",
          flush=True)

    target = paths.TABLES["runs"]
    with tempfile.TemporaryDirectory(prefix="study-floor-") as tmp:
        workdir = copy_workflow(Path(tmp), raw)
        # The copied src/ is what runs (PYTHONPATH comes before the editable install), so
        # editing the checkout while the study runs changes nothing in it.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               "PYTHONPATH": str(workdir / "src")}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), target],
                              cwd=workdir, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"snakemake failed in {workdir}:\n{proc.stderr[-3000:]}")
        recs = records(workdir)
        jobs = len(list((workdir / paths.PACKS_DIR).glob("*.done")))
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="study-floor-kept-"))
            shutil.copytree(workdir, kept, dirs_exist_ok=True)
            print(f"# kept in {kept}")
    load_after = load()
    after = rates(members, training["batch_size"], training["width"])
    shape, peak = max(before[0], after[0]), max(before[1], after[1])
    flops = training_flops(recs)
    floor = flops / (shape * 1e9)
    print(f"# after: shape {after[0]:.1f} GFLOP/s, peak {after[1]:.1f} GFLOP/s; load average {load_after}")
    print(f"config            {args.config}: {len(recs)} runs in {jobs} train jobs, --cores {args.cores}, "
          f"threads {training['threads']}/job, xla {training['xla']}")
    print(f"training FLOPs    {flops / 1e12:.3f} TFLOP (train/cost.py's count of the records written)")
    print(f"matmul rate       {shape:.1f} GFLOP/s at {members} x ({training['batch_size']}x{training['width']} "
          f"@ {training['width']}x{training['width']}); peak {peak:.1f} GFLOP/s (2048^2)")
    print(f"FLOP floor        {floor:.1f} s")
    print(f"wall              {wall:.1f} s (snakemake from empty results/ to {target})")
    print(f"floor / wall      {floor / wall:.1%}   (achieved {flops / wall / 1e9:.1f} GFLOP/s, "
          f"{flops / wall / 1e9 / peak:.1%} of peak)")


if __name__ == "__main__":
    sys.exit(main())
