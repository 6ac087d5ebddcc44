"""The real workflow, run by the real Snakemake on a tiny study, through to the PDF."""

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY_STUDY = {
    "grid": {
        "datasets": ["digits"],
        "architectures": ["mlp", "cnn"],
        "activations": ["relu"],
        "optimizers": ["adam"],
        "depths": [2],
        "initializers": ["he_normal", {"name": "initstudy.custom_initializers:FixedUniform", "limit": 0.05}],
        "seeds": [0, 1],
    },
    "training": {"epochs": 2, "width": 16, "filters": 4, "pack_size": 64, "threads": 1, "probe_size": 32},
}
N_RUNS = 2 * 2 * 2
COPIED = ["Snakefile", "workflow", "config", "paper/main.tex", "paper/sections", "src"]


def copy_workflow(dest: Path, study: dict) -> Path:
    """The workflow's files in a fresh folder, with ``study`` as its config."""
    for name in COPIED:
        src, dst = REPO / name, dest / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(study))
    return dest


def snakemake(workdir: Path, *args, timeout=900):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+(\d+)$", table, re.M)}


@pytest.mark.parametrize("pack_size,expected_jobs", [(1, N_RUNS), (64, 2), (3, 4)])
def test_dry_run_plans_one_output_per_run_in_packs(tmp_path, pack_size, expected_jobs):
    study = {**TINY_STUDY, "training": {**TINY_STUDY["training"], "pack_size": pack_size}}
    proc = snakemake(copy_workflow(tmp_path, study), "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = job_counts(proc.stdout + proc.stderr)
    train = {rule: n for rule, n in counts.items() if rule.startswith("train_")}
    assert sum(train.values()) == expected_jobs
    grid = TINY_STUDY["grid"]
    assert N_RUNS == len(list(itertools.product(*grid.values())))


def test_bad_config_stops_before_any_job(tmp_path):
    study = {**TINY_STUDY, "grid": {**TINY_STUDY["grid"], "depths": [2, 500]}}
    workdir = copy_workflow(tmp_path, study)
    proc = snakemake(workdir)
    assert proc.returncode != 0
    assert "initstudy: invalid config: grid.depths[1]: 500 is greater than the maximum of 200" in proc.stderr
    assert not (workdir / "results").exists()


def test_lint_and_format_are_clean():
    proc = subprocess.run([*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Congratulations, your workflow is in a good condition" in proc.stdout + \
        proc.stderr, proc.stdout[-3000:]
    fmt = subprocess.run([str(Path(sys.executable).parent / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert fmt.returncode == 0, fmt.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="needs latexmk (make test installs it)")
def test_tiny_study_end_to_end_to_the_pdf(tmp_path):
    workdir = copy_workflow(tmp_path, TINY_STUDY)
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]

    assert (workdir / "paper" / "build" / "main.pdf").stat().st_size > 10_000
    tidy = pd.read_parquet(workdir / "results" / "runs.parquet")
    assert len(tidy) == N_RUNS * TINY_STUDY["training"]["epochs"]
    assert tidy["run_id"].nunique() == N_RUNS
    assert set(tidy["arch"]) == {"mlp", "cnn"} and set(tidy["initializer"]) == {"he_normal", "FixedUniform-limit0.05"}
    assert tidy.groupby("run_id")["epoch"].apply(list).map(lambda e: e == [1, 2]).all()
    signal = pd.read_parquet(workdir / "results" / "signal.parquet")
    assert len(signal) == N_RUNS * (TINY_STUDY["training"]["epochs"] + 1) * 2  # epochs 0..E × 2 layers
    assert len(list((workdir / "results" / "runs").rglob("record.json"))) == N_RUNS

    # Editing the drawing code redraws the figures and the PDF, and never retrains.
    figures_py = workdir / "src" / "initstudy" / "figures.py"
    figures_py.write_text(figures_py.read_text() + "\n# a change\n")
    proc = snakemake(workdir, "-n")
    planned = set(job_counts(proc.stdout + proc.stderr))
    assert "figures" in planned and "paper" in planned
    assert not any(rule.startswith("train_") or rule == "aggregate" for rule in planned)
