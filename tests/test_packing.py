"""Packed training equals training each run alone as a plain keras.Sequential.

The reference is what every user writes: ``keras.Sequential`` of Dense/Conv2D layers
with ``kernel_initializer=...``, compiled with the same optimizer and trained with
``model.fit`` on the same batches (the pack's per-epoch order, ``shuffle=False``),
run eagerly (see :func:`reference_history`).

Tolerance: initial weights must be identical (same initializer, same seed, same
draw); per-epoch losses and accuracies may differ only by float32 summation order
(einsum over stacked kernels vs matmul): |Δ| ≤ 1e-5 after 2 epochs of a 3-layer net.

The trainer runs an epoch's steps in one compiled loop; the reference for that loop
is the trainer's host loop (``loop="host"``: one compiled call per step, as before).
Without XLA the two are bit-identical; under XLA (TensorFlow's ``xla``, or JAX) the
compiler builds a step inside a loop differently from a step alone (fusion, threads),
so they agree to float precision (``LOOP_RTOL``; records say which loop ran).

Cost: each pack trains once per setting for the whole module (:func:`trained`) and
each run's ``model.fit`` reference once (:func:`reference`); the tests only read them.
The equivalence pack is a half fraction of activation × initializer × seed: 4 members
that hold each level of each factor twice and each pair of levels of two factors
once (members that share a seed share a data group), so every member is checked
against its own Sequential at half the cost of the full 8.
"""

import dataclasses
import itertools
import math
import os

import numpy as np
import pytest

from conftest import fake_dataset, run_on_jax
from initstudy.study import config
from initstudy.study import runs

TOL = 1e-5
EPOCHS = 2
#: Compiled loop vs host loop under XLA: float precision (observed: relative ≤ 1e-7 on
#: metrics, up to 1e-5 on statistics near zero, absolute ≤ 1e-8).
LOOP_RTOL, LOOP_ATOL = 1e-5, 1e-7
ACTIVATIONS = ("relu", "tanh")
INITIALIZERS = ("he_normal", {"name": "random_normal", "stddev": 0.3})
SEEDS = (0, 1)
XLA = pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])


def make_pack(arch, optimizer, initializers=INITIALIZERS, activations=ACTIVATIONS, seeds=SEEDS, depth=3,
              half=False):
    """One pack of the grid activations × initializers × seeds; ``half``: only the runs
    whose level indices sum to an even number (the half fraction of a 2×2×2 grid)."""
    cfg = {"grid": {"datasets": ["digits"], "architectures": [arch], "activations": list(activations),
                    "optimizers": [optimizer], "depths": [depth], "initializers": list(initializers),
                    "seeds": list(seeds)},
           "training": {"epochs": EPOCHS, "batch_size": 32, "width": 12, "filters": 3, "probe_size": 16}}
    config.check(cfg)
    levels = list(itertools.product(range(len(activations)), range(len(initializers)), range(len(seeds))))
    grid = runs.expand(cfg)  # in the order of the product above (the other dimensions have one value)
    assert len(grid) == len(levels)
    chosen = [run for run, level in zip(grid, levels) if not half or sum(level) % 2 == 0]
    (pack,) = runs.make_packs(chosen, 64)
    return pack, cfg["training"]


def shape_of(arch):
    return (1, 12, 1) if arch == "mlp" else (5, 5, 2)


def loader(arch):
    """Each seed gets its own split (as datasets.load does), so groups differ."""
    return lambda run: fake_dataset(shape_of(arch), seed=run.seed)


def effective_xla(xla):
    """Whether the trainer compiles with XLA: JAX always does."""
    from initstudy.core import runtime

    return bool(xla) or runtime.backend() == "jax"


def _params(trainer):
    from keras import ops

    return [ops.convert_to_numpy(p) for p in trainer.params]


@dataclasses.dataclass
class Trained:
    pack: runs.Pack
    training: dict
    trainer: object
    initial: list  # per member, its weights before training (Sequential order)
    results: list
    params: list  # the trained stacked weights, as numpy


@pytest.fixture(scope="module")
def trained():
    """``trained(arch, optimizer, xla=False, **trainer_kwargs)``: the half-fraction pack of
    (arch, optimizer) trained by ``PackTrainer.fit`` with the step compiled as a plain TF
    graph or with XLA, once per setting for the module."""
    from initstudy.core import runtime
    from initstudy.models.packed import member_weights
    from initstudy.train.trainer import PackTrainer

    cache = {}

    def get(arch, optimizer, xla=False, **kwargs):
        key = (arch, optimizer, effective_xla(xla), tuple(sorted(kwargs.items())))
        if key not in cache:
            pack, training = make_pack(arch, optimizer, half=True)
            with pytest.MonkeyPatch.context() as mp:  # read when the trainer compiles and traces
                mp.setitem(runtime._STATE, "xla", effective_xla(xla))
                trainer = PackTrainer(pack, training, loader(arch), **kwargs)
                initial = [member_weights(trainer.model, m) for m in range(len(pack.runs))]
                results = trainer.fit()
            cache[key] = Trained(pack, training, trainer, initial, results, _params(trainer))
        return cache[key]

    return get


@pytest.fixture(scope="module")
def reference():
    """``reference(run, training, arch)``: (initial weights, per-epoch history, (test loss,
    test accuracy)) of ``run`` alone as a ``keras.Sequential`` trained by ``model.fit``,
    once per run for the module (it does not depend on how the trainer compiles)."""
    cache = {}

    def get(run, training, arch):
        key = (run.run_id, arch)
        if key not in cache:
            cache[key] = reference_history(run, training, arch)
        return cache[key]

    return get


def train(pack, training, arch):
    from initstudy.train.trainer import PackTrainer

    trainer = PackTrainer(pack, training, loader(arch))
    return trainer, trainer.fit()


def reference_history(run, training, arch):
    import keras

    from initstudy.models.packed import reference_model
    from initstudy.train.optimizers import make_optimizer
    from initstudy.train.step import epoch_order

    data = loader(arch)(run)
    model = reference_model(run, data.input_shape, data.num_classes, training)
    initial = [w.copy() for w in model.get_weights()]
    # Eagerly: Keras' own train step (loss, gradients, optimizer), op by op. Compiling each
    # one-off model costs more than its few steps (on JAX ~10x), and compiled vs eager only
    # changes float summation order (measured: identical on TensorFlow, ≤ 2.4e-7 on JAX).
    model.compile(optimizer=make_optimizer(run.optimizer, run.training_settings(training)), run_eagerly=True,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = []
    for epoch in range(1, training["epochs"] + 1):
        order = epoch_order(run.data_order_seed, epoch, len(data.y_train))
        h = model.fit(data.x_train[order], data.y_train[order], batch_size=training["batch_size"],
                      shuffle=False, epochs=1, verbose=0, validation_data=(data.x_val, data.y_val)).history
        history.append({"train_loss": h["loss"][0], "train_accuracy": h["accuracy"][0],
                        "val_loss": h["val_loss"][0], "val_accuracy": h["val_accuracy"][0]})
    test_loss, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)
    return initial, history, (test_loss, test_acc)


def test_the_half_fraction_holds_every_level_and_every_pair_of_levels():
    pack, _ = make_pack("mlp", "adam", half=True)
    members = [(r.activation, r.initializer, r.seed) for r in pack.runs]
    assert len(members) == 4
    for a, b in itertools.combinations(range(3), 2):
        assert len({(m[a], m[b]) for m in members}) == 4  # each pair of levels once


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@XLA
@pytest.mark.slow
def test_pack_member_equals_solo_sequential(arch, optimizer, xla, trained, reference):
    got = trained(arch, optimizer, xla)
    for m, run in enumerate(got.pack.runs):
        ref_initial, ref_history, (test_loss, test_acc) = reference(run, got.training, arch)
        assert len(ref_initial) == len(got.initial[m])
        for ours, theirs in zip(got.initial[m], ref_initial):
            np.testing.assert_array_equal(ours, theirs)
        assert len(got.results[m]["history"]) == EPOCHS
        for ours, theirs in zip(got.results[m]["history"], ref_history):
            for key, value in theirs.items():
                assert ours[key] == pytest.approx(value, abs=TOL), (run.run_id, ours["epoch"], key)
        assert got.results[m]["test"]["loss"] == pytest.approx(test_loss, abs=TOL)
        assert got.results[m]["test"]["accuracy"] == pytest.approx(test_acc, abs=TOL)


@pytest.mark.slow
def test_solo_pack_equals_member_of_larger_pack(trained):
    big = trained("mlp", "adam")
    solo = runs.Pack("solo", (big.pack.runs[2],))
    _, (solo_result,) = train(solo, big.training, "mlp")
    for ours, theirs in zip(solo_result["history"], big.results[2]["history"]):
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert ours[key] == pytest.approx(theirs[key], abs=TOL)


@pytest.mark.slow
def test_diverging_member_is_masked_and_others_unchanged():
    inits = ("he_normal", {"name": "random_normal", "stddev": 1e6, "label": "huge"})
    pack, training = make_pack("mlp", "sgd", initializers=inits, activations=("linear",), seeds=(0,))
    trainer, results = train(pack, training, "mlp")
    labels = [r.initializer for r in pack.runs]
    bad, good = labels.index("huge"), labels.index("he_normal")
    assert results[bad]["diverged"] and results[bad]["diverged_epoch"] == 1
    assert results[bad]["history"][0]["train_loss"] is None
    assert len(results[bad]["history"]) == 1
    assert not results[good]["diverged"] and len(results[good]["history"]) == EPOCHS
    # its updates stopped: its weights after the last epoch are those it had after epoch 1
    from initstudy.models.packed import member_weights
    from initstudy.train.trainer import PackTrainer

    one_epoch = PackTrainer(pack, {**training, "epochs": 1}, loader("mlp"))
    one_epoch.fit()  # fit leaves the trained values in the model's variables
    for now, then in zip(member_weights(trainer.model, bad), member_weights(one_epoch.model, bad)):
        np.testing.assert_array_equal(now, then)
    # the healthy member's numbers are those it has alone
    _, (alone,) = train(runs.Pack("alone", (pack.runs[good],)), training, "mlp")
    for ours, theirs in zip(results[good]["history"], alone["history"]):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], abs=TOL)


@pytest.mark.slow
def test_exported_member_loads_and_evaluates_to_recorded_accuracy(tmp_path, trained):
    import keras

    from initstudy.train.export import export_member

    got = trained("cnn", "adam")
    m = 3
    path = tmp_path / "member.keras"
    export_member(got.trainer.model, m, got.pack.runs[m], 3, got.training, str(path))
    loaded = keras.models.load_model(path)
    data = loader("cnn")(got.pack.runs[m])
    _, accuracy = loaded.evaluate(data.x_test, data.y_test, verbose=0)
    assert accuracy == pytest.approx(got.results[m]["test"]["accuracy"], abs=TOL)


@pytest.mark.slow
def test_signal_statistics_cover_every_layer_and_epoch(trained):
    rows = trained("mlp", "adam").results[0]["signal"]
    assert [(r["epoch"], r["layer"]) for r in rows] == [(e, l) for e in range(EPOCHS + 1) for l in (1, 2, 3)]
    assert all(r["grad_norm"] > 0 and r["kernel_std"] > 0 for r in rows)


def _assert_same(ours, theirs, exact, path=""):
    """Nested results (dicts, lists, floats, None) equal: bit for bit, or to LOOP_RTOL
    (and LOOP_ATOL, for values near zero)."""
    if exact:
        assert ours == theirs
    elif isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), path
        for k in ours:
            _assert_same(ours[k], theirs[k], exact, f"{path}.{k}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, exact, f"{path}[{i}]")
    elif isinstance(ours, float) and isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=LOOP_RTOL, abs=LOOP_ATOL), path
    else:
        assert ours == theirs, path


# Under XLA the mlp case shows float-precision agreement; the cnn case's point is exactness.
@pytest.mark.parametrize("xla,arch,optimizer", [(False, "mlp", "adam"), (False, "cnn", "momentum"),
                                                (True, "mlp", "adam")], ids=["graph-mlp-adam", "graph-cnn-momentum",
                                                                             "xla-mlp-adam"])
@pytest.mark.slow
def test_compiled_epochs_equal_the_host_step_loop(arch, optimizer, xla, trained):
    """Whole-epoch calls, 3-step chunks (of an epoch's 4 steps: the last chunk padded) and
    the host loop of single steps, over 2 epochs: the same results (train and validation
    metrics, test, signal, histograms) and weights, bit for bit without XLA."""
    host = trained(arch, optimizer, xla, loop="host")
    exact = not effective_xla(xla)
    for other in (trained(arch, optimizer, xla), trained(arch, optimizer, xla, steps_per_call=3)):
        _assert_same(other.results, host.results, exact)
        for ours, theirs in zip(other.params, host.params):
            if exact:
                np.testing.assert_array_equal(ours, theirs)
            else:
                np.testing.assert_allclose(ours, theirs, rtol=LOOP_RTOL, atol=LOOP_ATOL)


@pytest.mark.slow
def test_member_diverging_mid_epoch_stops_inside_the_compiled_loop():
    """Seed 1's split has a NaN example in the third of epoch 1's four batches: its members'
    loss turns NaN at that step inside the compiled epoch, and they keep the weights they
    had after step 2 (their updates stop from that step on), exactly as the host loop of
    single steps leaves them; seed 0's members train on, their numbers those of a clean run."""
    from initstudy.train.probes import probe_indices
    from initstudy.train.step import epoch_order
    from initstudy.train.trainer import PackTrainer

    pack, training = make_pack("mlp", "sgd", activations=("relu",), initializers=("he_normal", "glorot_uniform"))
    batch, poisoned_step = training["batch_size"], 2
    bad_run = next(r for r in pack.runs if r.seed == 1)
    clean = fake_dataset(shape_of("mlp"), seed=1)
    n = len(clean.y_train)
    assert -(-n // batch) == 4
    probe = set(probe_indices(n, training["probe_size"]).tolist())
    order = epoch_order(bad_run.data_order_seed, 1, n)
    row = next(int(r) for r in order[poisoned_step * batch:(poisoned_step + 1) * batch] if r not in probe)
    x = clean.x_train.copy()
    x[row] = np.nan
    poisoned = dataclasses.replace(clean, x_train=x)

    def load(poison):
        return lambda run: poisoned if (poison and run.seed == 1) else loader("mlp")(run)

    bad = np.array([r.seed == 1 for r in pack.runs])
    compiled = PackTrainer(pack, training, load(True))
    compiled.initialize()
    compiled.run_epoch(1)
    np.testing.assert_array_equal(compiled.active, ~bad)
    for m in range(len(pack.runs)):
        row_m = compiled.history[m][0]
        assert (row_m["train_loss"] is None) == bad[m] and (compiled.diverged_epoch[m] == 1) == bad[m]

    host = PackTrainer(pack, training, load(True), loop="host")
    host.initialize()
    before = _params(host)
    after_step = []
    for k, (idx, w) in enumerate(host.data.batches(1, batch)):
        keep, _, _ = host.train_step(host.active, idx, w)
        host.active = np.asarray(keep).astype(bool)
        after_step.append(_params(host))
        assert host.active[bad].all() == (k < poisoned_step) and host.active[~bad].all()
    from initstudy.core import runtime

    exact = not runtime.settings()["xla"]
    check = np.testing.assert_array_equal if exact else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=LOOP_RTOL, atol=LOOP_ATOL))
    for ours, stopped, last, initial in zip(_params(compiled), after_step[poisoned_step - 1], after_step[-1], before):
        check(ours[bad], stopped[bad])            # frozen at its weights after step 2
        assert not np.array_equal(stopped[bad], initial[bad])  # ... having trained until then
        check(ours[~bad], last[~bad])
    # the healthy members' numbers are those of the same pack on clean data (the same program)
    reference = PackTrainer(pack, training, load(False))
    reference.initialize()
    reference.run_epoch(1)
    for ours, theirs in zip(_params(compiled), _params(reference)):
        np.testing.assert_array_equal(ours[~bad], theirs[~bad])
    for m in np.flatnonzero(~bad):
        assert compiled.history[m] == reference.history[m]


# ---- the schedule: packs cut to balance their cost ---------------------------------------
#: A synthetic cost table: one run's cost by depth (the depth-50 group is the long pack).
COST_BY_DEPTH = {2: 1.0, 10: 9.0, 50: 50.0}


def balancing_runs():
    """12 runs per depth of COST_BY_DEPTH (3 initializers × 4 seeds), one group each."""
    cfg = config.check({"grid": {"datasets": ["digits"], "architectures": ["mlp"], "activations": ["relu"],
                                 "optimizers": ["adam"], "depths": list(COST_BY_DEPTH),
                                 "initializers": ["he_normal", "glorot_uniform", "orthogonal"],
                                 "seeds": [0, 1, 2, 3]}})
    return runs.expand(cfg)


def synthetic_cost(run):
    return COST_BY_DEPTH[run.depth]


def list_schedule(costs, slots):
    """The time the last of ``costs`` ends when each starts, in the given order, on the
    first of ``slots`` free workers (how Snakemake fills its cores)."""
    free = [0.0] * slots
    for cost in costs:
        free[free.index(min(free))] += cost
    return max(free)


@pytest.mark.parametrize("slots", [1, 2, 3, 8])
def test_packs_are_cut_to_balance_their_cost(slots):
    """With ``slots`` jobs at once, no pack costs more than its share (total / slots) plus
    one run, sizes within a group differ by at most one and every run is in one pack of
    its group. In any order, a list schedule keeps every slot busy until the last pack
    starts, so it ends by total / slots + (1 - 1 / slots) · the largest pack (Graham's
    bound), here at most total / slots + (1 - 1 / slots) · (total / slots + one run);
    the groups uncut (the depth-50 pack alone on one slot at the end) miss that bound."""
    todo = balancing_runs()
    total = sum(map(synthetic_cost, todo))
    max_cost = total / slots if slots > 1 else None
    packs = runs.make_packs(todo, pack_size=64, cost=synthetic_cost, max_cost=max_cost)
    assert sorted(r.run_id for p in packs for r in p.runs) == sorted(r.run_id for r in todo)
    costs = [sum(map(synthetic_cost, p.runs)) for p in packs]
    for depth, run_cost in COST_BY_DEPTH.items():
        group = [(p, c) for p, c in zip(packs, costs) if p.runs[0].depth == depth]
        assert all(r.depth == depth for p, _ in group for r in p.runs)
        sizes = [len(p.runs) for p, _ in group]
        assert max(sizes) - min(sizes) <= 1
        expected = 1 if max_cost is None else min(12, math.ceil(12 * run_cost / max_cost))
        assert len(group) == expected, (depth, sizes)
        if max_cost is not None:
            assert all(c <= max_cost + run_cost for _, c in group)
    share = total / slots
    bound = share + (1 - 1 / slots) * (share + max(COST_BY_DEPTH.values()))
    for order in (sorted(costs), sorted(costs, reverse=True), costs):
        assert list_schedule(order, slots) <= bound
    if slots > 1:  # the bound has teeth: the packs of pack_size alone miss it
        uncut = [sum(map(synthetic_cost, p.runs)) for p in runs.make_packs(todo, pack_size=64)]
        assert list_schedule(sorted(uncut), slots) > bound


def test_pack_size_still_caps_a_balanced_pack():
    """Balancing only splits packs further: a group is cut by whichever of pack_size and
    cost asks for more packs."""
    todo = balancing_runs()
    packs = runs.make_packs(todo, pack_size=5, cost=synthetic_cost, max_cost=sum(map(synthetic_cost, todo)))
    assert all(len(p.runs) <= 5 for p in packs)
    assert len(packs) == 3 * math.ceil(12 / 5)


def test_the_studys_work_is_cut_by_flops_among_the_slots(tmp_path):
    """``pending.work`` with 2 slots: every pack's counted FLOPs (train/cost.py) are at most
    half the study's plus one run, so the deep group is split across both slots."""
    from initstudy.train import pending
    from initstudy.train.cost import run_flops

    cfg = config.check({"grid": {"datasets": ["mnist1d"], "architectures": ["mlp"], "activations": ["relu"],
                                 "optimizers": ["adam"], "depths": [2, 30], "initializers": ["he_normal"],
                                 "seeds": list(range(6))},
                        "training": {"epochs": 2}})
    state = pending.pending(cfg, root=tmp_path)
    work = pending.work([(state, cfg["training"])], cfg["training"], slots=2)
    flops = {p.pack_id: sum(run_flops(r, cfg["training"]) for r in p.runs) for p in work.packs}
    assert work.flops == pytest.approx(flops)  # the train rule's priority
    total = sum(flops.values())
    assert total == pytest.approx(sum(run_flops(r, cfg["training"]) for r in state.pending))
    deepest = max(run_flops(r, cfg["training"]) for r in state.pending)
    assert all(f <= total / 2 + deepest for f in flops.values())
    assert sum(p.runs[0].depth == 30 for p in work.packs) >= 2


@pytest.mark.slow
def test_training_leaves_the_arrays_it_was_given_readable():
    """On JAX the steps donate the pack's state to their outputs (updated in place, not
    copied on every call): the trainer holds its own copies, so the state it was handed
    (set_state) and the Keras model's variables stay readable, unchanged, through
    training and host steps alike, on both backends."""
    from keras import ops

    from initstudy.train.trainer import PackTrainer

    pack, training = make_pack("mlp", "adam", activations=("relu",), initializers=("he_normal",))
    trainer = PackTrainer(pack, training, loader("mlp"))
    model_values = [ops.convert_to_numpy(v.value) for v in trainer.model.trainable_variables]
    given = [ops.convert_to_tensor(p * 0.5) for p in _params(trainer)]
    given_values = [ops.convert_to_numpy(p) for p in given]
    trainer.train_step.set_state(given, trainer.train_step.opt_vars)
    trainer.run_epoch(1)
    trainer.loop = "host"
    trainer.run_epoch(2)
    for array, value in zip(given, given_values):
        np.testing.assert_array_equal(ops.convert_to_numpy(array), value)
    trained = _params(trainer)
    assert all(not np.array_equal(t, g) for t, g in zip(trained, given_values))
    if trainer.train_step.stateful:  # TensorFlow trains the variables themselves
        return
    for var, value in zip(trainer.model.trainable_variables, model_values):
        np.testing.assert_array_equal(ops.convert_to_numpy(var.value), value)
    trainer.train_step.sync_model()
    trainer.run_epoch(3)  # after an export the steps still own their buffers
    for var, value in zip(trainer.model.trainable_variables, trained):
        np.testing.assert_array_equal(ops.convert_to_numpy(var.value), value)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KERAS_BACKEND") == "jax", reason="already on JAX")
def test_equivalence_holds_on_the_jax_backend():
    """The equivalence tests, in a process with KERAS_BACKEND=jax (the GPU machine's backend)."""
    tests = [f"{__file__}::test_pack_member_equals_solo_sequential[graph-adam-mlp]",
             f"{__file__}::test_pack_member_equals_solo_sequential[graph-sgd-cnn]",
             f"{__file__}::test_diverging_member_is_masked_and_others_unchanged",
             f"{__file__}::test_compiled_epochs_equal_the_host_step_loop[graph-mlp-adam]",
             f"{__file__}::test_member_diverging_mid_epoch_stops_inside_the_compiled_loop",
             f"{__file__}::test_training_leaves_the_arrays_it_was_given_readable"]
    run_on_jax(tests)


@pytest.mark.slow
def test_workflow_results_are_the_same_with_packing_on_or_off(tmp_path):
    """The tidy table of a tiny study (mlp and cnn, two seeds each), trained in 4 jobs of one
    run and in 2 packs."""
    import pandas as pd

    from test_workflow import TINY_STUDY, copy_workflow, snakemake

    grid = {**TINY_STUDY["grid"], "initializers": ["he_normal"], "seeds": [0, 1]}
    tables = {}
    # pack_size 1 with 1 thread: two solo jobs at a time on --cores 2 (each run is its own
    # pack whatever the balancing); pack_size 64 with 2 threads: one job at a time, packs cut
    # by pack_size alone. Thread counts may change last bits, far below TOL. No XLA: compiling
    # costs more than these steps (both compile modes are compared with model.fit above).
    for pack_size, threads in ((1, 1), (64, 2)):
        study = {"grid": grid, "training": {**TINY_STUDY["training"], "pack_size": pack_size, "threads": threads,
                                            "xla": False}}
        workdir = copy_workflow(tmp_path / f"p{pack_size}", study)
        proc = snakemake(workdir, "results/runs.parquet")
        assert proc.returncode == 0, proc.stderr[-3000:]
        tables[pack_size] = pd.read_parquet(workdir / "results" / "runs.parquet")
    off, on = tables[1], tables[64]
    assert off["pack_id"].nunique() == 4 and on["pack_id"].nunique() == 2
    metrics = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]
    pd.testing.assert_frame_equal(off[metrics], on[metrics], check_exact=False, atol=TOL, rtol=0)
    assert off["run_id"].tolist() == on["run_id"].tolist()
