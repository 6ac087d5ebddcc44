"""The SLURM profile against a real single-node SLURM cluster on localhost.

`scripts/slurm_local.sh start` installs (if needed) and starts munged,
slurmctld and slurmd; the tests then submit a toy workflow with real sbatch
through `profiles/slurm`. Needs root and apt (Debian/Ubuntu); skipped
otherwise. Takes 2-4 minutes, mostly waiting for the plugin's status checks.

Run: .venv/bin/pytest tests/test_slurm.py -v
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SLURM_LOCAL = REPO / "scripts" / "slurm_local.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm"
TOY_WORKFLOW = Path(__file__).resolve().parent / "data" / "slurm_toy"

# Hard limits, so a status-polling problem shows up as a failure, not a hang.
# The plugin only notices a finished job at its next status check, and the gap
# between checks grows by 10 s after every check in which no job succeeded
# (checks at about 0, 10, 30, 60, 100, 150 s); the failing run (no retry) exits
# at the check after its failure.
RUN_TIMEOUT_S = 300
FAIL_TIMEOUT_S = 180


@dataclass(frozen=True)
class SlurmCluster:
    """A running local cluster, as provided by the `slurm_cluster` fixture."""

    state_dir: Path
    profile: Path
    has_gpus: bool


def _skip_reason() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root: scripts/slurm_local.sh installs packages and starts SLURM daemons"
    installed = all(
        shutil.which(c) for c in ("slurmctld", "slurmd", "sbatch", "munged")
    )
    if not installed and not (shutil.which("apt-get") and shutil.which("dpkg")):
        return "SLURM is not installed and apt-get/dpkg are unavailable to install it"
    return None


def _slurm_local(
    action: str, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SLURM_LOCAL), action],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Start the local SLURM cluster once per test session, stop it at the end.

    A cluster that was already running before the session (started by hand
    with `scripts/slurm_local.sh start`) is used and left running.
    """
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)

    env = dict(os.environ)
    # On a machine without GPUs, advertise one placeholder GPU so the GPU
    # mapping of the profile can be tested (see slurm_local.sh). Only takes
    # effect when this fixture is the one that starts the cluster.
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        env.setdefault("SLURM_LOCAL_GPUS", "1")

    already_running = _slurm_local("status", env, timeout=60).returncode == 0
    started = time.monotonic()
    result = _slurm_local("start", env)
    if result.returncode != 0:
        pytest.fail(
            f"scripts/slurm_local.sh start failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    print(f"\nlocal SLURM cluster ready after {time.monotonic() - started:.1f}s")

    gres = subprocess.run(
        ["sinfo", "--noheader", "--format=%G"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state_dir = Path(env.get("SLURM_LOCAL_DIR", "/tmp/initstudy-slurm"))
    try:
        yield SlurmCluster(
            state_dir=state_dir, profile=SLURM_PROFILE, has_gpus="gpu" in gres
        )
    finally:
        if not already_running:
            stop = _slurm_local("stop", env, timeout=300)
            assert stop.returncode == 0, (
                f"slurm_local.sh stop failed:\n{stop.stdout}\n{stop.stderr}"
            )


def run_snakemake(
    workdir: Path, *args: str, timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the venv's snakemake on `workdir` with a hard timeout.

    On timeout the whole process group is killed (jobs still on the cluster
    are cancelled by `slurm_local.sh stop`) and the test fails with the output
    so far.
    """
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(workdir / "Snakefile"),
        "--directory", str(workdir),
        *args,
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=cwd or workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(
            f"snakemake did not finish within {timeout}s: {' '.join(cmd)}\n{out}",
            pytrace=False,
        )
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def copy_toy(dest: Path) -> Path:
    shutil.copytree(TOY_WORKFLOW, dest)
    return dest


def slurm_job_id(log: Path) -> str:
    match = re.search(r"^SLURM_JOB_ID=(\S+)$", log.read_text(), re.MULTILINE)
    assert match, f"no SLURM_JOB_ID line in {log}"
    assert match.group(1).isdigit(), (
        f"{log}: job did not run under SLURM ({match.group(0)})"
    )
    return match.group(1)


def scontrol_job(job_id: str) -> str:
    # Finished jobs stay visible to scontrol for MinJobAge (3600 s here).
    return subprocess.run(
        ["scontrol", "--oneliner", "show", "job", job_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_toy_workflow_via_slurm_matches_local_run(slurm_cluster, tmp_path):
    slurm_dir = copy_toy(tmp_path / "slurm")
    local_dir = copy_toy(tmp_path / "local")
    elsewhere = tmp_path / "elsewhere"  # the profile must not depend on the cwd
    elsewhere.mkdir()

    started = time.monotonic()
    slurm = run_snakemake(
        slurm_dir,
        "--profile",
        str(slurm_cluster.profile),
        timeout=RUN_TIMEOUT_S,
        cwd=elsewhere,
    )
    print(f"SLURM run took {time.monotonic() - started:.1f}s")
    assert slurm.returncode == 0, slurm.stdout
    local = run_snakemake(local_dir, "--cores", "2", timeout=RUN_TIMEOUT_S)
    assert local.returncode == 0, local.stdout

    combined = (slurm_dir / "results" / "combined.txt").read_bytes()
    assert combined == (local_dir / "results" / "combined.txt").read_bytes()
    assert b"part 3: 9" in combined

    # Every job really went through sbatch, with what the profile asks for.
    profile = yaml.safe_load((slurm_cluster.profile / "config.yaml").read_text())
    mem_mb = profile["default-resources"]["mem_mb"]
    job_ids = [
        slurm_job_id(slurm_dir / "logs" / "make_part" / f"{i}.log") for i in (1, 2, 3)
    ]
    combine_id = slurm_job_id(slurm_dir / "logs" / "combine.log")
    assert len(set(job_ids + [combine_id])) == 4
    for job_id in job_ids:
        info = scontrol_job(job_id)
        assert "JobState=COMPLETED" in info, info
        # No slurm_partition in the profile: the plugin picks the default.
        assert "Partition=debug" in info, info
        assert f"mem={mem_mb}M" in info, info
        assert "NumCPUs=1" in info, info
    # `threads: 2` -> --cpus-per-task=2
    assert "NumCPUs=2" in scontrol_job(combine_id)
    assert "SLURM_CPUS_PER_TASK=2" in (slurm_dir / "logs" / "combine.log").read_text()

    # The local run must not have touched SLURM.
    assert "SLURM_JOB_ID=none" in (local_dir / "logs" / "combine.log").read_text()


def test_failing_job_fails_the_run(slurm_cluster, tmp_path):
    workdir = copy_toy(tmp_path / "toy")
    started = time.monotonic()
    result = run_snakemake(
        workdir,
        "--profile",
        str(slurm_cluster.profile),
        "--retries",  # the profile retries a failed job once: here that is a minute of waiting for
        "0",  # a second, identical failure (the retry itself is Snakemake's, not under test)
        "always_fails",
        timeout=FAIL_TIMEOUT_S,
    )
    print(f"failing run took {time.monotonic() - started:.1f}s")
    assert result.returncode != 0, result.stdout
    assert "Error in rule always_fails" in result.stdout, result.stdout
    # Detected through the SLURM job state (squeue), not some other way.
    assert "SLURM status is: 'FAILED'" in result.stdout, result.stdout
    assert "failing on purpose with exit code 3" in result.stdout  # show-failed-logs
    assert not (workdir / "results" / "never_written.txt").exists()


def test_gpu_resource_becomes_a_slurm_gpu_request(slurm_cluster, tmp_path):
    if not slurm_cluster.has_gpus:
        pytest.skip(
            "the running cluster offers no gres/gpu (it was started without SLURM_LOCAL_GPUS)"
        )
    workdir = copy_toy(tmp_path / "toy")
    result = run_snakemake(
        workdir,
        "--profile",
        str(slurm_cluster.profile),
        "gpu_probe",
        timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout
    info = scontrol_job(slurm_job_id(workdir / "logs" / "gpu_probe.log"))
    # `resources: gpu=1` -> sbatch --gpus=1
    assert re.search(r"TresPerJob=\S*gpu:1\b", info), info


def test_tiny_study_via_slurm_equals_local_run(slurm_cluster, tmp_path, monkeypatch):
    """The real training workflow through sbatch gives the tidy table of a local run."""
    import pandas as pd

    from test_workflow import TINY_STUDY, copy_workflow

    # Jobs inherit the submitter's environment: `python -m initstudy` must be the venv's.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    target = "results/runs.parquet"
    slurm_dir = copy_workflow(tmp_path / "slurm", TINY_STUDY)
    local_dir = copy_workflow(tmp_path / "local", TINY_STUDY)
    slurm = run_snakemake(slurm_dir, "--profile", str(slurm_cluster.profile), target, timeout=RUN_TIMEOUT_S)
    assert slurm.returncode == 0, slurm.stdout[-4000:]
    local = run_snakemake(local_dir, "--cores", "2", target, timeout=RUN_TIMEOUT_S)
    assert local.returncode == 0, local.stdout[-4000:]
    # Each train job (one per pack the workflow states) went through sbatch (the plugin
    # reports the id and a per-rule log dir).
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S+/rule_train/", slurm.stdout)
    stated = int(re.search(r"initstudy: (\d+) train jobs", slurm.stdout).group(1))
    assert len(submitted) == stated >= 2  # at least the mlp and the cnn pack
    for job_id in submitted:
        assert "JobState=COMPLETED" in scontrol_job(job_id)
    # pack ids depend on the cores each run was given (execution), the numbers do not;
    # created is when each record was made
    volatile = ["wall_time_s", "pack_id", "created"]
    on_slurm = pd.read_parquet(slurm_dir / target).drop(columns=volatile)
    local_table = pd.read_parquet(local_dir / target).drop(columns=volatile)
    pd.testing.assert_frame_equal(on_slurm, local_table)  # bit-identical: determinism on, same threads

