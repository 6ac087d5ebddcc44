"""The Jacobian spectra at init as the trainer records them (dynamical
isometry): in the record, through the schema, in jacobian.parquet, and part of the
identity only when asked for."""

from __future__ import annotations

import copy

import numpy as np
from conftest import TINY, fake_dataset

from initstudy.core import provenance
from initstudy.study import runs as runs_of
from initstudy.study.config import check
from initstudy.tables import build
from initstudy.train import records
from initstudy.train.identity import identity
from initstudy.train.job import build_record
from initstudy.train.trainer import PackTrainer

WIDTH = 32


def spectra_study(activation, initializer, depths=(4,), arch="mlp", inputs=3):
    study = copy.deepcopy(TINY)
    study["grid"].update(architectures=[arch], activations=[activation], depths=list(depths),
                         initializers=[initializer], seeds=[0, 1])
    study["training"].update(width=WIDTH, epochs=1, jacobian_inputs=inputs)
    return check(study)


def trained(cfg, input_shape=(1, 12, 1)):
    pack = runs_of.make_packs(runs_of.expand(cfg), 8)[0]
    trainer = PackTrainer(pack, cfg["training"], lambda run: fake_dataset(input_shape, seed=run.seed))
    return pack, trainer, trainer.fit()


def test_a_linear_orthogonal_network_is_an_isometry_and_its_record_says_so(tmp_path):
    cfg = spectra_study("linear", "orthogonal")
    pack, trainer, results = trained(cfg)
    for index, (run, result) in enumerate(zip(pack.runs, results)):
        spectra = result["jacobian"]
        assert [j["input"] for j in spectra] == [0, 1, 2]
        values = np.array([j["singular_values"] for j in spectra])
        assert values.shape == (3, WIDTH)  # width x width: the square part of the network
        np.testing.assert_allclose(values, 1.0, atol=1e-5)  # float32 orthogonal kernels
        record = build_record(run, pack, index, cfg["training"], {**result, "wall_time_s": 1.0},
                              provenance.collect(),
                              {"num_classes": 3, "input_shape": [1, 12, 1], "n_train": 120, "n_val": 30,
                               "n_test": 40}, identity(run, cfg["training"]))
        records.write(tmp_path / f"r{index}.json", record)  # the schema takes it
    table = build.frames([records.read(p) for p in sorted(tmp_path.glob("r*.json"))])["jacobian"]
    assert list(table.columns) == build.JACOBIAN_COLUMNS and len(table) == 2 * 3 * WIDTH
    assert table.groupby("run_id")["index"].max().eq(WIDTH - 1).all()


def test_tanh_gaussian_spectra_spread_with_depth_and_match_a_recomputation():
    """Gaussian tanh networks at sigma_w^2 = 1.5 (chaotic side) spread more at depth 8 than 3."""
    gaussian = {"name": "variance_scaling", "scale": 1.5, "mode": "fan_in", "distribution": "untruncated_normal"}
    spread = {}
    for depth in (3, 8):
        _, trainer, results = trained(spectra_study("tanh", gaussian, depths=(depth,)))
        logs = [np.log(np.array([j["singular_values"] for j in r["jacobian"]])) for r in results]
        spread[depth] = np.mean([log_s.std() for log_s in logs])
    assert spread[8] > spread[3]


def test_spectra_are_asked_for_and_change_the_identity_only_then():
    cfg = spectra_study("relu", "he_normal", inputs=0)
    _, trainer, results = trained(cfg)
    assert trainer.spectra is None and all("jacobian" not in r for r in results)
    run = runs_of.expand(cfg)[0]
    plain = identity(run, cfg["training"])
    assert "jacobian_inputs" not in plain["training"]
    assert identity(run, {**cfg["training"], "jacobian_inputs": 4}) != plain


def test_a_cnn_records_no_spectrum():
    cfg = spectra_study("relu", "he_normal", depths=(2,), arch="cnn")
    _, trainer, results = trained(cfg, input_shape=(4, 4, 1))
    assert trainer.spectra is None and all("jacobian" not in r for r in results)
