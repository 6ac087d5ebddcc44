"""Growing a finished study, each scenario a real Snakemake run on a tiny grid.

Finished records are a cache keyed by a run's identity: extending the grid trains
exactly the new runs and leaves every old record's bytes and mtime alone; execution
settings (threads, pack size, GPU request, checkpoint interval) retrain nothing; a changed trajectory setting retrains
every run and the dry run says why; a shrunk grid trains nothing and its tables hold
exactly the remaining runs; two configs that share runs share records; a job killed
with SIGKILL resumes to the records an uninterrupted run makes. And, through
``python -m initstudy train`` itself: a run trains to the same bits alone and in
packs of any size at any position, and (at this scale) with 1 or 2 threads.

One finished study (``base``) and its extension by a seed (``extended``) are made
once per module; each scenario works on a copy (mtimes preserved).
"""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TINY
from initstudy.study import config, runs
from test_workflow import copy_workflow, job_counts, snakemake

#: Each scenario is a real Snakemake run (minutes in all).
pytestmark = pytest.mark.slow

#: conftest's tiny grid with two initializers (one a custom class) and two seeds.
BASE = {
    "grid": {**TINY["grid"], "initializers": ["he_normal", {"name": "initstudy.inits.custom:FixedUniform",
                                                            "limit": 0.05}], "seeds": [0, 1]},
    # 2 threads on the 2 cores the tests give Snakemake: one train job at a time, so a
    # study's pending runs form one pack (one process importing TensorFlow, not two);
    # no XLA: compiling costs more than these steps.
    "training": {"epochs": 2, "width": 16, "pack_size": 64, "threads": 2, "probe_size": 32, "xla": False,
                 "checkpoint_every_s": 0},  # every epoch: the kill test needs epoch 1's checkpoint
}
#: The rules up to the tables: what growing a study is about (no figures, no TeX).
TARGET = "results/runs.parquet"
#: Record fields that may differ between processes, packs and thread counts.
VOLATILE = ("wall_time_s", "provenance", "pack", "execution")
SUMMARY = re.compile(r"initstudy: (?:study: )?(\d+) runs: (\d+) done, (\d+) new, (\d+) stale")
JOBS = re.compile(r"initstudy: (\d+) train jobs")


def study(grid=None, training=None) -> dict:
    """BASE with some grid lists and training settings replaced."""
    return {"grid": {**BASE["grid"], **(grid or {})}, "training": {**BASE["training"], **(training or {})}}


def run_ids(cfg: dict) -> set[str]:
    return {run.run_id for run in runs.expand(config.check(json.loads(json.dumps(cfg))))}


def copy_study(src: Path, dest: Path, cfg: dict | None = None) -> Path:
    """A copy of a study's folder (files, .snakemake metadata, mtimes), with ``cfg``
    as its config if given."""
    shutil.copytree(src, dest, symlinks=True)
    if cfg is not None:
        (dest / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    return dest


def records(workdir: Path) -> dict[str, tuple[bytes, int]]:
    """Every record below results/runs: run id -> (bytes, st_mtime_ns), one per run."""
    out = {}
    for path in (workdir / "results" / "runs").rglob("record-*.json"):
        run_id = str(path.parent.relative_to(workdir / "results" / "runs"))
        assert run_id not in out, f"two records of {run_id}"
        out[run_id] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def stable(record: bytes | dict) -> dict:
    record = json.loads(record) if isinstance(record, bytes) else record
    return {k: v for k, v in record.items() if k not in VOLATILE}


def train_jobs(proc: subprocess.CompletedProcess) -> int:
    """The train jobs a (dry or real) run planned, from its 'Job stats' table."""
    output = proc.stdout + proc.stderr
    return job_counts(output).get("train", 0) if "Job stats:" in output else 0


def summary(proc: subprocess.CompletedProcess) -> tuple[int, int, int, int]:
    """(runs, done, new, stale) of the study, as the workflow states them when parsed;
    and it states as many train jobs as the run plans."""
    match, jobs = SUMMARY.search(proc.stderr), JOBS.search(proc.stderr)
    assert match and jobs, proc.stderr[-3000:]
    assert int(jobs.group(1)) == train_jobs(proc), \
        f"the workflow states {jobs.group(1)} train jobs, Snakemake plans {train_jobs(proc)}"
    return tuple(map(int, match.groups()))


def done_lists(workdir: Path) -> set[Path]:
    return set((workdir / "results" / "packs").glob("*.done"))


def trained_since(workdir: Path, before: set[Path]) -> set[str]:
    """The run ids whose records the train jobs finished since ``before`` (the
    ``.done`` lists then) wrote, each listed once."""
    listed = [Path(line) for marker in done_lists(workdir) - before for line in marker.read_text().split()]
    ids = [str(path.parent.relative_to("results/runs")) for path in listed]
    assert len(ids) == len(set(ids)), ids
    return set(ids)


def table_runs(workdir: Path) -> list[str]:
    return sorted(pd.read_parquet(workdir / TARGET)["run_id"])


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The finished base study (4 runs), up to its tables."""
    workdir = copy_workflow(tmp_path_factory.mktemp("base"), BASE)
    proc = ok(snakemake(workdir, TARGET))
    assert summary(proc) == (4, 0, 4, 0)
    assert trained_since(workdir, set()) == run_ids(BASE)
    assert set(records(workdir)) == run_ids(BASE)
    return workdir


EXTENDED = study(grid={"seeds": [0, 1, 2]})


@pytest.fixture(scope="module")
def extended(base, tmp_path_factory):
    """The base study extended by seed 2 and run: (workdir, the run, records before,
    .done lists before)."""
    workdir = copy_study(base, tmp_path_factory.mktemp("extended") / "w", EXTENDED)
    before, done = records(workdir), done_lists(workdir)
    return workdir, snakemake(workdir, TARGET), before, done


def test_extending_by_a_seed_trains_only_the_new_runs(extended):
    workdir, proc, before, done = extended
    ok(proc)
    assert summary(proc) == (6, 4, 2, 0)
    assert train_jobs(proc) >= 1
    new = run_ids(EXTENDED) - run_ids(BASE)
    assert len(new) == 2 and all(run_id.endswith("/s2") for run_id in new)
    assert trained_since(workdir, done) == new  # the train jobs trained exactly the new runs
    after = records(workdir)
    assert set(after) - set(before) == new
    # every old record: the same bytes, never rewritten (mtime to the nanosecond)
    assert {run_id: after[run_id] for run_id in before} == before
    assert table_runs(workdir) == sorted(run_ids(EXTENDED))


def test_execution_settings_retrain_nothing(base, tmp_path):
    workdir = copy_study(base, tmp_path / "w", study(training={"threads": 1, "pack_size": 1, "gpu": False,
                                                               "checkpoint_every_s": 600}))
    proc = ok(snakemake(workdir, TARGET, "-n"))
    assert summary(proc) == (4, 4, 0, 0)
    assert train_jobs(proc) == 0  # light rules may rerun


def test_changed_epochs_retrain_every_run_and_say_why(base, tmp_path):
    workdir = copy_study(base, tmp_path / "w", study(training={"epochs": 3}))
    before = set((workdir / "results" / "packs").glob("*.json"))
    proc = ok(snakemake(workdir, TARGET, "-n"))
    assert summary(proc) == (4, 0, 0, 4)
    assert train_jobs(proc) >= 1
    reasons = re.findall(r"^initstudy:   (.*)$", proc.stderr, re.M)
    assert reasons == ["training.epochs: 2 -> 3"], proc.stderr[-3000:]
    assert "initstudy: 4 runs are retrained because their settings changed:" in proc.stderr
    # the planned packs (their manifests are written at parse time) hold every run, at 3 epochs
    manifests = [json.loads(path.read_text()) for path in set((workdir / "results" / "packs").glob("*.json")) - before]
    assert len(manifests) == train_jobs(proc)
    assert {body["training"]["epochs"] for body in manifests} == {3}
    planned = [runs.Run.from_dict(r).run_id for body in manifests for r in body["runs"]]
    assert sorted(planned) == sorted(run_ids(BASE))


@pytest.mark.parametrize("grid", [{"seeds": [0]}, {"initializers": ["he_normal"]}], ids=["seed", "initializer"])
def test_shrunk_grid_trains_nothing_and_tables_hold_the_rest(base, tmp_path, grid):
    shrunk = study(grid=grid)
    workdir = copy_study(base, tmp_path / "w", shrunk)
    before = records(workdir)
    proc = ok(snakemake(workdir, TARGET, "-n"))
    assert summary(proc) == (2, 2, 0, 0)
    assert train_jobs(proc) == 0
    proc = ok(snakemake(workdir, TARGET))
    assert train_jobs(proc) == 0
    assert table_runs(workdir) == sorted(run_ids(shrunk)), "the tables were not rebuilt for the shrunk grid"
    assert records(workdir) == before  # the removed runs' records stay, untouched


def test_two_configs_share_their_records(base, tmp_path):
    """A second config (a superset: one more initializer) trains only the runs the
    first did not; afterwards the first config, a subset, has nothing to train."""
    workdir = copy_study(base, tmp_path / "w")
    other = study(grid={"initializers": [*BASE["grid"]["initializers"], "glorot_uniform"]})
    (workdir / "config" / "other.yaml").write_text(yaml.safe_dump(other))
    before, done = records(workdir), done_lists(workdir)
    proc = ok(snakemake(workdir, TARGET, "--configfile", "config/other.yaml"))
    assert summary(proc) == (6, 4, 2, 0)
    new = run_ids(other) - run_ids(BASE)
    assert len(new) == 2 and all("/glorot_uniform/" in run_id for run_id in new)
    assert trained_since(workdir, done) == new
    after = records(workdir)
    assert set(after) - set(before) == new
    assert {run_id: after[run_id] for run_id in before} == before
    assert table_runs(workdir) == sorted(run_ids(other))

    proc = ok(snakemake(workdir, TARGET, "-n", "--configfile", "config/config.yaml"))
    assert summary(proc) == (4, 4, 0, 0)
    assert train_jobs(proc) == 0


def test_killed_job_of_an_extended_study_resumes_to_the_same_records(base, extended, tmp_path, monkeypatch):
    """The extension's train job is SIGKILLed after its first epoch's checkpoint (with
    2 epochs, ``epoch2-saved`` would fire after the last epoch, leaving the resumed
    job nothing to train; ``epoch1-saved`` makes it train epoch 2 from the checkpoint).
    The rerun resumes, and its records equal those of the never-killed extension."""
    workdir = copy_study(base, tmp_path / "w", EXTENDED)
    before, done = records(workdir), done_lists(workdir)
    monkeypatch.setenv("INITSTUDY_KILL_AT", "epoch1-saved")
    killed = snakemake(workdir, TARGET)
    assert killed.returncode != 0
    assert records(workdir) == before  # nothing of the killed job was published
    assert list((workdir / "results" / "checkpoints").glob("*.npz"))
    log = "".join(p.read_text() for p in (workdir / "logs" / "train").glob("*.log"))
    assert "Traceback" not in log  # it was killed, it did not fail

    monkeypatch.delenv("INITSTUDY_KILL_AT")
    proc = ok(snakemake(workdir, TARGET, "--rerun-incomplete"))
    assert summary(proc) == (6, 4, 2, 0)
    assert trained_since(workdir, done) == run_ids(EXTENDED) - run_ids(BASE)
    after = records(workdir)
    assert {run_id: after[run_id] for run_id in before} == before
    ok(extended[1])
    reference = records(extended[0])
    assert set(after) == set(reference)
    assert {k: stable(v[0]) for k, v in after.items()} == {k: stable(v[0]) for k, v in reference.items()}
    assert not list((workdir / "results" / "checkpoints").glob("*.npz"))
    assert table_runs(workdir) == sorted(run_ids(EXTENDED))


# ---- through the train verb: packs and threads ---------------------------------------

PACKED = {"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["relu"],
                   "optimizers": ["adam"], "depths": [3], "initializers": ["he_normal", "glorot_uniform"],
                   "seeds": [0, 1, 2, 3, 4]},
          "training": {"epochs": 3, "width": 16, "probe_size": 32}}


def _packs() -> tuple[dict[str, list[runs.Run]], dict]:
    cfg = config.check(json.loads(json.dumps(PACKED)))
    by = {(r.initializer, r.seed): r for r in runs.expand(cfg)}
    he, gl = (lambda s: by["he_normal", s]), (lambda s: by["glorot_uniform", s])
    return {
        "alone": [he(0)],
        "pair": [gl(0), he(0)],
        "five_first": [he(s) for s in range(5)],
        "five_fourth": [gl(1), he(3), gl(4), he(0), gl(2)],
    }, cfg["training"]


#: The run every pack holds: he_normal, seed 0.
TARGET_RUN = _packs()[0]["alone"][0]
#: (pack, --threads) of each training process.
TRAINED = [("alone", 1), ("pair", 1), ("five_first", 1), ("five_fourth", 1), ("five_first", 2)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[tuple[str, int], dict[str, dict]]:
    """Each pack of :data:`TRAINED` trained by ``python -m initstudy train`` in its own
    process (two at a time): (pack, threads) -> {run id: record}."""
    packs, training = _packs()
    root = tmp_path_factory.mktemp("packs")
    env = {k: v for k, v in os.environ.items() if k != "INITSTUDY_KILL_AT"}

    def train(name, threads):
        out = root / f"{name}-t{threads}"
        out.mkdir()
        (out / "pack.json").write_text(json.dumps({"pack_id": f"grow-{name}",
                                                   "runs": [r.to_dict() for r in packs[name]],
                                                   "training": training}))
        proc = subprocess.run([sys.executable, "-m", "initstudy", "train", "--pack", f"@{out / 'pack.json'}",
                               "--threads", str(threads), "--out-root", str(out / "runs"),
                               "--checkpoint-dir", str(out / "checkpoints")],
                              capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        got = {}
        for path in (out / "runs").rglob("record-*.json"):
            got[str(path.parent.relative_to(out / "runs"))] = json.loads(path.read_text())
        assert set(got) == {r.run_id for r in packs[name]}
        return got

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(train, *key) for key in TRAINED}
        return {key: future.result() for key, future in futures.items()}


def test_a_run_trains_to_the_same_bits_alone_and_in_any_pack(trained):
    """The same run alone (a pack of one), in a pack of 2 and in packs of 5 at index 0
    and 3 (one thread each): records equal in every field but wall_time_s,
    provenance, pack and execution. So is every other run two packs share."""
    packs, _ = _packs()
    target = TARGET_RUN.run_id
    alone = trained["alone", 1][target]
    for name, index in [("alone", 0), ("pair", 1), ("five_first", 0), ("five_fourth", 3)]:
        record = trained[name, 1][target]
        assert record["pack"]["index"] == index and record["pack"]["size"] == len(packs[name])
        assert record["execution"]["pack_size"] == len(packs[name]) and record["execution"]["threads"] == 1
        assert stable(record) == stable(alone), name
    shared = set(trained["five_first", 1]) & set(trained["five_fourth", 1])
    assert len(shared) == 2  # he_normal seeds 0 and 3
    for run_id in shared:
        assert stable(trained["five_first", 1][run_id]) == stable(trained["five_fourth", 1][run_id])


def test_one_and_two_threads(trained):
    """The pack of five seeds trained with --threads 1 and --threads 2 (records say
    which in ``execution.threads``). Required: each member's first-epoch metrics agree
    to rtol 1e-5, and the final test accuracies agree across the 5 seeds: the mean of
    the paired differences (2 threads - 1 thread) is at most half the seed-to-seed
    standard deviation of the 1-thread accuracies. Observed at this scale (TensorFlow
    CPU, width 16): the two are bit-identical, which the last assertion pins; should a
    backend or a larger model split its sums by thread, relax it to the criteria above."""
    one, two = trained["five_first", 1], trained["five_first", 2]
    assert set(one) == set(two) and len(one) == 5
    assert {r["execution"]["threads"] for r in one.values()} == {1}
    assert {r["execution"]["threads"] for r in two.values()} == {2}
    metrics = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    for run_id in one:
        first = [[r[run_id]["history"][0][m] for m in metrics] for r in (one, two)]
        np.testing.assert_allclose(first[1], first[0], rtol=1e-5, err_msg=run_id)
    acc1 = np.array([one[k]["test"]["accuracy"] for k in sorted(one)])
    acc2 = np.array([two[k]["test"]["accuracy"] for k in sorted(one)])
    assert abs(np.mean(acc2 - acc1)) <= 0.5 * np.std(acc1, ddof=1)
    assert {k: stable(v) for k, v in one.items()} == {k: stable(v) for k, v in two.items()}, \
        "1 and 2 threads are no longer bit-identical (the weaker criteria above hold)"
