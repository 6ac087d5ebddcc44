"""Real processes, killed with SIGKILL at several points, resume to bit-identical records;
the same pack trained in two processes gives bit-identical metrics and weights. The
mid-epoch kill (after an epoch's compiled loop, before it is validated and saved) is
also tested on the JAX backend, whose loop is another compiled program."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from initstudy.study import config

from initstudy.study import runs

#: Real train processes, killed and resumed.
pytestmark = pytest.mark.slow

STUDY = {"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["tanh"],
                  "optimizers": ["adam"], "depths": [3],
                  "initializers": ["glorot_uniform", {"name": "lsuv", "base": "orthogonal"}],
                  "seeds": [0, 1]},
         "training": {"epochs": 4, "batch_size": 64, "width": 24, "probe_size": 32,
                      "checkpoint_every_s": 0}}  # a checkpoint after every epoch, for the kill points
#: Fields that legitimately differ between processes (time, provenance).
VOLATILE = ("wall_time_s", "provenance", "pack")


@pytest.fixture(scope="module")
def pack_file(tmp_path_factory):
    cfg = config.check(json.loads(json.dumps(STUDY)))
    (pack,) = runs.make_packs(runs.expand(cfg), 64)
    path = tmp_path_factory.mktemp("pack") / "pack.json"
    path.write_text(json.dumps({"pack_id": pack.pack_id, "runs": [r.to_dict() for r in pack.runs],
                                "training": cfg["training"]}))
    return path


def train(pack_file, root, kill_at=None, export=False, backend=None):
    env = {k: v for k, v in os.environ.items() if k != "INITSTUDY_KILL_AT"}
    if backend:
        env["KERAS_BACKEND"] = backend
    if kill_at:
        env["INITSTUDY_KILL_AT"] = kill_at
    args = [sys.executable, "-m", "initstudy", "train", "--pack", f"@{pack_file}", "--threads", "1",
            "--out-root", str(root / "runs"), "--checkpoint-dir", str(root / "checkpoints")]
    if export:
        args += ["--export-dir", str(root / "models")]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


def stable(root):
    """Every record below root, without the fields that may differ between processes."""
    out = {}
    for path in sorted((root / "runs").rglob("record-*.json")):
        record = json.loads(path.read_text())
        out[str(path.relative_to(root))] = {k: v for k, v in record.items() if k not in VOLATILE}
    return out


@pytest.fixture(scope="module")
def uninterrupted(pack_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    proc = train(pack_file, root, export=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def test_same_run_in_two_processes_is_bitwise_identical(pack_file, uninterrupted, tmp_path):
    import keras

    proc = train(pack_file, tmp_path, export=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stable(tmp_path) == stable(uninterrupted)  # exact float equality of every metric
    records = list((tmp_path / "runs").rglob("record-*.json"))
    assert len(records) == 4 and all(json.loads(p.read_text())["provenance"]["deterministic"] for p in records)
    for model in (uninterrupted / "models").rglob("model.keras"):
        ours = keras.models.load_model(tmp_path / model.relative_to(uninterrupted)).get_weights()
        theirs = keras.models.load_model(model).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("kill_at", [
    "epoch2-trained",                    # mid-epoch: epoch 2's steps done in memory, not validated or saved
    "epoch3-saved",                      # between epochs, checkpoint just written
    "atomic:digits-mlp-adam-d3-*.npz",   # while writing the checkpoint (temp file not yet renamed)
    "atomic:record-*.json",              # while writing the first record
])
def test_sigkill_then_restart_gives_bit_identical_records(pack_file, uninterrupted, tmp_path, kill_at):
    killed = train(pack_file, tmp_path, kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not list((tmp_path / "runs").rglob("record-*.json"))  # nothing half-done was published
    resumed = train(pack_file, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert stable(tmp_path) == stable(uninterrupted)


def test_sigkill_mid_epoch_then_restart_on_jax_gives_bit_identical_records(pack_file, tmp_path):
    pytest.importorskip("jax")
    clean = train(pack_file, tmp_path / "clean", backend="jax")
    assert clean.returncode == 0, clean.stderr[-3000:]
    killed = train(pack_file, tmp_path / "killed", kill_at="epoch2-trained", backend="jax")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert list((tmp_path / "killed" / "checkpoints").glob("*.npz"))  # epoch 1 was saved
    resumed = train(pack_file, tmp_path / "killed", backend="jax")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = stable(tmp_path / "killed")
    assert len(records) == 4 and all(r["identity"]["keras_backend"] == "jax" for r in records.values())
    assert records == stable(tmp_path / "clean")


def test_with_the_default_interval_a_short_job_saves_no_checkpoint_and_a_killed_one_starts_over(
        pack_file, uninterrupted, tmp_path):
    """The default ``checkpoint_every_s`` (60 s) is longer than this job: no epoch saves,
    so a kill after epoch 3 leaves nothing to resume from, and the rerun trains from
    the start to the same records; the interval is not in the checkpoint's signature."""
    payload = json.loads(pack_file.read_text())
    del payload["training"]["checkpoint_every_s"]
    default = tmp_path / "default.json"
    default.write_text(json.dumps(payload))
    killed = train(default, tmp_path, kill_at="epoch3-trained")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not list((tmp_path / "checkpoints").glob("*.npz"))
    resumed = train(default, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    def numbers(root):  # the records less the interval they were run with (an execution setting)
        records = stable(root)
        for record in records.values():
            del record["training"]["checkpoint_every_s"]
        return records
    assert numbers(tmp_path) == numbers(uninterrupted)
