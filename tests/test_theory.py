"""Mean-field variance propagation: closed forms, Keras parity, a measured wide network,
and the theory tables (prediction, measurement, stability) of a study."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import pandas as pd
import scipy.stats

from initstudy.analysis import meanfield
from initstudy.models import activations
from initstudy.analysis import stability as st
from initstudy.analysis import theory as mf

CUSTOM = "initstudy.inits.custom:"


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_numpy_activations_match_keras(name):
    grid = np.linspace(-8, 8, 1601, dtype=np.float32)
    ours = activations.ACTIVATIONS[name](grid.astype(np.float64))
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(grid))
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-7)


def test_linear_network_scales_by_sigma_w2_per_layer():
    q = mf.predicted_variance("linear", 1.7, 12, q0=0.9)
    np.testing.assert_allclose(q, 0.9 * 1.7 ** np.arange(1, 13), rtol=1e-12)


@pytest.mark.parametrize("q", [1e-6, 0.3, 1.0, 50.0])
def test_relu_family_second_moments_have_closed_forms(q):
    assert meanfield.gaussian_second_moment("relu", q) == pytest.approx(q / 2, rel=1e-10)
    assert meanfield.gaussian_second_moment("leaky_relu", q) == pytest.approx(
        (1 + 0.2**2) * q / 2, rel=1e-10
    )


def test_he_keeps_relu_variance_and_lecun_keeps_selu_at_its_fixed_point():
    np.testing.assert_allclose(mf.predicted_variance("relu", 2.0, 30, q0=1.3), 2.6, rtol=1e-10)
    # SELU's constants make q = 1 a fixed point at sigma_w2 = 1 (Klambauer et al., 2017)
    np.testing.assert_allclose(mf.predicted_variance("selu", 1.0, 10, q0=1.0), 1.0, rtol=1e-6)


def test_tanh_below_the_critical_sigma_w2_decays_to_zero():
    q = mf.predicted_variance("tanh", 0.8, 60, q0=1.0)
    assert np.all(np.diff(q) < 0) and q[-1] < 1e-4
    # near 0, tanh(x) ~ x, so q_{l+1} / q_l -> sigma_w2
    assert q[-1] / q[-2] == pytest.approx(0.8, rel=1e-3)


def test_sigma_w2_of_follows_the_intended_scheme():
    assert mf.sigma_w2_of("he_normal", 128, 128) == pytest.approx(2.0)
    assert mf.sigma_w2_of("glorot_uniform", 128, 128) == pytest.approx(1.0)
    assert mf.sigma_w2_of("glorot_normal", 64, 192) == pytest.approx(64 * 2 / 256)
    assert mf.sigma_w2_of("lecun_normal", 100, 7) == pytest.approx(1.0)
    assert mf.sigma_w2_of({"name": "random_normal", "stddev": 0.01}, 128, 128) == pytest.approx(
        128e-4
    )
    assert mf.sigma_w2_of({"name": "orthogonal", "gain": 1.5}, 128, 128) == pytest.approx(2.25)
    assert mf.sigma_w2_of(
        {"name": CUSTOM + "FixedUniform", "limit": 0.1}, 300, 10
    ) == pytest.approx(1.0)
    # the declared intent, not the buggy implementation's (Dense shapes agree anyway)
    assert mf.sigma_w2_of(CUSTOM + "ChannelsFirstHe", 128, 128) == pytest.approx(2.0)
    assert mf.sigma_w2_of("zeros", 128, 128) == 0.0  # no signal, explicitly
    refusals = [
        ("ones", "not random"),
        ("identity", "not random"),
        ({"name": "random_uniform", "minval": 0.0, "maxval": 1.0}, "non-zero mean"),
        ("lsuv", "data-dependent"),
    ]
    for spec, reason in refusals:
        with pytest.raises(ValueError, match=reason):
            mf.sigma_w2_of(spec, 128, 128)


def _log_ratios(sigma_w2: float, seeds, width=1024, depth=10) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).standard_normal((64, 64))
    predicted = mf.predicted_variance("relu", sigma_w2, depth, q0=float(np.mean(x**2)))
    measured = np.array(
        [mf.measured_variance("he_normal", "relu", width, depth, x, s) for s in seeds]
    )
    return np.log(measured / predicted).mean(axis=0), predicted


def test_wide_relu_he_network_matches_the_prediction():
    """Finite-width fluctuations bound the tolerance (Hanin & Rolnick, 2018, arXiv:1801.03744).

    In one network, ``log q_hat_l`` varies by at most ``(2 + 5 (l - 1)) / width``: ``2/width``
    from averaging ``h**2`` over the layer's units, ``5/width`` from each earlier ReLU
    layer's squared norm (relative variance of ``relu(h)**2`` is 5). Averaged over
    ``k`` independent networks, with Bonferroni over layers at alpha = 0.01.
    """
    seeds, width, depth = range(0, 800, 100), 1024, 10
    mean_log_ratio, _ = _log_ratios(2.0, seeds, width, depth)
    layers = np.arange(1, depth + 1)
    sd = np.sqrt((2 + 5 * (layers - 1)) / width / len(seeds))
    z = scipy.stats.norm.isf(0.01 / (2 * depth))
    assert np.all(np.abs(mean_log_ratio) <= z * sd), (mean_log_ratio, z * sd)
    # the tolerance has power: a prediction with sigma_w2 10 % off fails by layer 10
    assert math.log(1.1**9) > z * sd[-1]


@pytest.mark.parametrize(
    "q,verdict",
    [
        ([0.0, 0.0, 0.0], "no signal"),
        ([1.0, 3.0, 9.9], "stable"),
        ([1.0, 0.5, 0.09], "vanishes"),
        ([1.0, 1e-20, 0.0], "vanishes"),
        ([1.0, 20.0], "explodes"),
        ([1.0, math.inf], "explodes"),
        ([1.0, 30.0, 1.0], "explodes"),  # not monotone: beyond the factor, last >= first
    ],
)
def test_profile_verdicts(q, verdict):
    assert st.profile_verdict(q, factor=10) == verdict


def test_predicted_profiles_cover_the_grid_and_say_why_they_skip():
    specs = ["he_normal", "zeros", "lsuv", {"name": CUSTOM + "FixedUniform", "limit": 0.05}]
    predicted, skipped = mf.predicted_profiles(specs, ["digits"], ["relu", "tanh"], 32, 5)
    assert set(skipped) == {"lsuv"} and skipped["lsuv"].startswith("data-dependent")
    assert len(predicted) == 3 * 2 * 5
    he_relu = predicted[(predicted.initializer == "he_normal") & (predicted.activation == "relu")]
    np.testing.assert_allclose(he_relu.predicted, 2.0, rtol=1e-9)  # q0 = 1, sigma_w2 = 2
    assert (predicted[predicted.initializer == "zeros"].predicted == 0).all()
    # the first layer's fan-in is the input size: digits are 8 x 8, so 64 * 0.05**2 / 3
    fixed = predicted[predicted.initializer == "FixedUniform-limit0.05"]
    assert fixed.predicted.iloc[0] == pytest.approx(64 * 0.05**2 / 3)


def _signal_rows(**fields):
    base = {"dataset": "digits", "arch": "mlp", "activation": "relu", "optimizer": "adam",
            "initializer": "he_normal", "seed": 0, "epoch": 0}  # fmt: skip
    return {**base, **fields}


def test_measured_profiles_pool_depths_at_init_and_read_null_as_overflow():
    rows = [_signal_rows(depth=2, layer=1, preactivation_var=1.0),
            _signal_rows(depth=2, layer=2, preactivation_var=2.0),
            _signal_rows(depth=3, layer=1, preactivation_var=3.0),
            _signal_rows(depth=3, layer=2, preactivation_var=4.0),
            _signal_rows(depth=3, layer=3, preactivation_var=None),
            _signal_rows(depth=3, layer=1, preactivation_var=99.0, epoch=1),
            _signal_rows(depth=3, layer=1, preactivation_var=99.0, arch="cnn")]  # fmt: skip
    measured = st.measured_profiles(pd.DataFrame(rows))
    assert measured[["layer", "median", "low", "high", "runs"]].values.tolist() == [
        [1, 2.0, 1.0, 3.0, 2],
        [2, 3.0, 2.0, 4.0, 2],
        [3, math.inf, math.inf, math.inf, 1],
    ]
    table = st.stability_table(
        pd.DataFrame(columns=[*st.CURVE, "layer", "predicted"]),
        measured,
        {"he_normal": "a reason"},
        [("digits", "relu", "he_normal"), ("digits", "tanh", "he_normal")],
    )
    assert table[["theory", "measured", "layers", "note"]].values.tolist() == [
        ["skipped", "explodes", 3, "a reason"],
        ["skipped", "not run", 0, "a reason"],
    ]


def test_theory_tables_of_a_study_are_prediction_measurement_and_stability():
    config = {"grid": {"datasets": ["digits"], "activations": ["relu"], "depths": [2, 3],
                       "initializers": ["he_normal", "lsuv"]},
              "training": {"width": 16}}  # fmt: skip
    rows = [_signal_rows(depth=d, layer=layer, preactivation_var=2.0 if layer > 1 else 1.0)
            for d in (2, 3) for layer in range(1, d + 1)]  # fmt: skip
    tables = mf.theory_tables(config, pd.DataFrame(rows))
    assert list(tables) == ["theory_predicted", "theory_measured", "theory"]
    predicted = tables["theory_predicted"]
    assert list(predicted.columns) == [*st.CURVE, "layer", "predicted"]
    assert predicted["layer"].tolist() == [1, 2, 3] and set(predicted["initializer"]) == {"he_normal"}
    # the first layer's fan-in is the input (8 x 8 digits): he_normal gives q_1 = 2 q_0
    np.testing.assert_allclose(predicted["predicted"], 2.0, rtol=1e-9)
    measured = tables["theory_measured"]
    assert measured[["layer", "median", "runs"]].values.tolist() == [[1, 1.0, 2], [2, 2.0, 2], [3, 2.0, 1]]
    stability = tables["theory"]
    assert stability[["initializer", "theory", "measured", "layers"]].values.tolist() == [
        ["he_normal", "stable", "stable", 3],
        ["lsuv", "skipped", "not run", 0],
    ]
    assert stability.loc[1, "note"].startswith("data-dependent")
