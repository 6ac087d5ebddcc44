"""Input-output Jacobian singular values: exact isometry of orthogonal linear networks, parity
with TensorFlow's autodiff, and the growing spread of ReLU networks with He-Gaussian weights."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import keras
import tensorflow as tf

from initstudy.models.activations import ACTIVATIONS, DERIVATIVES
from initstudy.train import jacobian


def _orthogonal(n, rng):
    return scipy.stats.ortho_group.rvs(n, random_state=rng)


def test_deep_linear_network_with_orthogonal_weights_is_an_exact_isometry():
    rng = np.random.default_rng(0)
    width, depth = 128, 64
    first = _orthogonal(width, rng)[:32]  # 32 inputs -> 128 units, orthonormal rows
    kernels = [first] + [_orthogonal(width, rng) for _ in range(depth - 1)]
    biases = [rng.standard_normal(width) for _ in range(depth)]  # biases do not enter J
    x = rng.standard_normal((4, 32))
    s = jacobian.jacobian_singular_values(x, kernels, biases, ACTIVATIONS["linear"], DERIVATIVES["linear"])
    assert s.shape == (4, 32)
    np.testing.assert_allclose(s, 1.0, atol=1e-10)
    summary = jacobian.spectrum_summary(s)
    assert summary["std_log_s"] == pytest.approx(0.0, abs=1e-10)
    assert summary["condition"] == pytest.approx(1.0, abs=1e-10) and summary["count"] == 128


@pytest.mark.parametrize("name", ["tanh", "relu", "selu"])
def test_jacobians_match_tensorflow_autodiff(name):
    """tf.GradientTape.batch_jacobian of a float64 Keras MLP (an independent implementation)."""
    rng = np.random.default_rng(1)
    sizes = [5, 7, 6, 7, 4]
    kernels = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [0.3 * rng.standard_normal(b) for b in sizes[1:]]
    x = rng.standard_normal((3, sizes[0]))
    layers = [keras.layers.Dense(b, activation=name, dtype="float64") for b in sizes[1:-1]]
    layers.append(keras.layers.Dense(sizes[-1], dtype="float64"))  # h_L: no activation
    model = keras.Sequential([keras.Input((sizes[0],), dtype="float64"), *layers])
    for layer, kernel, bias in zip(model.layers, kernels, biases):
        layer.set_weights([kernel, bias])
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs)
    expected = tape.batch_jacobian(outputs, inputs).numpy()  # (n, out, in) = J
    ours = jacobian.input_output_jacobians(x, kernels, biases, ACTIVATIONS[name], DERIVATIVES[name])
    np.testing.assert_allclose(np.swapaxes(ours, 1, 2), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(jacobian.jacobian_singular_values(x, kernels, biases, ACTIVATIONS[name],
                                                                 DERIVATIVES[name]),
                               np.linalg.svd(expected, compute_uv=False), rtol=1e-10, atol=1e-13)


def test_relu_he_gaussian_spread_grows_with_depth():
    """Pennington et al. (2017): ReLU networks are never isometric; with He-Gaussian weights the
    spread of ``log s`` grows with depth. One fixed seed, width 128, 4 inputs; the margins
    (a strict increase, and depth 64 over twice depth 4) are far from the seed-to-seed noise."""
    rng = np.random.default_rng(2)
    width, spreads, ranks = 128, [], []
    for depth in (4, 16, 64):
        kernels = [rng.standard_normal((width, width)) * np.sqrt(2 / width) for _ in range(depth)]
        x = rng.standard_normal((4, width))
        s = jacobian.jacobian_singular_values(x, kernels, None, ACTIVATIONS["relu"], DERIVATIVES["relu"])
        summary = jacobian.spectrum_summary(s)
        spreads.append(summary["std_log_s"])
        ranks.append(summary["rank_fraction"])
    assert spreads[0] < spreads[1] < spreads[2] and spreads[2] > 2 * spreads[0], spreads
    assert ranks[2] < ranks[0], ranks  # directions die as well as spread


def test_numerically_zero_singular_values_leave_the_log_statistics_and_count_in_the_rank():
    s = np.array([[2.0, 1.0, 1e-17], [4.0, 4.0, 4.0]])
    summary = jacobian.spectrum_summary(s)
    assert summary["rank_fraction"] == pytest.approx(5 / 6) and summary["count"] == 6
    assert summary["mean_log_s"] == pytest.approx(np.mean(np.log([2.0, 1.0, 4.0, 4.0, 4.0])))
    assert summary["min_s"] == 1.0 and summary["condition"] == 4.0
    assert summary["mean_s2"] == pytest.approx((4 + 1 + 3 * 16) / 6)
    with pytest.raises(ValueError, match="vanishes"):
        jacobian.spectrum_summary(np.zeros((1, 3)))


def test_shape_mismatches_are_errors():
    kernels = [np.eye(3), np.eye(3)]
    with pytest.raises(ValueError, match="features"):
        jacobian.input_output_jacobians(np.ones((2, 4)), kernels, None, np.tanh, np.tanh)
    with pytest.raises(ValueError, match="biases"):
        jacobian.input_output_jacobians(np.ones((2, 3)), kernels, [np.zeros(3)], np.tanh, np.tanh)
