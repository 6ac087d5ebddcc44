"""Signal diagnostics on networks whose statistics are known in closed form."""

import numpy as np
import pytest

from initstudy.study import config

from initstudy.study import runs
from initstudy.data.datasets import Dataset

WIDTH = 8


def trainer_for(activation, x, initializer="identity", depth=3):
    """A pack of one MLP of width = input size, so identity kernels pass x through."""
    from initstudy.train.trainer import PackTrainer

    cfg = {"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": [activation],
                    "optimizers": ["sgd"], "depths": [depth], "initializers": [initializer], "seeds": [0]},
           "training": {"epochs": 1, "width": WIDTH, "probe_size": len(x)}}
    config.check(cfg)
    (pack,) = runs.make_packs(runs.expand(cfg), 1)
    y = np.zeros(len(x), dtype="int32")
    data = Dataset("known", x, y, x[:0], y[:0], x, y, (1, WIDTH, 1), 2)
    return PackTrainer(pack, cfg["training"], lambda run: data)


def probe(trainer):
    trainer.signal.measure(trainer.params, 0, np.ones(1, dtype=bool))
    return trainer.signal.rows[0]


def test_linear_network_with_identity_weights_passes_the_input_statistics_through():
    rng = np.random.default_rng(0)
    x = (3.0 + 2.0 * rng.standard_normal((64, 1, WIDTH, 1))).astype("float32")
    rows = probe(trainer_for("linear", x))
    flat = x.reshape(len(x), -1)
    assert [r["layer"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert r["activation_mean"] == pytest.approx(flat.mean(), rel=1e-5)
        assert r["activation_std"] == pytest.approx(flat.std(), rel=1e-5)
        assert r["preactivation_var"] == pytest.approx(flat.var(), rel=1e-5)
        assert r["kernel_std"] == pytest.approx(np.eye(WIDTH).std(), rel=1e-6)
        assert r["saturated_fraction"] is None and r["dead_fraction"] is None
        assert r["grad_norm"] > 0


def test_relu_units_fed_only_negative_inputs_are_dead():
    rng = np.random.default_rng(1)
    x = np.abs(rng.standard_normal((32, 1, WIDTH, 1))).astype("float32") + 0.1
    x[:, :, 5:, :] *= -1  # 3 of 8 units see only negative pre-activations
    rows = probe(trainer_for("relu", x))
    assert [r["dead_fraction"] for r in rows] == [3 / WIDTH] * 3


def test_tanh_saturation_counts_units_beyond_099():
    x = np.full((16, 1, WIDTH, 1), 0.1, dtype="float32")
    x[:, :, :2, :] = 10.0  # tanh(10) > 0.99; these stay saturated through identity layers
    rows = probe(trainer_for("tanh", x, depth=1))
    assert rows[0]["saturated_fraction"] == pytest.approx(2 / WIDTH)


def test_zero_weights_give_zero_activations_and_kernel_std():
    x = np.random.default_rng(2).standard_normal((16, 1, WIDTH, 1)).astype("float32")
    rows = probe(trainer_for("tanh", x, initializer="zeros", depth=2))
    assert all(r["activation_std"] == 0 and r["kernel_std"] == 0 for r in rows)
