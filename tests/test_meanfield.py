"""Mean-field variance propagation: closed forms, Keras parity, and a measured wide network."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import scipy.stats

from initstudy import meanfield as mf

CUSTOM = "initstudy.custom_initializers:"


@pytest.mark.parametrize("name", sorted(mf.ACTIVATIONS))
def test_numpy_activations_match_keras(name):
    grid = np.linspace(-8, 8, 1601, dtype=np.float32)
    ours = mf.ACTIVATIONS[name](grid.astype(np.float64))
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(grid))
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-7)


def test_linear_network_scales_by_sigma_w2_per_layer():
    q = mf.predicted_variance("linear", 1.7, 12, q0=0.9)
    np.testing.assert_allclose(q, 0.9 * 1.7 ** np.arange(1, 13), rtol=1e-12)


@pytest.mark.parametrize("q", [1e-6, 0.3, 1.0, 50.0])
def test_relu_family_second_moments_have_closed_forms(q):
    assert mf.gaussian_second_moment("relu", q) == pytest.approx(q / 2, rel=1e-10)
    assert mf.gaussian_second_moment("leaky_relu", q) == pytest.approx(
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
    for spec in ("zeros", "ones", "identity", {"name": "lsuv"}):
        with pytest.raises(ValueError):
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


def test_plot_writes_a_pdf(tmp_path):
    x = np.random.default_rng(1).standard_normal((16, 32))
    df = mf.theory_vs_measurement(
        ["he_normal", "lecun_normal"], ["relu", "tanh"], 32, 4, x, seeds=(0, 1)
    )
    assert list(df.columns) == [
        "activation",
        "initializer",
        "layer",
        "seed",
        "predicted",
        "measured",
    ]
    assert len(df) == 2 * 2 * 4 * 2
    path = tmp_path / "theory.pdf"
    mf.plot_theory_vs_measurement(df, path)
    assert path.read_bytes().startswith(b"%PDF")
