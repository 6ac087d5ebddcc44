"""LSUV on deep tanh and ReLU MLPs: every layer's output variance ends within tol of 1."""

import numpy as np
import pytest
from keras import ops

from conftest import fake_dataset
from initstudy.study import config
from initstudy.study import runs


def lsuv_pack(activation, depth=12, tol=0.05):
    cfg = {"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": [activation],
                    "optimizers": ["sgd"], "depths": [depth],
                    "initializers": [{"name": "lsuv", "base": "orthogonal", "tol": tol, "max_iter": 10},
                                     {"name": "random_normal", "stddev": 0.01}],
                    "seeds": [0, 1]},
           "training": {"epochs": 1, "width": 32, "probe_size": 64}}
    config.check(cfg)
    (pack,) = runs.make_packs(runs.expand(cfg), 64)
    return pack, cfg["training"]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lsuv_gives_unit_output_variance_in_every_layer(activation):
    from initstudy.inits import lsuv
    from initstudy.train.trainer import PackTrainer

    pack, training = lsuv_pack(activation)
    trainer = PackTrainer(pack, training, lambda run: fake_dataset((1, 20, 1), seed=run.seed))
    variance_of = lsuv.make_preactivation_variance(trainer.forward)
    before = ops.convert_to_numpy(variance_of(trainer.params, trainer.probe_x))
    params, stats = lsuv.apply(trainer.forward, trainer.params, trainer.probe_x, [r.init for r in pack.runs],
                               trainer.model.kernel_positions)
    after = ops.convert_to_numpy(variance_of(params, trainer.probe_x))
    for m, run in enumerate(pack.runs):
        if run.init.name == "lsuv":
            assert [row["layer"] for row in stats[m]["layers"]] == list(range(1, 13))
            assert np.all(np.abs(after[:, m] - 1.0) < 0.05), after[:, m]
            assert all(1 <= row["iterations"] <= 10 for row in stats[m]["layers"][:1])
        else:  # the other members of the pack are untouched
            assert stats[m] is None
            np.testing.assert_array_equal(after[:, m], before[:, m])
            assert after[-1, m] < 1e-6  # random_normal(0.01) vanishes with depth


def test_lsuv_iterations_are_recorded_in_the_run_result():
    from initstudy.train.trainer import PackTrainer

    pack, training = lsuv_pack("tanh", depth=3)
    trainer = PackTrainer(pack, training, lambda run: fake_dataset((1, 20, 1), seed=run.seed))
    results = trainer.fit()
    lsuv_result = next(r for r, run in zip(results, pack.runs) if run.init.name == "lsuv")
    assert lsuv_result["init_stats"]["method"] == "lsuv"
    assert len(lsuv_result["init_stats"]["layers"]) == 3
    assert len(lsuv_result["weights"]) == 3 * 2  # first/middle/last layer at init and at the end
