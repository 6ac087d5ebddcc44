"""Biases as part of an initializer spec: parsed and labelled without Keras,
part of a run's identity, drawn by the stacked model as by a plain Keras model, audited."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import TINY

from initstudy.analysis import sampling
from initstudy.inits import resolve
from initstudy.models.packed import build_packed, member_weights, reference_model
from initstudy.study import runs as runs_of
from initstudy.study.config import check
from initstudy.study.specs import InitializerError, parse
from initstudy.train.identity import identity

#: sigma_w^2 = 1.76 and sigma_b^2 = 0.05 as mean-field papers state them.
CRITICAL = {"name": "variance_scaling", "scale": 1.76, "mode": "fan_in", "distribution": "untruncated_normal",
            "bias": {"name": "random_normal", "stddev": 0.05 ** 0.5}}


def test_bias_is_part_of_the_spec_and_its_label():
    spec = parse(CRITICAL)
    assert spec.bias.name == "random_normal"
    assert spec.label == ("variance_scaling-distributionuntruncated_normal-modefan_in-scale1.76"
                          "-bias-random_normal-stddev0.223607")
    assert parse(spec.to_dict()) == spec  # the manifest's round trip
    assert spec.draws()["bias"] == {"name": "random_normal", "stddev": 0.05 ** 0.5}
    assert "label" not in spec.draws()["bias"]
    # zeros is the default: the same spec, label and identity as no bias at all
    assert parse({"name": "he_normal", "bias": "zeros"}) == parse("he_normal")


def test_bias_changes_the_identity_but_not_the_label_of_a_plain_spec():
    cfg = check(copy.deepcopy(TINY))
    run = runs_of.expand(cfg)[0]
    biased = copy.deepcopy(TINY)
    biased["grid"]["initializers"] = [{"name": "he_normal", "bias": {"name": "constant", "value": 0.1}}]
    run_b = runs_of.expand(check(biased))[0]
    assert identity(run, cfg["training"])["initializer"] == {"name": "he_normal"}
    assert identity(run_b, cfg["training"]) != identity(run, cfg["training"])


@pytest.mark.parametrize("bias, message", [
    ({"name": "lsuv"}, "cannot draw biases"),
    ({"name": "random_normal", "bias": "ones"}, "cannot draw biases"),
    ({"name": "random_normal", "sd": 1}, "unknown argument(s) 'sd'"),
])
def test_bad_bias_specs_name_the_key(bias, message):
    with pytest.raises(InitializerError, match=r"grid\.initializers\[0\]\.bias") as error:
        resolve.check({"name": "he_normal", "bias": bias}, where="grid.initializers[0]")
    assert message in str(error.value)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_the_stacked_model_draws_the_biases_a_keras_model_draws(arch):
    study = copy.deepcopy(TINY)
    study["grid"].update(architectures=[arch], depths=[3], seeds=[0, 1],
                         initializers=[CRITICAL, "he_normal"])
    cfg = check(study)
    pack = runs_of.make_packs(runs_of.expand(cfg), 8)[0]
    input_shape = (8, 8, 1)
    model = build_packed(pack, input_shape, 10, cfg["training"])
    for index, run in enumerate(pack.runs):
        packed = member_weights(model, index)
        plain = reference_model(run, input_shape, 10, cfg["training"]).get_weights()
        for a, b in zip(packed, plain):
            np.testing.assert_array_equal(a, b)
        hidden_biases = packed[1:-2:2]
        if run.init.bias is None:
            assert all(not b.any() for b in hidden_biases)
        else:
            values = np.concatenate(hidden_biases)
            assert abs(values.std() - 0.05 ** 0.5) < 0.05 and len({b.tobytes() for b in hidden_biases}) == 3
        assert not packed[-1].any()  # the head's biases start at zero


def test_the_audit_checks_the_biases_too():
    table = sampling.audit([CRITICAL, {"name": "he_normal", "bias": {"name": "random_normal", "stddev": 0.1,
                                                                   "intended": "random_normal stddev=0.3"}}])
    bias_rows = table[table["kind"] == "bias"].set_index("initializer")
    label = parse(CRITICAL).label
    assert bias_rows.loc[f"{label}/bias", "verdict"] == "pass"
    assert bias_rows.loc["he_normal-bias-random_normal-stddev0.1/bias", "verdict"] == "FAIL"
