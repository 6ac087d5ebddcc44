"""Generated LaTeX from a synthetic tidy table: well-formed macros that match the data,
escaped labels, Styler tables, and a paper that compiles with them."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from initstudy import config as study_config
from initstudy import figures, report
from test_figures import INITIALIZERS, synthetic_tidy

PAPER = Path(__file__).resolve().parents[1] / "paper"
CONFIG = {
    "grid": {
        "datasets": ["mnist1d"],
        "architectures": ["mlp"],
        "activations": ["relu", "tanh"],
        "optimizers": ["adam"],
        "depths": [2, 8, 32],
        "initializers": [
            "he_normal",
            "glorot_uniform",
            {"name": "random_normal", "stddev": 0.01},
            "lecun_normal",
        ],
        "seeds": [0, 1, 2],
    },
    "training": {
        "epochs": 10,
        "batch_size": 128,
        "width": 64,
        "filters": 16,
        "learning_rate": {"adam": 0.001},
        "validation_split": 0.1,
        "pack_size": 4,
    },
}
PROVENANCE = {
    "initstudy": "0.1.0",
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "packages": {"keras": "3.15.1", "tensorflow_cpu": "2.21.0", "numpy": "2.4.6"},
    "python": "3.11.9",
    "host": "node_01",
    "platform": "Linux-6.1-x86_64",
    "cpu": "x86_64 (16 cores) & more",
    "devices": ["CPU:0"],
    "keras_backend": "tensorflow",
    "deterministic": True,
    "created": "2026-11-23T16:00:00+00:00",
}
#: Capitalised commands of LaTeX itself that the paper may use.
LATEX_COMMANDS = {"LaTeX", "TeX", "S", "Large", "LARGE", "Huge"}
MACRO = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$")


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return synthetic_tidy()


@pytest.fixture(scope="module")
def macros(tidy) -> dict[str, str]:
    """The macros of ``variables.tex`` by name; fails on a malformed or repeated one."""
    text = report.variables(tidy, study_config.check(copy.deepcopy(CONFIG)), PROVENANCE)
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("%"):
            continue
        match = MACRO.match(line)
        assert match, f"malformed macro line: {line!r}"
        name, body = match.groups()
        assert name not in found, f"\\{name} defined twice"
        assert body.count("{") == body.count("}"), f"unbalanced braces in \\{name}"
        found[name] = body
    return found


@pytest.mark.parametrize(
    "parts, name",
    [
        (("BestInit", "relu", "Depth", 50), "BestInitReluDepthFifty"),
        (("Num", "Diverged", 128), "NumDivergedOneHundredTwentyEight"),
        (("Version", "tensorflow_cpu"), "VersionTensorflowCpu"),
        (("Init", "random_normal-stddev0.01"), "InitRandomNormalStddevZeroPointZeroOne"),
        (("Data", "mnist1d"), "DataMnistOneD"),
        (("Depth", 1000), "DepthOneThousand"),
    ],
)
def test_macro_name(parts, name):
    assert report.macro_name(*parts) == name


def test_escape_latex():
    assert report.escape_latex("he_normal") == r"he\_normal"
    assert report.escape_latex("a&b%c$d#e{f}g~h^i\\") == (
        r"a\&b\%c\$d\#e\{f\}g\textasciitilde{}h\textasciicircum{}i\textbackslash{}"
    )


def test_merge_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="twice"):
        report.merge_macros({"A": "1"}, {"A": "2"})
    with pytest.raises(ValueError, match="letters only"):
        report.merge_macros({"A1": "1"})


def test_counts_match_the_frame(tidy, macros):
    runs = tidy.drop_duplicates("run_id")
    assert macros["NumRuns"] == rf"\num{{{tidy['run_id'].nunique()}}}"
    assert macros["NumSeeds"] == rf"\num{{{tidy['seed'].nunique()}}}"
    assert macros["NumInitializers"] == rf"\num{{{len(INITIALIZERS)}}}"
    assert macros["NumEpochs"] == rf"\num{{{tidy['epoch'].max()}}}"
    assert macros["NumDiverged"] == rf"\num{{{int(runs['diverged'].sum())}}}"
    assert macros["NumDivergedInitRandomNormalStddevZeroPointZeroOne"] == r"\num{1}"
    assert macros["NumDivergedInitHeNormal"] == r"\num{0}"
    hours = runs["wall_time_s"].sum() / 3600
    assert macros["TotalComputeHours"] == rf"\qty{{{hours:.2f}}}{{\hour}}"
    assert macros["DepthList"] == r"\numlist{2;8;32}"


def test_best_initializer_is_the_argmax(tidy, macros):
    runs = tidy.drop_duplicates("run_id")
    means = runs.groupby(["activation", "depth", "initializer"])["test_accuracy"].mean()
    for (activation, depth), group in means.groupby(level=["activation", "depth"]):
        best = group.idxmax()[2]
        name = report.macro_name("BestInit", activation, "Depth", depth)
        assert macros[name] == report.escape_latex(best)
        assert macros[name + "Accuracy"] == rf"\qty{{{100 * group.max():.1f}}}{{\percent}}"
    assert macros["BestInitReluDepthThirtyTwo"] == r"he\_normal"
    assert macros["NumComparisons"] == r"\num{6}"


def test_labels_and_provenance_are_escaped(macros):
    assert macros["InitializerList"] == (
        r"glorot\_uniform, he\_normal, lecun\_normal, random\_normal-stddev0.01"
    )
    assert macros["HardwareHost"] == r"node\_01"
    assert macros["HardwareCpu"] == r"x86\_64 (16 cores) \& more"
    assert macros["GitCommitShort"] == r"\texttt{0123456789ab}"
    dirty = report.provenance_macros({**PROVENANCE, "git_commit": "0123456789abcdef-dirty"})
    assert dirty["GitCommitShort"] == r"\texttt{0123456789ab-dirty}"
    assert macros["VersionTensorflowCpu"] == "2.21.0"
    assert macros["TrainingLearningRateAdam"] == r"\num{0.001}"
    assert macros["CILevel"] == rf"\num{{{figures.CI_LEVEL}}}"


def _body_rows(latex: str) -> list[list[str]]:
    """The cells of a booktabs table's body (between midrule and bottomrule)."""
    body = latex.split("\\midrule\n")[1].split("\\bottomrule")[0]
    return [[c.strip() for c in row.split(" & ")] for row in body.split("\\\\\n") if row.strip()]


def test_results_table(tidy):
    latex = report.results_table(tidy)
    assert latex.count("\\toprule") == latex.count("\\bottomrule") == 1
    rows = _body_rows(latex)
    assert len(rows) == 2 * len(INITIALIZERS)
    assert [r[0] for r in rows] == ["relu", "", "", "", "tanh", "", "", ""]
    assert rows[1][1] == r"he\_normal"
    runs = tidy.drop_duplicates("run_id")
    cell = runs[(runs["activation"] == "relu") & (runs["initializer"] == "he_normal")
                & (runs["depth"] == 8)]["test_accuracy"] * 100
    assert rows[1][3] == rf"\bfseries \num{{{cell.mean():.1f} \pm {cell.std():.1f}}}"
    # the diverged run: one seed left out, marked with a dagger and its count
    assert rows[7][4].endswith(r"\,\dag{}1")


def test_grid_and_software_tables():
    grid = report.grid_table(CONFIG)
    assert r"random\_normal-stddev0.01" in grid and r"\numlist{2;8;32}" in grid
    assert r"adam: \num{0.001}" in grid
    software = report.software_table(PROVENANCE)
    assert "\\begin{longtable}" in software and r"tensorflow\_cpu & 2.21.0" in software


def test_load_provenance_from_record(tmp_path):
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"provenance": PROVENANCE}))
    assert report.load_provenance(record) == PROVENANCE
    assert report.load_provenance({"provenance": PROVENANCE}) == PROVENANCE
    assert report.load_provenance(PROVENANCE) == PROVENANCE


@pytest.fixture(scope="module")
def paper(tidy, tmp_path_factory) -> Path:
    """A copy of paper/ with generated/ written by ``report.main`` and ``figures.main``."""
    root = tmp_path_factory.mktemp("build")
    tidy.to_parquet(root / "runs.parquet")
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    paper = root / "paper"
    shutil.copytree(PAPER, paper, ignore=shutil.ignore_patterns("build", "generated"))
    generated = paper / "generated"
    report.main(root / "runs.parquet", root / "config.yaml", {"provenance": PROVENANCE}, generated)
    figures.main(root / "runs.parquet", generated / "figures")
    return paper


def test_main_writes_every_output(paper):
    for name in ("variables.tex", "tables/grid.tex", "tables/software.tex", "tables/results.tex"):
        assert (paper / "generated" / name).stat().st_size > 0


def test_paper_macros_are_all_defined(macros):
    """Every capitalised macro the paper's text uses, bar LaTeX's own, is generated."""
    text = "\n".join(p.read_text() for p in [PAPER / "main.tex", *PAPER.glob("sections/*.tex")])
    used = set(re.findall(r"\\([A-Z][A-Za-z]*)", text)) - LATEX_COMMANDS
    assert used and used <= set(macros), used - set(macros)


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_paper_compiles(paper):
    result = subprocess.run(
        ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-outdir=build", "main.tex"],
        cwd=paper, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (paper / "build" / "main.pdf").stat().st_size > 0
    log = (paper / "build" / "main.log").read_text(errors="replace")
    assert "undefined references" not in log
