"""``training.gpu`` picks the device of a train job, in real processes on both backends.

On a machine without a GPU (this one, and CI) a job that asks for one must fail
before it trains, with one line naming the key and what it saw, and write nothing;
a job that asks for none computes on the CPU and says so in its record. On a GPU
machine the first test is skipped (it would train there) and the second still holds.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from initstudy.study import config, runs

#: Each test starts a train process.
pytestmark = pytest.mark.slow

STUDY = {"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["relu"],
                  "optimizers": ["adam"], "depths": [2], "initializers": ["he_normal"], "seeds": [0]},
         "training": {"epochs": 1, "width": 8, "probe_size": 16}}


def pack_file(tmp_path, gpu: bool):
    cfg = config.check(json.loads(json.dumps({**STUDY, "training": {**STUDY["training"], "gpu": gpu}})))
    (pack,) = runs.make_packs(runs.expand(cfg), 8)
    path = tmp_path / "pack.json"
    path.write_text(json.dumps({"pack_id": pack.pack_id, "runs": [r.to_dict() for r in pack.runs],
                                "training": cfg["training"]}))
    return path


def train(tmp_path, backend: str, gpu: bool, **env_vars: str):
    env = {**os.environ, "KERAS_BACKEND": backend, **env_vars}
    args = [sys.executable, "-m", "initstudy", "train", "--pack", f"@{pack_file(tmp_path, gpu)}", "--threads", "1",
            "--out-root", str(tmp_path / "runs"), "--checkpoint-dir", str(tmp_path / "checkpoints")]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


def nvidia_driver() -> bool:
    """Whether a backend here could see a GPU (asking the backend itself would import it
    in another process: seconds per test)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_job_that_asks_for_a_gpu_it_cannot_see_fails_before_training(tmp_path, backend):
    if nvidia_driver():
        pytest.skip("an NVIDIA driver is here: the backend may see a GPU and train on it")
    proc = train(tmp_path, backend, gpu=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("initstudy train: error: training.gpu: true, but the")
    assert f"the {backend} backend sees no GPU" in lines[0] and "training.gpu: false" in lines[0]
    assert not list(tmp_path.glob("runs/**/record-*.json"))


def test_a_job_without_a_gpu_computes_on_the_cpu_and_records_it(tmp_path):
    # XLA's options choose kernels: the record says which were set (this one is XLA's default)
    flags = "--xla_cpu_enable_fast_math=false"
    proc = train(tmp_path, "jax", gpu=False, XLA_FLAGS=flags, TF_ENABLE_ONEDNN_OPTS="0")
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("runs/**/record-*.json")]
    assert record["provenance"]["keras_backend"] == "jax"
    assert record["provenance"]["kernel_env"] == {"TF_ENABLE_ONEDNN_OPTS": "0", "XLA_FLAGS": flags}
    assert record["provenance"]["devices"] and all(d.startswith("cpu:") for d in record["provenance"]["devices"])
    assert record["training"]["gpu"] is False
