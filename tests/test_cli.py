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
    (["tables", "--config", "/nonexistent/config.yaml"], "cannot read config /nonexistent/config.yaml"),
    (["resolve-config"], "one of the arguments config --json is required"),
    (["resolve-config", "c.yaml", "--json", "{}"], "argument --json: not allowed with argument config"),
    (["resolve-config", "--json", "[1]"], "--json: expected a JSON object, got list"),
    (["resolve-config", "--json", json.dumps({"grid": {"depths": [2]}})],
     "invalid config: grid: 'datasets' is a required property"),
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


# -- the verbs of the tables stage ---------------------------------------------------------


def test_tables_reads_the_records_of_the_configs_runs_only(tmp_path, monkeypatch, capsys, tiny_config):
    import pandas as pd
    import yaml

    from initstudy import cli
    from initstudy.study import config
    from initstudy.train import records
    from initstudy.train.pending import pending
    from test_records import a_record

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config))
    args = ["tables", "--config", "config.yaml", "--records-root", "runs", "--provenance-out", "out/prov.json",
            *(f"--{name}-out=out/{name}.parquet" for name in ("runs", "history", "signal", "weights"))]

    state = pending(config.check(tiny_config), "runs")
    (path,) = state.records.values()
    assert cli.main(args) == 2  # the config's one record is not there yet
    assert f"{path}: cannot read record" in capsys.readouterr().err
    records.write(path, a_record())
    # a record of a run the config does not have, or of another identity, stays out of the tables
    records.write("runs/digits/mlp/relu/adam/d2/he_normal/s9/record-0123456789abcdef.json",
                  a_record("digits/mlp/relu/adam/d2/he_normal/s9", seed=9))
    records.write(path.parent / "record-0123456789abcdef.json", a_record(seed=0))

    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("1 records -> out/runs.parquet, out/history.parquet")
    runs = pd.read_parquet("out/runs.parquet")
    assert list(runs["run_id"]) == ["digits/mlp/relu/adam/d2/he_normal/s0"]
    assert len(pd.read_parquet("out/history.parquet")) == 2
    assert (tmp_path / "out" / "signal.parquet").exists() and (tmp_path / "out" / "weights.parquet").exists()
    assert json.loads((tmp_path / "out" / "prov.json").read_text())["git_commits"] == ["abc"]


@pytest.mark.parametrize("source", ["file", "json"])
def test_resolve_config_writes_the_checked_config_with_its_defaults(tmp_path, monkeypatch, tiny_config, source):
    import yaml

    from initstudy import cli
    from initstudy.study import config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config))
    given = ["config.yaml"] if source == "file" else ["--json", json.dumps(tiny_config)]
    assert cli.main(["resolve-config", *given, "--out", "results/resolved.yaml"]) == 0
    resolved = yaml.safe_load((tmp_path / "results" / "resolved.yaml").read_text())
    assert resolved == config.load(tmp_path / "config.yaml")
    assert resolved["training"]["pack_size"] >= 1 and resolved["grid"] == tiny_config["grid"]
    # the resolved config is a valid config, and resolving it again changes nothing
    assert config.check(yaml.safe_load((tmp_path / "results" / "resolved.yaml").read_text())) == resolved
