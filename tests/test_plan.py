"""Cost preview from the timings of finished runs."""

import copy

import pytest

from conftest import TINY
from initstudy.study import config
from initstudy.train import plan
from initstudy.train import records
from test_records import a_record


def test_plan_counts_jobs_and_extrapolates_in_depth(tmp_path):
    cfg = copy.deepcopy(TINY)
    cfg["grid"].update(depths=[2, 4, 8], seeds=[0, 1, 2], initializers=["he_normal", "zeros"])
    cfg["training"]["pack_size"] = 4
    config.check(cfg)
    for depth, seconds in ((2, 1.0), (4, 3.0)):  # finished: he_normal seed 0 at depths 2 and 4
        record = a_record(f"digits/mlp/relu/adam/d{depth}/he_normal/s0")
        record["wall_time_s"] = seconds
        records.write(tmp_path / record["run"]["run_id"] / "record.json", record)
    table = plan.plan(cfg, tmp_path).set_index("depth")
    assert table.loc[2, "runs"] == 6 and table.loc[2, "done"] == 1
    assert table.loc[2, "train_jobs"] == 2  # 5 runs left in packs of 4
    assert table.loc[2, "s_per_run"] == 1.0 and table.loc[2, "estimate_s"] == 5.0
    assert table.loc[8, "s_per_run"] == pytest.approx(7.0)  # the line through (2, 1) and (4, 3)
    assert table.loc[8, "basis"] == "fitted on depths [2, 4]"
    assert "18 runs, 2 done, 6 train jobs to run" in plan.render(table.reset_index())


def test_plan_without_timings_says_so(tmp_path):
    table = plan.plan(config.check(copy.deepcopy(TINY)), tmp_path)
    assert "estimated wall time of the training left: unknown" in plan.render(table)
