"""Controls are controls: the symmetry control names the violated cell and fails the
verb (exit 3), counts identical values once (its real replicates), runs on a control
study named in the config's `controls` (config/controls/<name>.yaml), never enters the
claims, and is typeset in the paper's controls part."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, latexmk_log, minimal_paper
from test_claims import zeros_study

from initstudy import cli
from initstudy.analysis import controls
from initstudy.analysis.claims.registry import Tables
from initstudy.core.table_io import read_table
from initstudy.paper import typeset
from initstudy.study import config as study_config
from initstudy.study import paths

CONTROL_CONFIG = REPO / paths.control_config("symmetry")


def no_zeros() -> Tables:
    """The same runs, none of them initialized with zeros."""
    return Tables(zeros_study().runs.assign(initializer="he_normal"), pd.DataFrame(), pd.DataFrame())


def identical_per_seed(activation, depth, seed):
    """What a zero network gives: one number per seed, whatever activation and depth."""
    return 0.1 + [0.0012, -0.0031, 0.0007][seed]


def test_the_symmetry_control_names_the_cell():
    runs = zeros_study(lambda a, d, s: 0.41 if (a, d, s) == ("relu", 30, 2) else 0.1).runs
    messages = controls.violations(runs)
    assert len(messages) == 1
    assert messages[0].startswith("symmetry control violated: mnist1d/mlp/relu/adam/d30: ")
    assert "seed(s) 2" in messages[0]
    with pytest.raises(controls.ControlViolation, match="symmetry control violated"):
        controls.check(runs)
    # sigmoid (phi(0) = 1/2) is outside the control; a diverged zeros run is no violation
    assert controls.violations(runs.assign(activation="sigmoid")) == []
    assert controls.violations(runs.assign(diverged=True, test_accuracy=np.nan)) == []
    table = controls.control_table(runs)
    cells = table[table["level"] == "cell"]
    assert (~cells["ok"]).sum() == 1 and len(cells) == 8
    assert not table[table["level"] == "control"]["ok"].item()


def test_identical_values_count_once():
    """24 zeros runs (2 activations x 4 depths x 3 seeds) that repeat one number per seed
    are 3 distinct values: the control's replicates."""
    table = controls.control_table(zeros_study(identical_per_seed).runs, name="symmetry")
    row = table[table["level"] == "control"].iloc[0]
    assert (row["n_runs"], row["n_seeds"], row["n_distinct"]) == (24, 3, 3)
    assert row["ok"] and row["max_excess"] == pytest.approx(0.0012) and row["activation"] == "relu+tanh"
    assert row["depth"] == "2+10+30+50"
    cells = table[table["level"] == "cell"]
    assert len(cells) == 8 and set(cells["n_distinct"]) == {3} and set(cells["n_runs"]) == {3}


def test_the_control_config_and_the_default_study():
    """symmetry is a control study the default config lists under `controls`, not a claim."""
    cfg = study_config.load(CONTROL_CONFIG)
    assert cfg["control"]["check"] == "symmetry" and cfg["control"]["margin"] == 0.05 and "claim" not in cfg
    default = study_config.load(REPO / "config" / "config.yaml")
    assert default["controls"] == ["symmetry"] and "symmetry" not in default["claims"]
    assert not (REPO / paths.claim_config("symmetry")).exists()
    bad = {**cfg, "control": {**cfg["control"], "check": "nope"}}
    with pytest.raises(study_config.ConfigError, match="control.check"):
        study_config.check(bad)


def _runs(tmp_path, tables, name="runs.parquet"):
    path = tmp_path / name
    tables.runs.to_parquet(path)
    return path


def test_check_controls_verb_on_a_control_study(tmp_path, capsys):
    runs = _runs(tmp_path, zeros_study(identical_per_seed))
    out = tmp_path / "control.csv"
    assert cli.main(["check-controls", f"--config={CONTROL_CONFIG}", f"--runs={runs}", f"--out={out}"]) == 0
    table = read_table(out)
    assert list(table.columns) == controls.CONTROL_COLUMNS
    row = table[table["level"] == "control"].iloc[0]
    assert row["control"] == "symmetry" and row["n_distinct"] == 3 and row["margin"] == 0.05
    assert row["source_paper"] == "Goodfellow, Bengio and Courville 2016"
    capsys.readouterr()
    # a zeros run that learned fails the build, naming the cell (exit 3), and still leaves the table
    broken = _runs(tmp_path, zeros_study(lambda a, d, s: 0.6 if (a, d) == ("tanh", 10) else 0.1), "broken.parquet")
    assert cli.main(["check-controls", f"--config={CONTROL_CONFIG}", f"--runs={broken}", f"--out={out}"]) == 3
    assert "symmetry control violated: mnist1d/mlp/tanh/adam/d10: " in capsys.readouterr().err
    assert not read_table(out)["ok"].all()
    # a control study without a zeros run would check nothing: a one-line error
    he_runs = _runs(tmp_path, no_zeros(), "he.parquet")
    assert cli.main(["check-controls", f"--config={CONTROL_CONFIG}", f"--runs={he_runs}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "would check nothing" in err


def test_check_controls_verb_on_the_studys_own_runs(tmp_path, capsys):
    """The main study's own zeros runs, if any (results/controls.csv): none is no failure."""
    runs = _runs(tmp_path, zeros_study(lambda a, d, s: 0.6 if (a, d) == ("tanh", 10) else 0.1))
    assert cli.main(["check-controls", f"--runs={runs}", f"--out={tmp_path / 'controls.csv'}"]) == 3
    assert "symmetry control violated: mnist1d/mlp/tanh/adam/d10: " in capsys.readouterr().err
    clean = _runs(tmp_path, zeros_study(), "clean.parquet")
    assert cli.main(["check-controls", f"--runs={clean}"]) == 0
    none = _runs(tmp_path, no_zeros(), "none.parquet")
    assert cli.main(["check-controls", f"--runs={none}", f"--out={tmp_path / 'none.csv'}"]) == 0
    assert read_table(tmp_path / "none.csv").empty


def controls_tables(tmp_path):
    """The study's own control (no zeros run: empty) and the symmetry control study's."""
    study = tmp_path / "controls.csv"
    assert cli.main(["check-controls", f"--runs={_runs(tmp_path, no_zeros(), 'study.parquet')}",
                     f"--out={study}"]) == 0
    control = tmp_path / "symmetry" / "control.csv"
    runs = _runs(tmp_path, zeros_study(identical_per_seed), "symmetry.parquet")
    assert cli.main(["check-controls", f"--config={CONTROL_CONFIG}", f"--runs={runs}", f"--out={control}"]) == 0
    return [study, control]


def test_the_paper_reports_the_control_with_its_distinct_values(tmp_path):
    out = tmp_path / "generated"
    assert cli.main(["typeset-controls", *map(str, controls_tables(tmp_path)), f"--out-dir={out}"]) == 0
    assert {str(p.relative_to(out)) for p in out.rglob("*.tex")} == set(paths.CONTROLS_GENERATED)
    text = (out / "controls.tex").read_text()
    assert r"\newcommand{\ControlSymmetryRuns}{\num{24}}" in text
    assert r"\newcommand{\ControlSymmetryDistinct}{\num{3}}" in text
    assert r"\newcommand{\ControlSymmetryMargin}{\num{5.0}}" in text
    assert r"rests on \ControlSymmetryDistinct{} replicates, not \ControlSymmetryRuns" in text
    assert "The main study has no run initialized with zeros" in text and "the control holds." in text
    assert "Claim" not in text  # no claim macro: a control is never counted as a claim


@pytest.mark.slow  # latexmk
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_the_controls_part_compiles_and_is_left_out_without_its_file(tmp_path):
    paper = minimal_paper(tmp_path, "controls")

    assert "undefined" not in latexmk_log(paper).lower()
    typeset.write_controls(controls_tables(tmp_path), paper / "generated")
    log = latexmk_log(paper)
    assert "sec:controls" in (paper / "main.aux").read_text() and "undefined" not in log.lower()
