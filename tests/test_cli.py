"""Bad command-line input: one clear line on stderr, exit status 2, nothing written."""

import json
import subprocess
import sys

import pytest

RUN = {"dataset": "digits", "arch": "mlp", "activation": "relu", "optimizer": "adam", "depth": 2,
       "initializer": "he_normal", "initializer_spec": {"name": "he_normal", "label": "he_normal"}, "seed": 0}


def pack(**changes):
    payload = {"pack_id": "p", "runs": [dict(RUN)], "training": {"epochs": 1}}
    run_changes = changes.pop("run", {})
    payload["runs"][0].update(run_changes)
    payload.update(changes)
    return json.dumps(payload)


CASES = [
    (["train", "--pack", "{not json"], "--pack: not valid JSON"),
    (["train", "--pack", "[1, 2]"], "--pack: expected a JSON object, got list"),
    (["train", "--pack", json.dumps({"runs": []})], "--pack: missing ['pack_id', 'training']"),
    (["train", "--pack", pack(run={"dataset": "../../etc"})], "grid.datasets[0]: '../../etc' is not one of"),
    (["train", "--pack", pack(run={"depth": "deep"})], "grid.depths[0]: 'deep' is not of type 'integer'"),
    (["train", "--pack", pack(run={"initializer_spec": {"name": "he_normal", "label": "../x"}})],
     "grid.initializers[0].label: '../x' does not match"),
    (["train", "--pack", pack(training={"epochs": 0})], "training.epochs: 0 is less than the minimum of 1"),
    (["train", "--pack", pack(pack_id="../p")], "--pack: pack_id '../p' must be letters"),
    (["train", "--pack", "@/nonexistent/pack.json"], "No such file or directory"),
    (["train", "--pack", pack(), "--threads", "0"], "argument --threads: invalid positive_int value: '0'"),
    (["validate", "/nonexistent/config.yaml"], "cannot read config /nonexistent/config.yaml"),
    (["plan", "/nonexistent/config.yaml"], "cannot read config /nonexistent/config.yaml"),
    (["aggregate", "--root", "/nonexistent"], "--root /nonexistent: no record.json below it"),
    (["stats", "--diverged-policy", "ignore"], "argument --diverged-policy: invalid choice: 'ignore'"),
    (["frobnicate"], "argument verb: invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_gives_one_clear_line(tmp_path, monkeypatch, capsys, args, message):
    from initstudy import cli

    monkeypatch.chdir(tmp_path)
    try:
        status = cli.main(args)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_module_entry_point_exits_2_without_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "initstudy", "train", "--pack", "{not json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("initstudy train: error: --pack: not valid JSON")
