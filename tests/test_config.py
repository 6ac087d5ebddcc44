"""Config validation: every bad config stops with a message naming the key and the value."""

import copy
import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, TINY
from initstudy.analysis import power
from initstudy.inits import resolve
from initstudy.study import config
from initstudy.study import stages


def with_change(path, value):
    """TINY with the value at a dotted path replaced (or a key added)."""
    cfg = copy.deepcopy(TINY)
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return cfg


BAD = [
    ("grid.colour", ["red"], "grid: unknown key(s) 'colour'"),
    ("training.epoch", 3, "training: unknown key(s) 'epoch'"),
    ("grid.datasets", ["imagenet"], "grid.datasets[0]: 'imagenet' is not one of"),
    ("grid.architectures", ["resnet"], "grid.architectures[0]: 'resnet' is not one of"),
    ("grid.activations", ["swish"], "grid.activations[0]: 'swish' is not one of"),
    ("grid.optimizers", ["adagrad"], "grid.optimizers[0]: 'adagrad' is not one of"),
    ("grid.initializers", ["he_norml"], "grid.initializers[0]: unknown initializer 'he_norml'"),
    ("grid.initializers", [{"name": "random_normal", "std": 1}],
     "grid.initializers[0]: random_normal got unknown argument(s) 'std' (did you mean 'stddev'?); "
     "expected mean, stddev"),
    ("grid.initializers", [{"name": "he_normal", "seed": 3}], "grid.initializers[0]: 'seed' is derived"),
    ("grid.initializers", [{"name": "nowhere.module:Init"}], "cannot import module 'nowhere.module'"),
    ("grid.initializers", [{"name": "initstudy.study.config:ConfigError"}], "is not a keras.initializers.Initializer"),
    ("grid.initializers", [{"stddev": 1}], "grid.initializers[0]: 'name' is a required property"),
    ("grid.initializers", [3], "grid.initializers[0]: 3 is not an initializer spec"),
    ("grid.initializers", ["he_normal", {"name": "he_normal"}], "label 'he_normal' repeats grid.initializers[0]"),
    ("grid.depths", [0], "grid.depths[0]: 0 is less than the minimum of 1"),
    ("grid.depths", [201], "grid.depths[0]: 201 is greater than the maximum of 200"),
    ("grid.depths", [2.5], "grid.depths[0]: 2.5 is not of type 'integer'"),
    ("grid.seeds", [0, 0], "grid.seeds: duplicate value(s) 0"),
    ("grid.seeds", ["one"], "grid.seeds[0]: 'one' is not of type 'integer'"),
    ("grid.seeds", [1.5], "grid.seeds[0]: 1.5 is not of type 'integer'"),
    ("grid.seeds", [], "grid.seeds: [] should be non-empty"),
    ("grid.datasets", "digits", "grid.datasets: 'digits' is not of type 'array'"),
    ("training.epochs", "ten", "training.epochs: 'ten' is not of type 'integer'"),
    ("training.validation_split", 1.0, "training.validation_split: 1.0 is greater than or equal to the maximum"),
    ("training.learning_rate", {"adam": -1}, "training.learning_rate.adam: -1 is less than or equal to the minimum"),
    ("training.pack_size", 0, "training.pack_size: 0 is less than the minimum of 1"),
    ("audit.extra_initializers", ["glorot_unifrom"], "audit.extra_initializers[0]: unknown initializer"),
]


def check_fully(cfg):
    """What `initstudy validate` and the workflow's check do: the schema and what needs
    no Keras (config.check, when the Snakefile is parsed), then every initializer with
    Keras (resolve.check_config, before any job trains)."""
    resolve.check_config(config.check(cfg))


#: Refused only by resolve.check_config (with Keras: custom classes are imported by the
#: job); every other bad value already by config.check, without Keras, while the
#: workflow is parsed.
NEEDS_KERAS = ("cannot import module", "is not a keras")


@pytest.mark.parametrize("path,value,message", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_config_is_refused_with_its_key_and_value(path, value, message):
    with pytest.raises(config.ConfigError) as info:
        check_fully(with_change(path, value))
    assert message in str(info.value)
    if not any(word in message for word in NEEDS_KERAS):
        with pytest.raises(config.ConfigError, match=re.escape(message)):
            config.check(with_change(path, value))


def test_identity_is_refused_for_conv_kernels():
    cfg = with_change("grid.initializers", ["identity"])
    cfg["grid"]["architectures"] = ["cnn"]
    with pytest.raises(config.ConfigError, match=r"grid.initializers\[0\]: identity only fits 2-D"):
        config.check(cfg)


def test_empty_config_is_refused():
    with pytest.raises(config.ConfigError, match="empty or not a mapping"):
        config.check({})


def test_defaults_are_filled_and_partial_learning_rates_merge():
    cfg = config.check(with_change("training.learning_rate", {"sgd": 0.5}))
    assert cfg["training"]["learning_rate"] == {"sgd": 0.5, "momentum": 0.01, "adam": 0.001, "rmsprop": 0.001}
    assert cfg["training"]["epochs"] == 2 and cfg["training"]["batch_size"] == 128


def test_schema_declares_draft_07():
    assert config.schema()["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_default_study_is_valid_and_can_decide():
    """The default study has the seeds its tests need: Holm over the pairs of its
    initializers can reach alpha, and its claims exist."""
    cfg = config.load(REPO / "config" / "config.yaml")
    grid = cfg["grid"]
    k = len(grid["initializers"])
    assert len(grid["seeds"]) >= power.seeds_needed(cfg["stats"]["alpha"], k * (k - 1) // 2)
    # tuned in two stages: 3 rates on 2 selection seeds, then 1 rate on the 10 evaluation
    # seeds, which are not selection seeds
    assert not set(cfg["tuning"]["selection_seeds"]) & set(grid["seeds"])
    assert len(stages.planned_runs(cfg)) == 2 * 3 * 5 * (3 * 2 + 10)
    for name in cfg["claims"]:
        assert "claim" in config.load(REPO / "config" / "claims" / f"{name}.yaml")


def test_cli_validate_reports_a_bad_file_in_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_change("grid.depths", [0])))
    proc = subprocess.run([sys.executable, "-m", "initstudy", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("initstudy validate: error: invalid config: "
                                   "grid.depths[0]: 0 is less than the minimum of 1")
    assert "Traceback" not in proc.stderr
