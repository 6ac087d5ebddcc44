"""Training end to end on the Keras-cache datasets (mnist, fashion_mnist, cifar10).

The files are synthetic (tests never download) but keep the real files' formats, per-example
shapes and dtypes. The sizes are chosen so that the validation and test splits take
different numbers of evaluation batches, as the real files do (MNIST: 6 and 10 batches of
1024): the compiled evaluation loop is then traced for two batch counts, and a retrace
that relaxes a shape must not change what the loop computes. The first test uses the
real MNIST sizes and the default MLP.

Each run's record must hold what the member, exported as a plain ``.keras`` model,
gives when Keras evaluates it on the same arrays.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import pytest

from initstudy.core import runtime
from initstudy.data import datasets
from initstudy.study import config, runs
from initstudy.train import records
from initstudy.train.evaluate import EVAL_BATCH
from initstudy.train.job import train_pack
from conftest import run_on_jax
from keras_cache import REAL_SIZES, write_cache

pytestmark = pytest.mark.slow

#: The accuracy a record states and the exported model's own evaluation may differ by
#: float summation order (stacked einsum against Dense), not by an example.
TOL = 1e-5


def _config(dataset: str, arch: str, **training) -> dict:
    return config.check({
        "grid": {"datasets": [dataset], "architectures": [arch], "activations": ["relu"], "optimizers": ["adam"],
                 "depths": [2], "initializers": ["glorot_uniform", "he_uniform"], "seeds": [0]},
        "training": {"epochs": 1, **training},
        "claims": [],
    })


def _eval_batches(n: int) -> int:
    return math.ceil(n / EVAL_BATCH)


def _train_and_check(tmp_path, dataset: str, arch: str, n_train: int, n_test: int, **training) -> None:
    data_dir = tmp_path / "keras" / "datasets"
    write_cache(dataset, data_dir, n_train, n_test)
    cfg = _config(dataset, arch, **training)
    members = runs.expand(cfg)
    pack = runs.Pack("pack", tuple(members))
    runtime.configure(threads=2, xla=cfg["training"]["xla"])
    written = train_pack(pack, cfg["training"], out_root=tmp_path / "runs", checkpoint_dir=tmp_path / "ckpt",
                         export_dir=tmp_path / "export", data_dir=str(data_dir))
    assert len(written) == len(members)
    for run, path in zip(members, written):
        record = records.read(path)
        data = datasets.load(dataset, validation_split=cfg["training"]["validation_split"], seed=run.split_seed,
                             data_dir=str(data_dir))
        assert record["data"]["n_val"] == len(data.y_val) and record["data"]["n_test"] == n_test
        model = keras.models.load_model(tmp_path / "export" / run.run_id / "model.keras")
        loss, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=EVAL_BATCH, verbose=0)
        assert record["test"]["accuracy"] == pytest.approx(accuracy, abs=TOL)
        assert record["test"]["loss"] == pytest.approx(loss, rel=1e-4)
        (epoch,) = record["history"]
        assert 0 <= epoch["val_accuracy"] <= 1 and np.isfinite(epoch["val_loss"])


def test_the_default_mlp_trains_on_real_size_mnist(tmp_path):
    n_train, n_test = REAL_SIZES["mnist"]
    _train_and_check(tmp_path, "mnist", "mlp", n_train, n_test)


#: (dataset, arch, original training examples, test examples). With validation_split 0.1,
#: 3010/1100 gives fewer validation than test batches (1 and 2), 25000/1500 more (3 and 2);
#: the CNN runs the same loops as the MLP, so it takes only the short case.
CASES = [(dataset, arch, *sizes) for dataset in sorted(REAL_SIZES)
         for arch, sizes in (("mlp", (3010, 1100)), ("cnn", (3010, 1100)), ("mlp", (25000, 1500)))]


@pytest.mark.parametrize(("dataset", "arch", "n_train", "n_test"), CASES)
def test_every_keras_cache_dataset_trains_with_unequal_evaluation_batch_counts(tmp_path, dataset, arch, n_train,
                                                                                 n_test):
    assert _eval_batches(round(0.1 * n_train)) != _eval_batches(n_test)
    _train_and_check(tmp_path, dataset, arch, n_train, n_test, width=16, filters=4)


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND") == "jax", reason="already on JAX")
def test_the_same_loops_train_on_the_jax_backend():
    """Two of the cases in a process with KERAS_BACKEND=jax (which traces once per shape)."""
    tests = [f"{__file__}::test_every_keras_cache_dataset_trains_with_unequal_evaluation_batch_counts[{case}]"
             for case in ("mnist-mlp-3010-1100", "cifar10-cnn-3010-1100")]
    run_on_jax(tests)
