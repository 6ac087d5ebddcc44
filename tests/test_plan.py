"""Cost preview: FLOPs counted before any run, and the estimate beside measured times."""

import copy

import pytest

from conftest import TINY
from initstudy.study import config
from initstudy.study.runs import expand
from initstudy.train import cost, plan, records
from initstudy.train.pending import pending
from test_records import a_record


def test_flops_of_an_mlp_and_a_cnn_by_hand():
    training = {"width": 16, "filters": 4, "kernel_size": 3}
    # digits: 64 inputs -> 16 -> 16 -> 10
    assert cost.forward_flops("mlp", 2, training, (8, 8, 1), 10) == 2 * (64 * 16 + 16 * 16 + 16 * 10)
    # 8x8 'same' convolutions 1 -> 4 -> 4 with 3x3 kernels, then a 4 -> 10 head
    assert cost.forward_flops("cnn", 2, training, (8, 8, 1), 10) == 64 * 2 * 9 * (1 * 4 + 4 * 4) + 2 * 4 * 10


def test_a_run_costs_three_forward_passes_per_training_and_probe_example():
    cfg = config.check(copy.deepcopy(TINY))
    (run,) = expand(cfg)
    t = cfg["training"]
    f = cost.forward_flops("mlp", 2, t, (8, 8, 1), 10)
    n_val = round(0.1 * 1438)
    probe = 3 * f * t["probe_size"]  # forward and gradients, at init and after every epoch
    expected = t["epochs"] * (3 * f * (1438 - n_val) + f * n_val + probe) + probe + f * 359
    assert cost.run_flops(run, t) == pytest.approx(expected)


def test_plan_estimates_before_any_run_and_compares_once_runs_exist(tmp_path):
    cfg = copy.deepcopy(TINY)
    cfg["grid"].update(depths=[2, 4], seeds=[0, 1, 2], initializers=["he_normal", "zeros"])
    cfg["training"]["pack_size"] = 4
    config.check(cfg)
    table = plan.plan(cfg, tmp_path, rate_gflops=1.0).set_index("depth")
    assert table.loc[2, "runs"] == 6 and table.loc[2, "done"] == 0 and table.loc[2, "train_jobs"] == 2
    run = next(r for r in expand(cfg) if r.depth == 2)
    assert table.loc[2, "estimate_s"] == pytest.approx(6 * cost.run_flops(run, cfg["training"]) / 1e9)
    text = plan.render(table.reset_index())
    assert "12 runs, 0 done, 4 train jobs to run" in text and "1.0 GFLOP/s" in text

    state = pending(cfg, tmp_path)  # one run finished, in 3 s
    record = a_record(run.run_id)
    record["wall_time_s"] = 3.0
    records.write(state.records[run.run_id], record)
    table = plan.plan(cfg, tmp_path, rate_gflops=1.0).set_index("depth")
    assert table.loc[2, "done"] == 1 and table.loc[2, "done_measured_s"] == 3.0
    assert table.loc[2, "done_estimated_s"] == pytest.approx(cost.run_flops(run, cfg["training"]) / 1e9)
    assert "finished runs took 3.0 s measured" in plan.render(table.reset_index())


def test_matmul_rate_is_measured():
    from initstudy.core import runtime

    runtime.configure(threads=1, xla=True)
    assert cost.matmul_rate(size=32, members=2, repeats=2) > 0
