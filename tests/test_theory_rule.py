"""The `theory` verb and the audit/theory rules: figure, tables and the paper's macros."""

import itertools
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from test_workflow import copy_workflow, snakemake

from initstudy.analysis import audit as au
from initstudy import cli
from initstudy.analysis import theory as mf
from initstudy.inits.specs import parse

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
    tmp = tmp_path_factory.mktemp("theory")
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump({"grid": GRID, "training": {"width": WIDTH}}))
    synthetic_signal(GRID, WIDTH).to_parquet(tmp / "signal.parquet")
    audited = au.audit(["he_normal", CUSTOM + "ChannelsFirstHe"], shapes=[(64, 64), (3, 3, 16, 32)])
    au.write_audit(audited, tmp / "audit.csv", tmp / "audit.tex")
    paths = {name: tmp / name for name in ("fig.pdf", "theory.csv", "theory.tex", "vars.tex")}
    argv = ["theory", "--config", str(config), "--signal", str(tmp / "signal.parquet"),
            "--audit", str(tmp / "audit.csv"), "--figure", str(paths["fig.pdf"]),
            "--csv", str(paths["theory.csv"]), "--tex", str(paths["theory.tex"]),
            "--variables", str(paths["vars.tex"])]  # fmt: skip
    assert cli.main(argv) == 0
    return paths


def test_theory_verb_draws_the_figure(outputs):
    assert outputs["fig.pdf"].read_bytes().startswith(b"%PDF")


def test_theory_and_measurement_agree_where_the_theory_applies(outputs):
    table = pd.read_csv(outputs["theory.csv"], keep_default_na=False)
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
    latex = outputs["theory.tex"].read_text()
    assert latex.startswith(r"\begin{tabular}") and r"\multicolumn{2}{c}{Theory}" in latex
    assert "Why no theory" in latex and "data-dependent (lsuv)" in latex
    assert r"he\_\allowbreak{}normal & \num{1} & stable" in latex


def test_variables_define_exactly_the_macros_the_section_uses(outputs):
    text = outputs["vars.tex"].read_text()
    defined = re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", text)
    assert len(defined) == len(set(defined))
    assert set(defined) == section_macros()
    assert r"\newcommand{\AuditChannelsFirstList}{ChannelsFirstHe}" in text
    assert r"\newcommand{\TheorySkippedList}{lsuv}" in text
    assert r"\newcommand{\TheoryWidth}{\num{32}}" in text


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
def test_workflow_makes_the_audit_and_the_theory_figure(tmp_path):
    workdir = copy_workflow(tmp_path, TINY_STUDY)
    targets = ["results/audit.csv", "paper/generated/figures/theory_vs_measurement.pdf"]
    proc = snakemake(workdir, *targets)
    assert proc.returncode == 0, proc.stderr[-4000:]
    audit = pd.read_csv(workdir / "results" / "audit.csv")
    # the example custom initializers are audited although the grid does not train them
    assert {"he_normal", "zeros", "ChannelsFirstHe", "FixedUniform-limit0.05"} <= set(
        audit.initializer
    )
    buggy = audit[audit.initializer == "ChannelsFirstHe"]
    assert set(buggy[buggy.verdict == "FAIL"].kind) == {"conv1d", "conv2d"}
    assert (workdir / "paper/generated/tables/audit.tex").exists()
    figure = workdir / "paper/generated/figures/theory_vs_measurement.pdf"
    assert figure.read_bytes().startswith(b"%PDF")
    theory = pd.read_csv(workdir / "results" / "theory.csv")
    assert set(theory.initializer) == {"he_normal", "zeros"} and (theory.layers == 3).all()
    assert set(theory[theory.initializer == "zeros"].measured) == {"no signal"}
