"""Initializer specs: every Keras built-in, arguments, custom classes, labels, seeding."""

import numpy as np
import pytest

from initstudy.inits import resolve as inits
from initstudy.study import specs
from initstudy.study.specs import InitializerError

DENSE = (16, 24)
CONV = (3, 3, 4, 8)


@pytest.mark.parametrize("name", sorted(inits.KERAS_BUILTINS))
def test_every_keras_builtin_resolves_by_name(name):
    spec = specs.parse(name)
    assert spec.label == name
    values = np.asarray(inits.build(spec, seed=1)(shape=DENSE))
    assert values.shape == DENSE and np.isfinite(values).all()


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_takes_any_scale_mode_distribution(mode, distribution):
    spec = specs.parse({"name": "variance_scaling", "scale": 2.0, "mode": mode, "distribution": distribution})
    shape = (3, 3, 32, 64)  # Keras fans: receptive field × channels
    fan_in, fan_out = 9 * 32, 9 * 64
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    values = np.asarray(inits.build(spec, seed=3)(shape=shape))
    assert values.var() == pytest.approx(2.0 / fan, rel=0.1)


def test_arguments_reach_the_keras_object():
    values = np.asarray(inits.build({"name": "random_normal", "stddev": 0.01}, seed=0)(shape=(200, 200)))
    assert values.std() == pytest.approx(0.01, rel=0.05)
    assert np.all(np.asarray(inits.build({"name": "constant", "value": 0.5}, 0)(shape=DENSE)) == 0.5)


def test_labels_are_stable_and_path_safe():
    assert specs.parse({"name": "random_normal", "stddev": 0.01}).label == "random_normal-stddev0.01"
    assert specs.parse({"name": "variance_scaling", "scale": 2.0, "mode": "fan_in"}).label == \
        "variance_scaling-modefan_in-scale2"
    assert specs.parse({"name": "he_normal", "label": "He"}).label == "He"
    with pytest.raises(InitializerError, match="label 'a/b'"):
        specs.parse({"name": "he_normal", "label": "a/b"})


def test_same_seed_same_values_other_seed_other_values():
    a = np.asarray(inits.build("glorot_uniform", seed=5)(shape=DENSE))
    b = np.asarray(inits.build("glorot_uniform", seed=5)(shape=DENSE))
    c = np.asarray(inits.build("glorot_uniform", seed=6)(shape=DENSE))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_custom_initializer_by_import_path():
    spec = specs.parse({"name": "initstudy.inits.custom:FixedUniform", "limit": 0.05})
    assert spec.is_custom and spec.label == "FixedUniform-limit0.05"
    values = np.asarray(inits.build(spec, seed=2)(shape=(100, 100)))
    assert values.min() >= -0.05 and values.max() <= 0.05 and values.std() > 0.02


def test_lsuv_is_data_dependent_with_a_base():
    spec = specs.parse({"name": "lsuv", "base": "orthogonal"})
    assert spec.is_data_dependent and spec.base.name == "orthogonal" and spec.label == "lsuv-baseorthogonal"
    assert spec.arguments["tol"] == 0.1 and spec.arguments["max_iter"] == 10


def test_identity_fits_dense_but_not_conv():
    values = np.asarray(inits.build("identity", 0)(shape=(4, 6)))
    np.testing.assert_array_equal(values, np.eye(4, 6))
    specs.check_shape_support("identity", 2)
    with pytest.raises(InitializerError, match="identity only fits 2-D"):
        specs.check_shape_support("identity", len(CONV))
