"""The `theory` and `audit` verbs and rules: the theory tables, their LaTeX table and the
paper's Theory/Audit macros (figures are tested with the figures)."""

import itertools
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from initstudy import cli
from initstudy.analysis import sampling
from initstudy.analysis import theory as mf
from initstudy.analysis.stability import CURVE
from initstudy.core.table_io import read_table
from initstudy.study.specs import parse
from initstudy.paper.latex import merge_macros
from initstudy.paper.macros import audit_macros, theory_macros
from initstudy.paper.tables import theory_table
from initstudy.study.paths import THEORY_TABLES

CUSTOM = "initstudy.inits.custom:"
GRID = {
    "datasets": ["digits"],
    "architectures": ["mlp"],
    "activations": ["relu", "tanh"],
    "optimizers": ["adam"],
    "depths": [2, 8],
    "initializers": ["he_normal", "zeros", {"name": "random_normal", "stddev": 0.01}, "lsuv"],
    "seeds": [0, 1],
}
WIDTH = 32


def synthetic_signal(grid: dict, width: int) -> pd.DataFrame:
    """Epoch-0 rows of signal.parquet from random float64 MLPs, stored as float32 like
    the trainer's: a stand-in for training with the same kernels' distribution."""
    x = np.random.default_rng(0).standard_normal((64, mf.input_size(grid["datasets"][0])))
    rows = []
    for activation, spec, depth, seed in itertools.product(
        grid["activations"], grid["initializers"], grid["depths"], grid["seeds"]
    ):
        q = mf.measured_variance(spec, activation, width, depth, x, seed=100 * seed + depth)
        run = {"dataset": grid["datasets"][0], "arch": "mlp", "activation": activation,
               "optimizer": "adam", "depth": depth, "initializer": parse(spec).label,
               "seed": seed, "epoch": 0}  # fmt: skip
        rows += [{**run, "layer": layer + 1, "preactivation_var": float(np.float32(v))}
                 for layer, v in enumerate(q)]  # fmt: skip
    return pd.DataFrame(rows)


def section_macros() -> set[str]:
    text = (REPO / "paper" / "sections" / "initializers.tex").read_text()
    return set(re.findall(r"\\((?:Theory|Audit)[A-Za-z]+)", text))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """What the theory verb writes into --out-dir, and the audit CSV beside it."""
    tmp = tmp_path_factory.mktemp("theory")
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump({"grid": GRID, "training": {"width": WIDTH}}))
    synthetic_signal(GRID, WIDTH).to_parquet(tmp / "signal.parquet")
    audited = sampling.audit(["he_normal", CUSTOM + "ChannelsFirstHe"], shapes=[(64, 64), (3, 3, 16, 32)])
    (tmp / "audit.csv").write_text(audited.to_csv(index=False))
    out = tmp / "analysis"
    argv = ["theory", "--config", str(config), "--signal", str(tmp / "signal.parquet"), "--out-dir", str(out)]
    assert cli.main(argv) == 0
    return {"dir": out, "audit": tmp / "audit.csv", **{name: out / f"{name}.csv" for name in THEORY_TABLES}}


def test_theory_verb_writes_the_three_tables_and_nothing_else(outputs):
    assert sorted(p.name for p in outputs["dir"].iterdir()) == sorted(f"{n}.csv" for n in THEORY_TABLES)
    predicted, measured = read_table(outputs["theory_predicted"]), read_table(outputs["theory_measured"])
    assert list(predicted.columns) == [*CURVE, "layer", "predicted"]
    assert list(measured.columns) == [*CURVE, "layer", "median", "low", "high", "runs"]
    # every initializer the theory covers (lsuv is data-dependent), every layer of the deepest MLP
    depth = max(GRID["depths"])
    assert len(predicted) == len(GRID["activations"]) * (len(GRID["initializers"]) - 1) * depth
    assert "lsuv" not in set(predicted.initializer) and set(predicted.layer) == set(range(1, depth + 1))
    assert len(measured) == len(GRID["activations"]) * len(GRID["initializers"]) * depth
    he = predicted[(predicted.activation == "relu") & (predicted.initializer == "he_normal")]
    np.testing.assert_allclose(he.predicted, 2.0, rtol=1e-9)  # q0 = 1, sigma_w2 = 2, at every layer


def test_theory_and_measurement_agree_where_the_theory_applies(outputs):
    table = pd.read_csv(outputs["theory"], keep_default_na=False)
    assert len(table) == len(GRID["activations"]) * len(GRID["initializers"])
    verdicts = {(r.activation, r.initializer): (r.theory, r.measured) for r in table.itertuples()}
    assert verdicts["relu", "he_normal"] == ("stable", "stable")
    assert verdicts["relu", "random_normal-stddev0.01"] == ("vanishes", "vanishes")
    assert verdicts["tanh", "random_normal-stddev0.01"] == ("vanishes", "vanishes")
    for activation in GRID["activations"]:
        assert verdicts[activation, "zeros"] == ("no signal", "no signal")
        assert verdicts[activation, "lsuv"][0] == "skipped"
    lsuv = table[table.initializer == "lsuv"]
    assert lsuv.note.str.startswith("data-dependent").all()
    assert (table.layers == max(GRID["depths"])).all()


def test_latex_table_says_why_the_theory_skips(outputs):
    latex = theory_table(read_table(outputs["theory"]))  # as typeset reads it
    assert latex.startswith(r"\begin{tabular}") and r"\multicolumn{2}{c}{Theory}" in latex
    assert "Why no theory" in latex and "data-dependent (lsuv)" in latex
    assert r"he\_\allowbreak{}normal & \num{1} & stable" in latex


def test_latex_table_without_notes_or_with_several_datasets(outputs):
    table = read_table(outputs["theory"])
    covered = table[table.initializer != "lsuv"]
    latex = theory_table(covered)
    assert "Why no theory" not in latex and "Dataset" not in latex
    several = pd.concat([covered, covered.assign(dataset="mnist1d")], ignore_index=True)
    latex = theory_table(several)
    assert "Dataset & Activation & Initializer" in latex and "mnist1d & relu" in latex


def test_macros_define_exactly_the_macros_the_section_uses(outputs):
    table, audit = read_table(outputs["theory"]), read_table(outputs["audit"])
    macros = merge_macros(theory_macros(table, WIDTH, max(GRID["depths"])), audit_macros(audit))
    assert set(macros) == section_macros()
    assert macros["AuditChannelsFirstList"] == "ChannelsFirstHe"
    assert macros["TheorySkippedList"] == "lsuv"
    assert macros["TheoryWidth"] == r"\num{32}" and macros["TheoryDepth"] == r"\num{8}"
    assert macros["TheoryMeanGap"] == r"\qty{3.1}{\percent}"
    compared = len(GRID["activations"]) * (len(GRID["initializers"]) - 1)
    assert macros["TheoryNumCompared"] == rf"\num{{{compared}}}"
    assert macros["TheoryNumAgree"] == rf"\num{{{compared}}}" and macros["TheoryDisagreeList"] == "none"


def test_theory_macros_list_the_disagreements():
    table = pd.DataFrame([
        {"dataset": "d", "activation": "relu", "initializer": "a_b", "theory": "stable", "measured": "explodes"},
        {"dataset": "d", "activation": "tanh", "initializer": "a_b", "theory": "stable", "measured": "stable"},
        {"dataset": "d", "activation": "tanh", "initializer": "c", "theory": "stable", "measured": "not run"},
    ])
    macros = theory_macros(table, 64, 8)
    assert macros["TheoryNumCompared"] == r"\num{2}" and macros["TheoryNumAgree"] == r"\num{1}"
    assert macros["TheoryDisagreeList"] == r"a\_b (relu)" and macros["TheorySkippedList"] == "none"


def test_a_missing_signal_table_is_one_line_and_status_2(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"grid": GRID}))
    status = cli.main(["theory", "--config", str(config), "--signal", str(tmp_path / "none")])
    assert status == 2
    assert capsys.readouterr().err.startswith("initstudy theory: error:")


TINY_STUDY = {
    "grid": {**GRID, "activations": ["relu"], "depths": [2, 3], "seeds": [0],
             "initializers": ["he_normal", "zeros"]},
    "training": {"epochs": 1, "width": 16, "pack_size": 64, "threads": 1, "probe_size": 32},
}  # fmt: skip


@pytest.mark.slow
def test_workflow_makes_the_audit_and_the_theory_tables(tmp_path):
    from test_workflow import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path, TINY_STUDY)
    targets = ["results/audit.csv", *(f"results/analysis/{name}.csv" for name in THEORY_TABLES),
               "paper/generated/tables/audit.tex", "paper/generated/tables/theory.tex"]
    proc = snakemake(workdir, *targets)
    assert proc.returncode == 0, proc.stderr[-4000:]
    audit = pd.read_csv(workdir / "results" / "audit.csv")
    # the example custom initializers are audited although the grid does not train them
    assert {"he_normal", "zeros", "ChannelsFirstHe", "FixedUniform-limit0.05"} <= set(
        audit.initializer
    )
    buggy = audit[audit.initializer == "ChannelsFirstHe"]
    assert set(buggy[buggy.verdict == "FAIL"].kind) == {"conv1d", "conv2d"}
    assert "ChannelsFirstHe" in (workdir / "paper/generated/tables/audit.tex").read_text()
    assert "Why no theory" not in (workdir / "paper/generated/tables/theory.tex").read_text()
    theory = pd.read_csv(workdir / "results" / "analysis" / "theory.csv")
    assert set(theory.initializer) == {"he_normal", "zeros"} and (theory.layers == 3).all()
    assert set(theory[theory.initializer == "zeros"].measured) == {"no signal"}
