"""Bad initializer specs are refused while the workflow is parsed: the Keras-free
table of built-ins is held against Keras, every refusal is one line naming the key, the
value and what was expected, custom classes' declared ranges are checked when the job
imports them, and a real ``snakemake -n`` stops on a bad spec before planning any job."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY

from initstudy.inits import custom, resolve
from initstudy.study import arguments, config
from initstudy.study.arguments import Choice, InitializerError, Integer, Real
from initstudy.study.builtin_initializers import BUILTINS, NOT_WEIGHT_SCHEMES
from initstudy.study.specs import DATA_DEPENDENT, parse
from workflow_copy import copy_workflow  # bench/workflow_copy.py (pytest's pythonpath)

WHERE = "grid.initializers[0]"
CUSTOM = "initstudy.inits.custom:"


def keras_exports() -> dict[str, type]:
    """What ``keras.initializers`` exports by snake_case name: its Initializer subclasses."""
    return {name: obj for name, obj in vars(keras.initializers).items()
            if name.islower() and isinstance(obj, type) and issubclass(obj, keras.initializers.Initializer)}


def keras_draws(name: str, given: dict) -> bool:
    """Whether Keras builds the initializer with these arguments and draws finite values."""
    cls = getattr(keras.initializers, name)
    seed = {"seed": 0} if resolve.accepts_seed(cls) else {}
    try:
        return bool(np.isfinite(np.asarray(cls(**given, **seed)(shape=(4, 4)))).all())
    except Exception:  # any refusal, from the constructor or from the draw
        return False


def table_accepts(name: str, given: dict) -> bool:
    try:
        arguments.check(name, BUILTINS[name], given, WHERE)
    except InitializerError:
        return False
    return True


def probes(kind) -> tuple[list, list]:
    """Values just inside the kind, and values outside it (wrong type, bool, edge, beyond)."""
    if isinstance(kind, Real):
        low = kind.above
        inside = [-1e3, 0.0, 1e3] if low is None else [low + 1e-6, low + 1e3]
        edge = [] if low is None else [low, low - 1.0]
        return inside, [*edge, math.nan, math.inf, -math.inf, True, "1", None]
    if isinstance(kind, Integer):
        return [kind.at_least, kind.at_least + 100], [kind.at_least - 1, 2.5, True, "3"]
    return list(kind.options), [kind.options[0].upper(), kind.options[0] + "x", 1, None]


def test_the_table_names_what_keras_exports():
    exports = keras_exports()
    assert set(NOT_WEIGHT_SCHEMES) <= set(exports)
    assert set(BUILTINS) == set(exports) - set(NOT_WEIGHT_SCHEMES)
    assert set(resolve.KERAS_BUILTINS) == set(BUILTINS)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_the_table_has_keras_arguments_and_defaults(name):
    signature = BUILTINS[name]
    assert signature.defaults == resolve.constructor_arguments(getattr(keras.initializers, name))
    assert set(signature.kinds) == set(signature.defaults)  # every value is checked
    assert table_accepts(name, {})  # Keras' defaults are in range
    assert keras_draws(name, {})


@pytest.mark.parametrize("name", sorted(name for name in BUILTINS if BUILTINS[name].kinds))
def test_what_the_table_accepts_keras_draws_and_what_keras_refuses_the_table_refuses(name):
    """Each probe alone: inside its kind the table accepts it (unless an ordered pair with
    a default forbids it) and Keras draws finite values; whatever Keras refuses (or draws
    as NaN or infinity) the table refuses too."""
    signature = BUILTINS[name]
    for key, kind in signature.kinds.items():
        inside, outside = probes(kind)
        for value in inside:
            assert kind.accepts(value), (key, value)
        for value in inside + outside:
            given = {key: value}
            if table_accepts(name, given):
                assert keras_draws(name, given), f"{name}({key}={value!r}) passes the table, not Keras"
            if not keras_draws(name, given):
                assert not table_accepts(name, given), f"Keras refuses {name}({key}={value!r}), the table not"
    for low, high in signature.increasing:
        assert table_accepts(name, {low: 0.0, high: 1e-6}) and keras_draws(name, {low: 0.0, high: 1e-6})
        assert not table_accepts(name, {low: 0.0, high: 0.0})
        assert not table_accepts(name, {low: 1.0, high: -1.0})


@pytest.mark.parametrize("given", [{"scale": 0.0}, {"scale": -1.0}, {"mode": "fan_inn"},
                                   {"distribution": "gaussian"}])
def test_keras_own_refusals_are_the_tables(given):
    with pytest.raises(ValueError):
        keras.initializers.VarianceScaling(**given)
    assert not table_accepts("variance_scaling", given)


#: (spec, the key the message names, the value as it shows it, what it expects).
REFUSED = [
    ("he_normall", WHERE, "'he_normall'", "(did you mean 'he_normal'?); expected one of constant,"),
    ("xavier", WHERE, "'xavier'", "or a custom class as 'package.module:Class'"),
    ({"name": "random_normal", "std": 1}, WHERE, "'std'", "(did you mean 'stddev'?); expected mean, stddev"),
    ({"name": "zeros", "value": 1}, WHERE, "'value'", "expected no arguments"),
    ({"name": "he_normal", "input_axes": [0]}, WHERE, "'input_axes'", "expected no arguments"),
    ({"name": "random_normal", "stddev": -1}, f"{WHERE}.stddev", "got -1", "expected a finite number > 0"),
    ({"name": "truncated_normal", "stddev": 0}, f"{WHERE}.stddev", "got 0", "expected a finite number > 0"),
    ({"name": "random_normal", "stddev": "0.1"}, f"{WHERE}.stddev", "got '0.1'", "expected a finite number > 0"),
    ({"name": "orthogonal", "gain": True}, f"{WHERE}.gain", "got True (a bool)", "expected a finite number > 0"),
    ({"name": "constant", "value": math.nan}, f"{WHERE}.value", "got nan", "expected a finite number"),
    ({"name": "variance_scaling", "scale": math.inf}, f"{WHERE}.scale", "got inf", "expected a finite number > 0"),
    ({"name": "variance_scaling", "mode": "fan_inn"}, f"{WHERE}.mode", "got 'fan_inn'",
     "(did you mean 'fan_in'?); expected one of fan_in, fan_out, fan_avg"),
    ({"name": "random_uniform", "minval": 0.1}, WHERE, "minval=0.1, maxval=0.05 (default)",
     "expected minval < maxval"),
    ({"name": "lsuv", "tol": 0}, f"{WHERE}.tol", "got 0", "expected a finite number > 0"),
    ({"name": "lsuv", "tol": False}, f"{WHERE}.tol", "got False (a bool)", "expected a finite number > 0"),
    ({"name": "lsuv", "max_iter": 0}, f"{WHERE}.max_iter", "got 0", "expected an integer >= 1"),
    ({"name": "lsuv", "max_iter": 2.5}, f"{WHERE}.max_iter", "got 2.5", "expected an integer >= 1"),
    ({"name": "lsuv", "max_iter": True}, f"{WHERE}.max_iter", "got True (a bool)", "expected an integer >= 1"),
    ({"name": "lsuv", "base": "orthogonl"}, f"{WHERE}.base", "'orthogonl'", "(did you mean 'orthogonal'?)"),
    ({"name": "lsuv", "base": {"name": "orthogonal", "gain": -1}}, f"{WHERE}.base.gain", "got -1",
     "expected a finite number > 0"),
    ({"name": "lsuv", "base": "lsuv"}, f"{WHERE}.base", "'lsuv'", "expected a data-free initializer"),
    ({"name": "lsuv", "base": {"name": "orthogonal", "bias": "ones"}}, f"{WHERE}.base", "'orthogonal'",
     "without a 'bias' of its own"),
    ({"name": "he_normal", "bias": "zero"}, f"{WHERE}.bias", "'zero'", "(did you mean 'zeros'?)"),
    ({"name": "he_normal", "bias": {"name": "random_normal", "stddev": -0.1}}, f"{WHERE}.bias.stddev",
     "got -0.1", "expected a finite number > 0"),
    ({"name": "lsuv", "bias": {"name": "constant", "value": "0.1"}}, f"{WHERE}.bias.value", "got '0.1'",
     "expected a finite number"),
]


def assert_one_line(message: str, key: str, value: str, expected: str):
    assert "\n" not in message and message.startswith(f"{key}: ")
    assert value in message and expected in message, message
    assert message.index(value) < message.index("expected")


@pytest.mark.parametrize("spec,key,value,expected", REFUSED, ids=[repr(s) for s, *_ in REFUSED])
def test_a_bad_spec_is_refused_without_keras_in_one_line(spec, key, value, expected):
    with pytest.raises(InitializerError) as error:
        parse(spec, where=WHERE)
    assert_one_line(str(error.value), key, value, expected)


@pytest.mark.parametrize("key", sorted(DATA_DEPENDENT["lsuv"].kinds))
def test_lsuv_arguments_are_range_checked(key):
    inside, outside = probes(DATA_DEPENDENT["lsuv"].kinds[key])
    for value in inside:
        assert parse({"name": "lsuv", key: value}).arguments[key] == value
    for value in outside:
        with pytest.raises(InitializerError, match=rf"^{re.escape(WHERE)}\.{key}: lsuv got "):
            parse({"name": "lsuv", key: value}, where=WHERE)


def test_the_config_check_refuses_them_too():
    cfg = {**TINY, "grid": {**TINY["grid"], "initializers": ["he_normal", {"name": "random_normal", "stddev": -1}]}}
    with pytest.raises(config.ConfigError, match=r"^invalid config: grid\.initializers\[1\]\.stddev: random_normal "
                                                 r"got -1; expected a finite number > 0$"):
        config.check(cfg)


def test_only_custom_classes_wait_for_the_job():
    spec = parse({"name": CUSTOM + "FixedUniform", "limit": -1}, where=WHERE)
    assert spec.is_custom  # parsed without importing it
    with pytest.raises(InitializerError):
        resolve.check(spec, where=WHERE)


#: Custom specs refused by resolve.check, against the ranges their class declares.
REFUSED_CUSTOM = [
    ({"name": CUSTOM + "FixedUniform", "limit": -0.05}, f"{WHERE}.limit", "got -0.05", "expected a finite number > 0"),
    ({"name": CUSTOM + "FixedUniform", "limits": 1}, WHERE, "'limits'", "(did you mean 'limit'?); expected limit"),
    ({"name": CUSTOM + "ClippedNormal", "stddev": True}, f"{WHERE}.stddev", "got True (a bool)",
     "expected a finite number > 0"),
    ({"name": CUSTOM + "HandVarianceScaling", "mode": "fan_inn"}, f"{WHERE}.mode", "got 'fan_inn'",
     "(did you mean 'fan_in'?); expected one of fan_in, fan_out, fan_avg"),
    ({"name": CUSTOM + "ChannelsFirstHe", "scale": 2}, WHERE, "'scale'", "expected no arguments"),
    ({"name": "lsuv", "base": {"name": CUSTOM + "FixedUniform", "limit": 0}}, f"{WHERE}.base.limit", "got 0",
     "expected a finite number > 0"),
    ({"name": "he_normal", "bias": {"name": CUSTOM + "ClippedNormal", "stddev": "big"}}, f"{WHERE}.bias.stddev",
     "got 'big'", "expected a finite number > 0"),
]


@pytest.mark.parametrize("spec,key,value,expected", REFUSED_CUSTOM, ids=[repr(s) for s, *_ in REFUSED_CUSTOM])
def test_a_custom_class_declared_range_is_checked_when_the_job_imports_it(spec, key, value, expected):
    parse(spec, where=WHERE)
    with pytest.raises(InitializerError) as error:
        resolve.check(spec, where=WHERE)
    assert_one_line(str(error.value), key, value, expected)


def test_the_job_check_names_the_config_key():
    cfg = config.check({**TINY, "grid": {**TINY["grid"], "initializers": [{"name": CUSTOM + "FixedUniform",
                                                                            "limit": 0}]}})
    with pytest.raises(config.ConfigError, match=r"^invalid config: grid\.initializers\[0\]\.limit: "):
        resolve.check_config(cfg)


@pytest.mark.parametrize("cls", [custom.FixedUniform, custom.ClippedNormal, custom.HandVarianceScaling,
                                 custom.ChannelsFirstHe])
def test_custom_declarations_name_real_arguments_and_allow_their_defaults(cls):
    defaults = resolve.constructor_arguments(cls)
    assert set(cls.argument_ranges) <= set(defaults)
    assert all(isinstance(kind, (Real, Integer, Choice)) for kind in cls.argument_ranges.values())
    assert all(kind.accepts(defaults[key]) for key, kind in cls.argument_ranges.items())
    for key, kind in cls.argument_ranges.items():
        for value in probes(kind)[0]:
            cls(**{key: value}, seed=0)(shape=(4, 4))  # inside the declaration: the class draws


@pytest.mark.parametrize("spec,error", [
    ("he_normall", "grid.initializers[0]: unknown initializer 'he_normall' (did you mean 'he_normal'?); expected "
                   "one of constant,"),
    ({"name": "random_normal", "stddev": -1}, "grid.initializers[0].stddev: random_normal got -1; expected a "
                                              "finite number > 0"),
])
@pytest.mark.slow
def test_snakemake_dry_run_stops_on_a_bad_spec_before_planning(tmp_path, spec, error):
    """The workflow's parse refuses the spec: no job is planned, so nothing waits in a
    cluster's queue for a train job to find the error."""
    workdir = copy_workflow(tmp_path, {**TINY, "grid": {**TINY["grid"], "initializers": [spec]}})
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    (line,) = [line for line in proc.stderr.splitlines() if "invalid config" in line]
    assert line.startswith(f"initstudy: invalid config: {error}")
    assert "Job stats" not in output and "rule train" not in output and "Traceback" not in output
