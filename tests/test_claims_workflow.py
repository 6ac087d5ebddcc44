"""The claims through the real workflow: `snakemake claims` builds only the claims,
the paper then takes them up without retraining, runs a claim shares with the study
train once, a claim registered before its runs is decided as registered, a control
study is checked and reported apart from the claims, and a violated symmetry control
stops the build naming the cell."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import tarfile

import pandas as pd
import pytest
import yaml
from conftest import TINY
from test_claim_saxe2013 import TINY_SAXE
from test_claim_schoenholz2017 import TINY_SCHOENHOLZ
from test_workflow import copy_workflow, snakemake

from initstudy.study import paths

#: Real Snakemake runs of the claims (minutes).
pytestmark = pytest.mark.slow

#: A tiny He et al. claim on digits: its He/Adam/depth-2/seed-0 run is the main study's.
TINY_HE = {
    "grid": {**TINY["grid"], "optimizers": ["adam", "momentum"], "initializers": ["glorot_uniform", "he_normal"],
             "seeds": [0, 1, 2]},
    "training": TINY["training"],
    "claim": {
        "hypothesis": "He trains, Glorot stays at chance (tiny: a test of the wiring, not of the claim).",
        "source": {"paper": "He et al. 2015"},
        "statistic": "he2015",
        "params": {"trains": "he_normal", "at_chance": ["glorot_uniform"], "halves": "glorot_uniform",
                   "constant": "he_normal", "pool": ["optimizer"]},
        "rules": {"trains": {"direction": "greater", "min_effect": 0.1},
                  "at_chance": {"direction": "less", "min_effect": 0.05}},
    },
}
#: A tiny symmetry control study (config/controls/): a control, not a claim.
TINY_SYMMETRY = {
    "grid": {**TINY["grid"], "activations": ["relu", "tanh"], "initializers": ["zeros"], "seeds": [0, 1, 2]},
    "training": TINY["training"],
    "control": {
        "check": "symmetry",
        "hypothesis": "Zeros never learns.",
        "source": {"paper": "Goodfellow, Bengio and Courville 2016"},
    },
}

#: A tiny Pennington et al. claim: Jacobian spectra recorded at init and read by the claim.
TINY_PENNINGTON = {
    "grid": {**TINY["grid"], "optimizers": ["sgd"], "depths": [2, 3], "initializers": ["orthogonal", "he_normal"],
             "seeds": [0, 1]},
    "training": {**TINY["training"], "epochs": 1, "jacobian_inputs": 2},
    "claim": {
        "hypothesis": "Orthogonal spectra stay put, He spectra spread (tiny: a test of the wiring).",
        "source": {"paper": "Pennington, Schoenholz and Ganguli 2017"},
        "statistic": "pennington2017",
        "params": {"predicted": {"relu/orthogonal": {"weights": "orthogonal", "q_star": 1.0},
                                 "relu/he_normal": {"weights": "gaussian", "q_star": 1.0}},
                   "compared": ["relu/orthogonal", "relu/he_normal"]},
        "rules": {"free_probability": {"direction": "within", "min_effect": 0.3},
                  "gaussian_steeper": {"direction": "greater", "min_effect": 0.5}},
    },
}
#: Every family's tiny claim in one workflow (one Snakemake run for all: minutes saved).
CLAIMS = {"tiny_he": TINY_HE, "tiny_pennington": TINY_PENNINGTON, "tiny_saxe": TINY_SAXE,
          "tiny_schoenholz": TINY_SCHOENHOLZ}
CONTROLS = {"tiny_symmetry": TINY_SYMMETRY}


def claims_workflow(tmp_path):
    study = {**copy.deepcopy(TINY), "claims": list(CLAIMS), "controls": list(CONTROLS)}
    work = copy_workflow(tmp_path, study)
    for name, claim in CLAIMS.items():
        (work / paths.claim_config(name)).write_text(yaml.safe_dump(claim))
    for name, control in CONTROLS.items():
        (work / paths.control_config(name)).write_text(yaml.safe_dump(control))
    return work


def register(work, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "initstudy", "register", *args], cwd=work, capture_output=True,
                          text=True, timeout=300)


def test_claims_target_then_paper_without_retraining(tmp_path):
    work = claims_workflow(tmp_path)
    assert register(work, "tiny_he").returncode == 0  # before any of its runs exists
    proc = snakemake(work, "claims")
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = pd.read_csv(work / paths.CLAIMS_TABLE)
    assert list(claims["name"]) == list(CLAIMS)
    assert set(claims["verdict"]) <= {"PASS", "FAIL", "INCONCLUSIVE"}
    registered = dict(zip(claims["name"], claims["registration"]))
    assert registered == {name: "registered" if name == "tiny_he" else "unregistered" for name in CLAIMS}
    # now its runs have records: registering changed rules is refused, in one line
    changed = copy.deepcopy(TINY_HE)
    changed["claim"]["rules"]["trains"]["min_effect"] = 0.2
    (work / "changed.yaml").write_text(yaml.safe_dump(changed))
    refused = register(work, "changed.yaml")
    assert refused.returncode == 2 and "already have records" in refused.stderr
    for name in claims["name"]:
        assert (work / paths.claim_figure(name)).read_bytes().startswith(b"%PDF-")
    # only the claims: no study table, no paper
    assert not (work / paths.TABLES["runs"]).exists() and not (work / paths.PAPER_PDF).exists()
    # the run both studies have trained once, and the claim's table has it
    he_runs = pd.read_parquet(work / paths.claim_tables("tiny_he")["runs"])
    shared = he_runs[(he_runs["initializer"] == "he_normal") & (he_runs["optimizer"] == "adam")
                     & (he_runs["seed"] == 0)]["run_id"].item()
    assert len(list((work / paths.RUNS_ROOT / shared).glob("record-*.json"))) == 1
    # the spectra went from the records through the claim's tables to its figure's
    spectra = pd.read_parquet(work / paths.claim_tables("tiny_pennington")["jacobian"])
    assert len(spectra) == 8 * 2 * TINY["training"]["width"]  # runs x inputs x width
    assert set(pd.read_csv(work / paths.claim_dir("tiny_pennington") / "spread.csv")["depth"]) == {2, 3}
    # Saxe: 2 seeds cannot reach alpha; every part is there
    saxe = claims.set_index("name").loc["tiny_saxe"]
    assert saxe["verdict"] == "INCONCLUSIVE" and "cannot reach" in saxe["reason"]
    verdict = pd.read_csv(work / paths.claim_dir("tiny_saxe") / paths.CLAIM_VERDICT)
    assert set(verdict["part"].dropna()) == {"orthogonal_flat", "ratio_growth", "unresolved"}
    # Schoenholz: sigma_b^2 read from the specs, one row per (sigma_w^2, depth) cell
    cells = pd.read_csv(work / paths.claim_dir("tiny_schoenholz") / "trainability.csv")
    assert len(cells) == 3 * 2 and set(cells["sigma_b2"].round(6)) == {0.05}

    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initstudy: tiny_he: 12 runs: 12 done, 0 new, 0 stale" in proc.stderr
    assert "initstudy: 0 train jobs" in proc.stderr
    section = (work / paths.GENERATED / "claims.tex").read_text()
    assert all(f"claim_{name}.pdf" in section for name in CLAIMS) and "symmetry" not in section
    assert (work / paths.PAPER_PDF).exists()
    assert pd.read_csv(work / paths.CONTROLS).empty  # the main study has no zeros runs
    # the control study: checked on its own runs, reported in the controls part, never a claim
    control = pd.read_csv(work / paths.control_check("tiny_symmetry"))
    row = control[control["level"] == "control"].iloc[0]
    assert row["ok"] and row["n_runs"] == 6 and 1 <= row["n_distinct"] <= 3
    assert "tiny_symmetry" not in set(pd.read_csv(work / paths.CLAIMS_TABLE)["name"])
    controls_part = (work / paths.GENERATED / "controls.tex").read_text()
    assert "ControlTinySymmetryDistinct" in controls_part and "no run initialized with zeros" in controls_part
    assert snakemake(work, "-n").stdout.count("rule ") == 0  # nothing left to do

    # what the study publishes rebuilds the same paper in a fresh checkout, claims included
    proc = snakemake(work, "publish")
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = claims_workflow(tmp_path / "fresh")
    shutil.copy2(work / paths.CLAIM_REGISTRY, fresh / paths.CLAIM_REGISTRY)  # committed with the configs
    with tarfile.open(work / paths.PUBLISHED) as tar:
        tar.extractall(fresh, filter="data")
    proc = snakemake(fresh, "--configfile", paths.RESOLVED_CONFIG, "--config", "from_tables=True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (fresh / paths.RUNS_ROOT).exists()
    for generated in sorted((work / paths.GENERATED).rglob("*.tex")):
        rebuilt = fresh / generated.relative_to(work)
        assert rebuilt.read_text() == generated.read_text(), generated.name


def test_a_violated_control_fails_the_build_naming_the_cell(tmp_path):
    """A run labelled zeros that is not zeros (the pipeline broken) learns beyond chance:
    the build stops at the control, naming the cell, and no paper is made."""
    study = copy.deepcopy(TINY)
    study["grid"]["initializers"] = [{"name": "he_normal", "label": "zeros"}]
    study["training"]["epochs"] = 4
    work = copy_workflow(tmp_path, study)
    proc = snakemake(work)
    assert proc.returncode != 0
    assert "symmetry control violated: digits/mlp/relu/adam/d2: " in proc.stderr
    assert not (work / paths.PAPER_PDF).exists()
