"""Grid axes ``learning_rates`` and ``widths``.

- A study without them keeps every run id, seed and identity it had before they
  existed (pinned below from the code before the change), so no finished record is
  retrained on upgrade.
- With them, a run's rate and width are fields of its run id, record, identity and
  table rows; runs that differ only in rate share their initialization and data order
  (common random numbers), and train in one pack with a learning rate per member; runs
  of different widths train in different packs.
- A member of a pack of several rates trains to the bits of its run alone (a pack of
  one, the plain Keras optimizer), and within the tolerance of tests/test_packing.py to
  ``keras.Sequential`` + ``model.fit`` at its rate; on TensorFlow (graph, XLA) and JAX.
- Growing a rate list trains exactly the new runs; adding the axis for one optimizer
  leaves the others' records done.
- Bad values stop the config with one line naming key, value and expectation.
"""

import copy
import itertools
import json
import os

import numpy as np
import pandas as pd
import pytest

from conftest import TINY, run_on_jax
from initstudy.study import config, runs
from initstudy.study.fields import RUN_FIELDS, RUN_SETTINGS
from initstudy.train import pending as pending_runs
from initstudy.train.identity import identity, identity_hash

RATES = {"adam": [0.001, 0.003, 0.01], "momentum": [0.003, 0.01, 0.03]}


def checked(grid=None, training=None) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["grid"].update(grid or {})
    cfg["training"].update(training or {})
    return config.check(cfg)


# ---- a study without the axes is the study it was ----------------------------------

#: conftest's TINY grid with mlp and cnn, adam, momentum and sgd, seeds 0 and 1: run id ->
#: (identity hash on TensorFlow with op determinism, init seed, data-order seed, split
#: seed), computed by the code before the axes existed.
BEFORE = {
    "digits/mlp/relu/adam/d2/he_normal/s0": ("a7d407eee1301288", 183021119, 934009914, 838806004),
    "digits/mlp/relu/momentum/d2/he_normal/s0": ("42f9dd1492ba01a0", 1021881328, 934009914, 838806004),
    "digits/mlp/relu/sgd/d2/he_normal/s1": ("3ae1cd5185510046", 798047191, 1036805796, 902298065),
    "digits/cnn/relu/adam/d2/he_normal/s0": ("bae2d1410f2781e6", 179766630, 934009914, 838806004),
    "digits/cnn/relu/momentum/d2/he_normal/s1": ("185d1dcfd0266676", 18640042, 1036805796, 902298065),
    "digits/cnn/relu/sgd/d2/he_normal/s0": ("7ead461ce1dd4232", 307774637, 934009914, 838806004),
}


def test_a_study_without_the_axes_keeps_its_run_ids_seeds_and_identities():
    cfg = checked({"architectures": ["mlp", "cnn"], "optimizers": ["adam", "momentum", "sgd"], "seeds": [0, 1]})
    by_id = {run.run_id: run for run in runs.expand(cfg)}
    assert len(by_id) == 12 and set(BEFORE) <= set(by_id)
    for run_id, (ident, init, order, split) in BEFORE.items():
        run = by_id[run_id]
        assert run.learning_rate is None and run.width is None
        assert "learning_rate" not in run.fields() and "width" not in run.fields()
        got = identity_hash(identity(run, cfg["training"], backend="tensorflow", deterministic=True))
        assert (got, run.init_seed, run.data_order_seed, run.split_seed) == (ident, init, order, split), run_id
    assert [p.pack_id.rsplit("-", 1)[0] for p in runs.make_packs(by_id.values(), 64)] == [
        f"digits-{arch}-{opt}-d2" for arch in ("mlp", "cnn") for opt in ("adam", "momentum", "sgd")]


# ---- the axes: fields, run ids, seeds, identities ------------------------------------

def test_rates_and_widths_are_fields_of_run_ids_records_and_identities():
    cfg = checked({"architectures": ["mlp", "cnn"], "optimizers": ["adam", "momentum"],
                   "learning_rates": {"adam": [0.0003, 0.001, 3e-05]}, "widths": [8, 16]})
    grid = runs.expand(cfg)
    # adam: 3 rates x (2 widths for mlp, 1 for cnn); momentum keeps training.learning_rate
    assert len(grid) == 3 * 2 + 2 + 3 * 1 + 1
    ids = [run.run_id for run in grid]
    assert len(set(ids)) == len(ids)
    assert "digits/mlp/relu/adam/lr0.0003/d2/w8/he_normal/s0" in ids
    assert "digits/mlp/relu/adam/lr3e-05/d2/w16/he_normal/s0" in ids
    assert "digits/mlp/relu/momentum/d2/w16/he_normal/s0" in ids
    assert "digits/cnn/relu/adam/lr0.001/d2/he_normal/s0" in ids
    assert "digits/cnn/relu/momentum/d2/he_normal/s0" in ids  # as before the axes
    run = next(r for r in grid if r.run_id == "digits/mlp/relu/adam/lr0.0003/d2/w8/he_normal/s0")
    assert run.fields()["learning_rate"] == 0.0003 and run.fields()["width"] == 8
    assert runs.Run.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    ident = identity(run, cfg["training"], backend="tensorflow")
    assert ident["fields"]["learning_rate"] == 0.0003 and ident["fields"]["width"] == 8
    assert ident["training"]["learning_rate"] == 0.0003 and ident["training"]["width"] == 8
    assert runs.axis_values(run.fields(), cfg["training"]) == {"learning_rate": 0.0003, "width": 8}
    momentum = next(r for r in grid if r.optimizer == "momentum" and r.arch == "cnn")
    # a cnn's width is its filters per layer
    assert runs.axis_values(momentum.fields(), cfg["training"]) == {"learning_rate": 0.01,
                                                                    "width": cfg["training"]["filters"]}
    hashes = {identity_hash(identity(r, cfg["training"], backend="tensorflow")) for r in grid}
    assert len(hashes) == len(grid)


def test_runs_that_differ_only_in_rate_share_initialization_and_data_order():
    cfg = checked({"learning_rates": {"adam": RATES["adam"]}, "widths": [8, 16], "seeds": [0, 1]})
    grid = runs.expand(cfg)
    for _, alike in itertools.groupby(sorted(grid, key=lambda r: (r.width, r.seed, r.learning_rate)),
                                      key=lambda r: (r.width, r.seed)):
        alike = list(alike)
        assert len(alike) == 3
        assert len({(r.init_seed, r.data_order_seed, r.split_seed) for r in alike}) == 1
    # a width is another network: its own initialization seed; the data order is the seed's
    by_width = {r.width: r for r in grid if r.seed == 0 and r.learning_rate == 0.001}
    assert by_width[8].init_seed != by_width[16].init_seed
    assert by_width[8].data_order_seed == by_width[16].data_order_seed


def test_runs_that_differ_only_in_rate_train_in_one_pack_and_widths_apart():
    cfg = checked({"optimizers": ["adam", "momentum"], "learning_rates": RATES, "widths": [8, 16],
                   "seeds": [0, 1]})
    packs = runs.make_packs(runs.expand(cfg), 64)
    assert len(packs) == 4  # (adam, momentum) x (8, 16)
    for pack in packs:
        assert len(pack.runs) == 6 and len({r.width for r in pack.runs}) == 1
        assert sorted({r.learning_rate for r in pack.runs}) == RATES[pack.runs[0].optimizer]
        assert f"-d2-w{pack.runs[0].width}-" in pack.pack_id
    # members sharing initialization and data sit side by side, rates ascending
    first = packs[0].runs
    assert [(r.seed, r.learning_rate) for r in first] == [(s, lr) for s in (0, 1) for lr in RATES["adam"]]


# ---- growing -----------------------------------------------------------------------

def _finish(state: pending_runs.Pending) -> None:
    """Stand-ins for the records of every pending run (pending only asks whether they exist)."""
    for run in state.pending:
        path = state.records[run.run_id]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


def test_growing_a_rate_list_trains_exactly_the_new_runs(tmp_path):
    grid = {"learning_rates": {"adam": [0.001, 0.003]}, "widths": [8, 16], "seeds": [0, 1]}
    before = pending_runs.pending(checked(grid), tmp_path)
    assert len(before.pending) == 8
    _finish(before)
    grown = pending_runs.pending(checked({**grid, "learning_rates": {"adam": [0.001, 0.003, 0.01]}}), tmp_path)
    assert len(grown.runs) == 12 and not grown.stale
    assert {r.learning_rate for r in grown.pending} == {0.01} and len(grown.pending) == 4
    assert {run_id: grown.records[run_id] for run_id in before.records} == before.records
    assert sorted(len(p.runs) for p in grown.packs) == [2, 2]  # one pack per width, new runs only


def test_adding_the_axis_for_one_optimizer_leaves_the_others_done(tmp_path):
    grid = {"optimizers": ["adam", "momentum"], "seeds": [0, 1]}
    before = pending_runs.pending(checked(grid), tmp_path)
    _finish(before)
    after = pending_runs.pending(checked({**grid, "learning_rates": {"adam": [0.001, 0.01]}}), tmp_path)
    assert {r.optimizer for r in after.pending} == {"adam"} and len(after.pending) == 4
    assert not after.stale  # new run ids: the old adam records are not rewritten, merely unread
    done = {r.run_id for r in after.runs} - {r.run_id for r in after.pending}
    assert done == {r.run_id for r in before.runs if r.optimizer == "momentum"}


# ---- config errors -----------------------------------------------------------------

@pytest.mark.parametrize("grid,message", [
    ({"learning_rates": {"momentum": [0.01]}},
     r"grid\.learning_rates\.momentum: 'momentum' is not in grid\.optimizers \['adam'\]; expected rates only "
     r"for optimizers of the grid"),
    ({"learning_rates": {"adamw": [0.01]}}, r"grid\.learning_rates: unknown key\(s\) 'adamw'; expected keys: "
                                            r"adam, momentum, rmsprop, sgd"),
    ({"learning_rates": {"adam": []}}, r"grid\.learning_rates\.adam: \[\] should be non-empty"),
    ({"learning_rates": {"adam": [0.001, 0]}}, r"grid\.learning_rates\.adam\[1\]: 0 is less than or equal to "
                                               r"the minimum of 0"),
    ({"learning_rates": {"adam": [0.001, -0.1]}}, r"grid\.learning_rates\.adam\[1\]: -0\.1 is less than"),
    ({"learning_rates": {"adam": [0.001, 0.003, 0.001]}},
     r"grid\.learning_rates\.adam: duplicate value\(s\) 0\.001; each entry must be unique"),
    ({"learning_rates": {"adam": 0.001}}, r"grid\.learning_rates\.adam: 0\.001 is not of type 'array'"),
    ({"learning_rates": {"adam": ["3e-4"]}}, r"grid\.learning_rates\.adam\[0\]: '3e-4' is text, not a number "
                                             r".*; expected a number, e\.g\. 3\.0e-4 or 0\.0003"),
    ({"widths": []}, r"grid\.widths: \[\] should be non-empty"),
    ({"widths": [16, 0]}, r"grid\.widths\[1\]: 0 is less than the minimum of 1"),
    ({"widths": [16, 16]}, r"grid\.widths: duplicate value\(s\) 16; each entry must be unique"),
    ({"widths": [8], "architectures": ["cnn"]},
     r"grid\.widths: \[8\] sets the units of mlp layers, but grid\.architectures \['cnn'\] has no mlp; "
     r"expected no grid\.widths"),
])
def test_bad_axes_stop_the_config_with_one_line(grid, message):
    with pytest.raises(config.ConfigError, match=message) as info:
        checked(grid)
    assert "\n" not in str(info.value)


# ---- tables ------------------------------------------------------------------------

def test_tables_show_every_runs_rate_and_width(tmp_path):
    """A record with the axes shows its own values; one without them (any record of a
    study before the axes) the training settings it trained with, and no width for a cnn."""
    from test_records import a_record

    from initstudy.tables import build
    from initstudy.train import records

    old_mlp = a_record("digits/mlp/relu/adam/d2/he_normal/s0")
    old_mlp["training"] = {**old_mlp["training"], "width": 16}
    old_cnn = a_record("digits/cnn/relu/adam/d2/he_normal/s1", seed=1)
    old_cnn["training"] = {**old_cnn["training"], "width": 16}
    new = a_record("digits/mlp/relu/adam/d2/he_normal/s0")
    new["training"] = {**new["training"], "width": 16}
    new["run"].update(run_id="digits/mlp/relu/adam/lr0.003/d2/w8/he_normal/s0", learning_rate=0.003, width=8)
    paths = []
    for i, record in enumerate((old_mlp, old_cnn, new)):
        paths.append(tmp_path / f"{i}.json")
        records.write(paths[-1], record)  # the record schema takes both
    tables = build.frames([records.read(p) for p in paths])
    for name in ("runs", "history"):
        table = tables[name]
        assert list(table.columns[len(RUN_FIELDS):len(RUN_FIELDS) + len(RUN_SETTINGS)]) == list(RUN_SETTINGS)
        assert table["learning_rate"].dtype == "float64" and table["width"].dtype == "Int64"
        got = table.drop_duplicates("run_id").set_index("run_id")
        assert got.loc[old_mlp["run"]["run_id"], ["learning_rate", "width"]].tolist() == [0.001, 16]
        assert got.loc[old_cnn["run"]["run_id"], "learning_rate"] == 0.001
        assert pd.isna(got.loc[old_cnn["run"]["run_id"], "width"])
        assert got.loc[new["run"]["run_id"], ["learning_rate", "width"]].tolist() == [0.003, 8]


# ---- the per-member learning rate: bit for bit ---------------------------------------

def _variables_and_grads(members=4, steps=4):
    rng = np.random.default_rng(0)
    shapes = [(members, 20, 12), (members, 12), (members, 3, 3, 2, 4), (members, 4)]
    init = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[(rng.normal(size=s) * 0.1).astype("float32") for s in shapes] for _ in range(steps)]
    return init, grads


def _apply_steps(optimizer, init, grads):
    """The variables after ``optimizer`` applied each step's gradients, compiled as the
    trainer compiles its step (stateful on TensorFlow, stateless on JAX)."""
    import keras
    from keras import ops

    from initstudy.core import runtime

    variables = [keras.Variable(x) for x in init]
    optimizer.build(variables)
    if runtime.backend() == "jax":
        step = runtime.compile_step(lambda opt, g, p: optimizer.stateless_apply(opt, g, p))
        params, state = [v.value for v in variables], [v.value for v in optimizer.variables]
        for g in grads:
            params, state = step(state, g, params)
        return [ops.convert_to_numpy(p) for p in params]
    step = runtime.compile_step(lambda g: optimizer.apply(g, variables))
    for g in grads:
        step([ops.convert_to_tensor(x) for x in g])
    return [ops.convert_to_numpy(v.value) for v in variables]


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])
def test_a_member_rate_updates_as_the_plain_optimizer_at_that_rate(name, xla, monkeypatch):
    """Per-member rates [a, b, c, b]: member m's variables after 4 steps equal, bit for
    bit, those of the plain Keras optimizer at its rate."""
    from initstudy.core import runtime
    from initstudy.train.optimizers import make_optimizer, member_optimizer

    monkeypatch.setitem(runtime._STATE, "xla", xla or runtime.backend() == "jax")
    training = checked({"optimizers": [name]})["training"]
    rates = [1e-3, 3e-3, 1e-2, 3e-3]
    init, grads = _variables_and_grads(len(rates))
    mixed = _apply_steps(member_optimizer(name, training, rates), init, grads)
    for rate in sorted(set(rates)):
        plain = _apply_steps(make_optimizer(name, training, rate), init, grads)
        for m in (m for m, r in enumerate(rates) if r == rate):
            for ours, theirs in zip(mixed, plain):
                np.testing.assert_array_equal(ours[m], theirs[m], err_msg=f"{name} member {m} at {rate}")


def _rate_pack(arch, optimizer, rates, seeds=(0, 1)):
    from test_packing import EPOCHS

    cfg = {"grid": {"datasets": ["digits"], "architectures": [arch], "activations": ["tanh"],
                    "optimizers": [optimizer], "depths": [2], "initializers": ["he_normal"], "seeds": list(seeds),
                    "learning_rates": {optimizer: list(rates)}},
           "training": {"epochs": EPOCHS, "batch_size": 32, "width": 12, "filters": 3, "probe_size": 16}}
    config.check(cfg)
    (pack,) = runs.make_packs(runs.expand(cfg), 64)
    return pack, cfg["training"]


def _fit(pack, training, arch, xla):
    from keras import ops

    from initstudy.core import runtime
    from initstudy.train.trainer import PackTrainer
    from test_packing import effective_xla, loader

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(runtime._STATE, "xla", effective_xla(xla))
        trainer = PackTrainer(pack, training, loader(arch))
        results = trainer.fit()
    return results, [ops.convert_to_numpy(p) for p in trainer.params]


#: (arch, optimizer, rates, seeds): a pack of three Adam rates (two seeds) and one of three momentum rates.
RATE_PACKS = {"mlp-adam": ("mlp", "adam", RATES["adam"], (0, 1)),
              "cnn-momentum": ("cnn", "momentum", RATES["momentum"], (0,))}


@pytest.mark.parametrize("case", list(RATE_PACKS))
@pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])
@pytest.mark.slow
def test_a_member_of_a_pack_of_rates_trains_to_its_solo_bits_and_to_model_fit(case, xla):
    """Each member of a pack whose members differ in rate:

    - its initial weights are those of the members that differ from it only in rate;
    - its results (history, test, signal, histograms) and trained weights equal, bit for
      bit, those of the same member in the pack of the same runs all at its rate (the
      plain Keras optimizer);
    - compiled with XLA (TensorFlow's ``xla``, JAX), they equal those of its run alone
      (the pack of one the train job makes), bit for bit. (In a plain TensorFlow graph
      a member's last bits can depend on the pack's size, rates or not: measured on
      this code before the axes, 2 of 6 members of an Adam pack;
      tests/test_grow.py's bitwise test runs with XLA, the default.)
    - it agrees with ``keras.Sequential`` + ``model.fit`` at its rate within
      test_packing's TOL.
    """
    import dataclasses

    from initstudy.models.packed import build_packed, member_weights
    from initstudy.train.job import padded
    from test_packing import EPOCHS, TOL, effective_xla, loader, reference_history

    arch, optimizer, rates, seeds = RATE_PACKS[case]
    pack, training = _rate_pack(arch, optimizer, rates, seeds)
    assert len(pack.runs) == len(rates) * len(seeds) and len({r.learning_rate for r in pack.runs}) == len(rates)
    data = loader(arch)(pack.runs[0])
    initial = [member_weights(build_packed(pack, data.input_shape, data.num_classes, training), m)
               for m in range(len(pack.runs))]
    results, params = _fit(pack, training, arch, xla)
    at_rate = {rate: _fit(runs.Pack(f"at-{rate}", tuple(dataclasses.replace(r, learning_rate=rate)
                                                            for r in pack.runs)), training, arch, xla)
               for rate in rates}
    for m, run in enumerate(pack.runs):
        twin = next(i for i, r in enumerate(pack.runs) if r.seed == run.seed)  # its first rate
        for ours, theirs in zip(initial[m], initial[twin]):
            np.testing.assert_array_equal(ours, theirs)
        same_rate, same_rate_params = at_rate[run.learning_rate]
        assert results[m] == same_rate[m], (run.run_id, "results differ from the pack all at its rate")
        for ours, theirs in zip(params, same_rate_params):
            np.testing.assert_array_equal(ours[m], theirs[m], err_msg=run.run_id)
        if effective_xla(xla):
            alone, alone_params = _fit(padded(runs.Pack("solo", (run,))), training, arch, xla)
            assert results[m] == alone[0], (run.run_id, "results differ from its run alone")
            for ours, theirs in zip(params, alone_params):
                np.testing.assert_array_equal(ours[m], theirs[0], err_msg=run.run_id)
        if not xla:  # the reference does not depend on how the trainer compiles (once per backend)
            ref_initial, ref_history, (test_loss, test_acc) = reference_history(run, training, arch)
            for ours, theirs in zip(initial[m], ref_initial):
                np.testing.assert_array_equal(ours, theirs)
            assert len(results[m]["history"]) == EPOCHS
            for ours, theirs in zip(results[m]["history"], ref_history):
                for key, value in theirs.items():
                    assert ours[key] == pytest.approx(value, abs=TOL), (run.run_id, ours["epoch"], key)
            assert results[m]["test"]["loss"] == pytest.approx(test_loss, abs=TOL)
            assert results[m]["test"]["accuracy"] == pytest.approx(test_acc, abs=TOL)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KERAS_BACKEND") == "jax", reason="already on JAX")
def test_per_member_rates_hold_on_the_jax_backend():
    """The bit-for-bit tests above, in a process with KERAS_BACKEND=jax."""
    tests = [f"{__file__}::test_a_member_rate_updates_as_the_plain_optimizer_at_that_rate",
             *(f"{__file__}::test_a_member_of_a_pack_of_rates_trains_to_its_solo_bits_and_to_model_fit[graph-{case}]"
               for case in RATE_PACKS)]
    run_on_jax(tests, passed=10, timeout=1200)  # 4 optimizers x graph/xla, and the two packs


# ---- the workflow --------------------------------------------------------------------

#: A hidden grid: three Adam rates and two widths, one seed: 6 runs, two packs of three.
HIDDEN = {
    "grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["relu"], "optimizers": ["adam"],
             "depths": [2], "initializers": ["he_normal"], "seeds": [0],
             "learning_rates": {"adam": [0.0003, 0.001, 0.003]}, "widths": [8, 16]},
    "training": {"epochs": 1, "pack_size": 64, "threads": 2, "probe_size": 32, "xla": False},
}


@pytest.mark.parametrize("pack_size,jobs", [(64, 2), (1, 6)])
@pytest.mark.slow
def test_the_dry_run_plans_one_job_per_width(tmp_path, pack_size, jobs):
    """Runs that differ only in rate share a job when pack_size allows; widths never do."""
    from test_workflow import copy_workflow, job_counts, snakemake

    study = {**HIDDEN, "training": {**HIDDEN["training"], "pack_size": pack_size}}
    proc = snakemake(copy_workflow(tmp_path, study), "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initstudy: study: 6 runs: 0 done, 6 new, 0 stale" in proc.stderr
    assert f"initstudy: {jobs} train jobs" in proc.stderr
    assert job_counts(proc.stdout + proc.stderr)["train"] == jobs


@pytest.mark.slow
def test_a_tiny_study_of_rates_and_widths_trains_and_tabulates_every_run(tmp_path):
    from test_workflow import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path, HIDDEN)
    proc = snakemake(workdir, "results/runs.parquet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_parquet(workdir / "results" / "runs.parquet")
    combos = {(lr, w) for lr in HIDDEN["grid"]["learning_rates"]["adam"] for w in HIDDEN["grid"]["widths"]}
    assert set(zip(table["learning_rate"], table["width"])) == combos and len(table) == len(combos)
    assert table["pack_id"].nunique() == 2  # one job per width, its three rates in one pack
    assert all(f"/lr{runs.rate_text(lr)}/d2/w{w}/" in run_id for run_id, lr, w in
               zip(table["run_id"], table["learning_rate"], table["width"]))
    history = pd.read_parquet(workdir / "results" / "history.parquet")
    assert set(zip(history["learning_rate"], history["width"])) == combos
    for run_id in table["run_id"]:
        (record,) = (workdir / "results" / "runs" / run_id).glob("record-*.json")
        body = json.loads(record.read_text())
        assert body["run"]["learning_rate"] == body["identity"]["training"]["learning_rate"]
        assert body["run"]["width"] == body["identity"]["training"]["width"]
