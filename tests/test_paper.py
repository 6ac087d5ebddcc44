"""The paper's generated text from a synthetic study: well-formed macros, each defined
once, that typeset the analysis tables' values; escaped labels; Styler tables whose
bold cell is the one best initializer; and a paper that compiles with them.

The study runs through the verbs as the workflow runs it (``stats``, ``analyze``,
``theory``, then ``typeset``), so the paper reads the CSV tables the analysis wrote.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from scipy import stats as scipy_stats

from initstudy import cli
from initstudy.analysis import sampling, stats, theory
from initstudy.analysis.accuracy import accuracy_table
from initstudy.analysis.best import best_initializers
from initstudy.analysis.depth import depth_frame
from initstudy.analysis.overview import overview
from initstudy.core.table_io import read_table
from initstudy.paper import latex, macros as paper_macros, tables as paper_tables, typeset
from initstudy.study import config as study_config
from initstudy.study.paths import ANALYZED_TABLES, LATEX_TABLES, STATS_TABLES, THEORY_TABLES
from test_analysis_tables import (
    INITIALIZERS,
    analysis,
    chance_vs_raw_runs,
    degenerate_study,
    synthetic_study,
)
from test_guideline import guideline_example

PAPER = Path(__file__).resolve().parents[1] / "paper"
CUSTOM = "initstudy.inits.custom:"
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
LATEX_COMMANDS = {"LaTeX", "TeX", "S", "Large", "LARGE", "Huge", "IfFileExists", "Delta"}
MACRO = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$")


def parse_macros(text: str) -> dict[str, str]:
    """The macros of a ``variables.tex`` by name; fails on a malformed or repeated one."""
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


def body_rows(latex_text: str) -> list[list[str]]:
    """The cells of a booktabs table's body (between midrule and bottomrule)."""
    body = latex_text.split("\\midrule\n")[1].split("\\bottomrule")[0]
    return [[c.strip() for c in row.split(" & ")] for row in body.split("\\\\\n") if row.strip()]


@pytest.fixture(scope="module")
def config() -> dict:
    return study_config.check(copy.deepcopy(CONFIG))


@pytest.fixture(scope="module")
def study():
    return synthetic_study()


@pytest.fixture(scope="module")
def audit_table() -> pd.DataFrame:
    return sampling.audit(["he_normal", CUSTOM + "ChannelsFirstHe"], shapes=[(64, 64), (3, 3, 16, 32)])


@pytest.fixture(scope="module")
def theory_table(config, study) -> pd.DataFrame:
    return theory.theory_tables(config, study.signal)["theory"]


@pytest.fixture(scope="module")
def built(study, audit_table, tmp_path_factory) -> Path:
    """A study folder: the tidy tables, config and provenance, then what the verbs
    ``stats``, ``analyze`` and ``theory`` write, and a copy of paper/ with generated/
    written by ``typeset``."""
    root = tmp_path_factory.mktemp("study")
    for name in ANALYZED_TABLES:
        getattr(study, name).to_parquet(root / f"{name}.parquet")
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    (root / "provenance.json").write_text(json.dumps(PROVENANCE))
    (root / "audit.csv").write_text(audit_table.to_csv(index=False))
    tidy = [f"--{name}={root / name}.parquet" for name in ANALYZED_TABLES]
    verbs = [
        ["tune", f"--runs={root / 'runs.parquet'}", f"--config={root / 'config.yaml'}",
         f"--tuning-out={root / 'analysis' / 'tuning.csv'}", f"--compared-out={root / 'compared_runs.parquet'}"],
        ["stats", f"--runs={root / 'compared_runs.parquet'}", f"--out-dir={root / 'stats'}"],
        ["analyze", *tidy, f"--compared={root / 'compared_runs.parquet'}", f"--stats-dir={root / 'stats'}",
         f"--config={root / 'config.yaml'}", f"--out-dir={root / 'analysis'}"],
        ["theory", f"--config={root / 'config.yaml'}", f"--signal={root / 'signal.parquet'}",
         f"--out-dir={root / 'analysis'}"],
    ]
    for argv in verbs:
        assert cli.main(argv) == 0, argv
    paper = root / "paper"
    shutil.copytree(PAPER, paper, ignore=shutil.ignore_patterns("build", "generated"))
    assert cli.main([
        "typeset", f"--runs={root / 'runs.parquet'}", f"--analysis-dir={root / 'analysis'}",
        f"--stats-dir={root / 'stats'}", f"--audit={root / 'audit.csv'}",
        f"--theory={root / 'analysis' / 'theory.csv'}", f"--config={root / 'config.yaml'}",
        f"--provenance={root / 'provenance.json'}", f"--out-dir={paper / 'generated'}",
    ]) == 0
    return root


@pytest.fixture(scope="module")
def generated(built) -> Path:
    return built / "paper" / "generated"


@pytest.fixture(scope="module")
def tables(built) -> dict[str, pd.DataFrame]:
    """The analysis tables as the verbs wrote them."""
    return {path.stem: read_table(path) for path in (built / "analysis").glob("*.csv")}


@pytest.fixture(scope="module")
def macros(generated) -> dict[str, str]:
    return parse_macros((generated / "variables.tex").read_text())


@pytest.fixture(scope="module")
def inputs(study, config, audit_table, theory_table) -> typeset.Inputs:
    """The typeset inputs of the synthetic study, in memory (statistics with the
    resamples the ``stats`` verb uses)."""
    study = study._replace(stats=stats.compute_all(study.runs, diverged_policy="chance"))
    return typeset.Inputs(runs=study.runs, analysis=analysis(study), audit=audit_table, theory=theory_table,
                          policy="chance", config=config, provenance=PROVENANCE)


# ------------------------------------------------------------------ LaTeX helpers


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
    assert latex.macro_name(*parts) == name


def test_number_words_and_bad_macro_names():
    assert [latex.number_words(n) for n in (0, 13, 40, 99, 101, 2_000_005)] == [
        "Zero", "Thirteen", "Forty", "NinetyNine", "OneHundredOne", "TwoMillionFive"]
    with pytest.raises(ValueError, match="no macro name"):
        latex.macro_name("-", "_")


def test_escape_latex():
    assert latex.escape_latex("he_normal") == r"he\_normal"
    assert latex.escape_latex("a&b%c$d#e{f}g~h^i\\") == (
        r"a\&b\%c\$d\#e\{f\}g\textasciitilde{}h\textasciicircum{}i\textbackslash{}"
    )


def test_numbers_and_values():
    assert latex.num(3) == r"\num{3}" and latex.num(2.0) == r"\num{2}" and latex.num(0.001) == r"\num{0.001}"
    assert latex.num(1.23456, 2) == r"\num{1.23}"
    assert latex.percent(0.1234) == r"\qty{12.3}{\percent}"
    assert latex.latex_value([2, 8, 32]) == r"\numlist{2;8;32}"
    assert latex.latex_value({"adam": 0.001}) == r"adam: \num{0.001}"
    assert latex.latex_value(True) == "yes" and latex.latex_value(["a_b", 1]) == r"a\_b, \num{1}"
    assert latex.p_cell(np.nan) == "--" and latex.p_cell(0.012345) == r"\num{0.0123}"
    assert latex.breakable(r"random\_normal-stddev0.01") == (
        r"random\_\allowbreak{}normal-\allowbreak{}stddev0.01")


def test_sparsify_blanks_what_repeats_the_row_above():
    frame = pd.DataFrame({"a": ["x", "x", "x", "y"], "b": ["p", "p", "q", "q"], "c": [1, 2, 3, 4]})
    out = latex.sparsify(frame, ["a", "b"])
    assert out[["a", "b"]].values.tolist() == [["x", "p"], ["", ""], ["", "q"], ["y", "q"]]


def test_merge_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="twice"):
        latex.merge_macros({"A": "1"}, {"A": "2"})
    with pytest.raises(ValueError, match="letters only"):
        latex.merge_macros({"A1": "1"})
    text = latex.macro_file({"A": "1", "B": r"\num{2}"}, "me")
    assert text.splitlines() == ["% Generated by me from the study's tables; do not edit.",
                                 r"\newcommand{\A}{1}", r"\newcommand{\B}{\num{2}}"]


# ------------------------------------------------------------------------- macros


def test_counts_match_the_runs(study, macros):
    runs = study.runs
    assert macros["NumRuns"] == rf"\num{{{len(runs)}}}"
    assert macros["NumSeeds"] == rf"\num{{{runs['seed'].nunique()}}}"
    assert macros["NumInitializers"] == rf"\num{{{len(INITIALIZERS)}}}"
    assert macros["NumEpochs"] == r"\num{10}"
    assert macros["NumDiverged"] == rf"\num{{{int(runs['diverged'].sum())}}}" == r"\num{2}"
    assert macros["NumDivergedInitRandomNormalStddevZeroPointZeroOne"] == r"\num{1}"
    assert macros["NumDivergedInitHeNormal"] == r"\num{0}"
    hours = runs["wall_time_s"].sum() / 3600
    assert macros["TotalComputeHours"] == rf"\qty{{{hours:.2f}}}{{\hour}}"
    assert macros["DepthList"] == r"\numlist{2;8;32}"
    assert macros["NumPacks"] == r"\num{6}" and macros["NumDeterministicRuns"] == rf"\num{{{len(runs)}}}"


def test_best_initializer_macros_are_best_csv(tables, macros):
    """``BestInit...`` names the initializer with the highest policy-scored mean."""
    best = tables["best"]
    assert len(best) == 6
    for row in best.itertuples():
        name = latex.macro_name("BestInit", row.activation, "Depth", row.depth)
        assert macros[name] == latex.escape_latex(row.initializer)
        assert macros[name + "Accuracy"] == rf"\qty{{{100 * row.mean:.1f}}}{{\percent}}"
    assert macros["BestInitReluDepthThirtyTwo"] == r"he\_normal"
    assert macros["NumComparisons"] == r"\num{6}"
    wins = best["initializer"].value_counts()
    assert macros["MostFrequentBestInit"] == latex.escape_latex(wins.idxmax())
    assert macros["MostFrequentBestInitWins"] == rf"\num{{{wins.max()}}}"


def test_labels_and_provenance_are_escaped(macros):
    assert macros["InitializerList"] == (
        r"glorot\_uniform, he\_normal, lecun\_normal, random\_normal-stddev0.01"
    )
    assert macros["HardwareHost"] == r"node\_01"
    assert macros["HardwareCpu"] == r"x86\_64 (16 cores) \& more"
    assert macros["GitCommitShort"] == r"\texttt{0123456789ab}"
    dirty = paper_macros.provenance_macros({**PROVENANCE, "git_commit": "0123456789abcdef-dirty"})
    assert dirty["GitCommitShort"] == r"\texttt{0123456789ab-dirty}"
    assert macros["VersionTensorflowCpu"] == "2.21.0"
    assert macros["TrainingLearningRateAdam"] == r"\num{0.001}"
    assert macros["StatsConfidence"] == rf"\num{{{round(100 * stats.CONFIDENCE)}}}"


def test_minimal_p_values_are_typeset(macros):
    """The smallest p the macros promise is what SciPy returns for the most extreme data:
    all seeds of one sign (Wilcoxon), every block ranking the initializers alike (Friedman)."""
    n, k = 3, len(INITIALIZERS)
    assert macros["NumPairedSeeds"] == rf"\num{{{n}}}"
    assert macros["WilcoxonMinP"] == rf"\num{{{scipy_stats.wilcoxon([0.1, 0.2, 0.3]).pvalue:g}}}"
    assert macros["HolmFamilySize"] == r"\num{6}" and macros["HolmMinP"] == r"\num{1}"
    blocks = [np.arange(k) + 0.0 for _ in range(n)]
    friedman_p = scipy_stats.friedmanchisquare(*np.array(blocks).T).pvalue
    assert macros["FriedmanMinP"] == rf"\num{{{friedman_p:.4f}}}"
    assert macros["WilcoxonSeedsNeeded"] == r"\num{6}" and macros["HolmSeedsNeeded"] == r"\num{8}"


def test_power_verdict_follows_the_seeds(tables, macros):
    assert macros["PowerVerdict"] == paper_macros.POWER_VERDICT[False]  # 3 seeds: Holm cannot reject
    assert "no pairwise difference can be significant" in macros["PowerVerdict"]
    three = paper_macros.power_macros(tables["power"].iloc[0])
    assert three["PowerVerdict"] == paper_macros.POWER_VERDICT[False]
    ten = analysis(synthetic_study(depths=(2,), seeds=tuple(range(10)), epochs=2))
    assert paper_macros.power_macros(ten["power"].iloc[0])["PowerVerdict"] == paper_macros.POWER_VERDICT[True]


def test_stats_macros_count_the_tables(study, macros):
    pairwise = study.stats["pairwise"]
    assert macros["DivergedPolicyName"] == r"\texttt{chance}"
    assert macros["DivergedPolicy"] == paper_macros.POLICY_TEXT["chance"]
    assert macros["StatsAlpha"] == r"\num{0.05}" and macros["StatsConfidence"] == r"\num{95}"
    assert macros["StatsBootstrapResamples"] == r"\num{9999}"
    assert macros["NumCells"] == r"\num{6}" and macros["NumPairs"] == rf"\num{{{6 * 6}}}"
    assert macros["NumPairwiseTests"] == rf"\num{{{pairwise['p_value'].notna().sum()}}}"
    assert macros["NumPairwiseRejected"] == r"\num{0}"
    assert macros["NumUnanimousPairs"] == rf"\num{{{(pairwise['rank_biserial'].abs() == 1).sum()}}}"
    assert macros["DistortionLinear"] == r"\num{1}"
    exclude = paper_macros.stats_macros(overview_row(study), "exclude", 0.01)
    assert exclude["DivergedPolicyName"] == r"\texttt{exclude}" and exclude["StatsAlpha"] == r"\num{0.01}"


def overview_row(study) -> pd.Series:
    return overview(study.stats["friedman"], study.stats["pairwise"], best_initializers(study.stats["bootstrap"])).iloc[0]


def test_depth_macros_and_table(tables, macros):
    frame, summary = tables["depth"], tables["depth_summary"].set_index("which")
    assert macros["SpreadMinDepth"] == latex.num(summary.loc["MinDepth", "mean_spread"], 1)
    assert macros["SpreadMaxDepth"] == latex.num(summary.loc["MaxDepth", "mean_spread"], 1)
    shallow, deep = summary["mean_spread"]
    assert macros["SpreadChange"] == ("grows" if deep > shallow else "shrinks")
    assert macros["NumSettings"] == r"\num{2}"
    assert macros["NumFriedmanRejectedMaxDepth"] == rf"\num{{{summary.loc['MaxDepth', 'friedman_rejected']}}}"
    rows = body_rows(paper_tables.depth_table(frame))
    assert [r[0] for r in rows] == ["relu", "", "", "tanh", "", ""]
    row = frame[(frame["activation"] == "tanh") & (frame["depth"] == 8)].iloc[0]
    assert rows[4][1] == r"\num{8}" and rows[4][4] == latex.num(row["spread"], 1)
    assert rows[4][5] == latex.escape_latex(row["best"])
    # the Best column is best.csv's, cell by cell
    best = tables["best"].set_index(["activation", "depth"])["initializer"]
    assert [r[5] for r in rows] == [latex.escape_latex(best[key])
                                    for key in zip(frame["activation"], frame["depth"])]


def test_guideline_macros_and_table():
    frame = guideline_example()
    macros = paper_macros.guideline_macros(frame, {"stats": {"alpha": 0.05, "equivalence_margin": 0.02}})
    assert macros["NumGuidelineRows"] == r"\num{7}" and macros["NumGuidelineActivations"] == r"\num{6}"
    assert macros["NumGuidelineAgree"] == r"\num{3}" and macros["NumGuidelineDisagree"] == r"\num{1}"
    assert macros["NumGuidelineUndecided"] == r"\num{1}" and macros["NumGuidelineUntested"] == r"\num{2}"
    assert macros["EquivalenceMargin"] == r"\num{0.02}" and macros["EquivalenceMarginPoints"] == r"\num{2}"
    assert macros["EquivalenceConfidence"] == r"\num{90}"
    text = paper_tables.guideline_table(frame)
    rows = body_rows(text)
    relu = [r for r in rows if r[1] in ("2-4", "30-50") and (r[0] == "relu" or r[0] == "")]
    assert relu[0][0] == "relu" and relu[1][0] == ""  # the activation is not repeated
    assert relu[0][2] == r"he\_\allowbreak{}normal" and relu[0][4] == r"he\_\allowbreak{}normal"
    row = frame.set_index(["activation", "depths"]).loc[("relu", "2-4")]
    assert relu[0][3] == latex.num(100 * row["best_mean"], 1)
    assert relu[0][6] == (rf"{latex.num(100 * row['mean_diff'], 1)}\newline [{latex.num(100 * row['ci_low'], 1)}, "
                          rf"{latex.num(100 * row['ci_high'], 1)}]")
    assert relu[0][7] == "2/0 of 2" and relu[0][8] == "agree"
    tanh = next(r for r in rows if r[0] == "tanh")
    assert tanh[8] == "no decision"
    selu = next(r for r in rows if r[0] == "selu")
    assert selu[4] == "no LeCun" and selu[6] == "--" and selu[7] == "--" and selu[8] == "not tested"
    gelu = next(r for r in rows if r[0] == "gelu")
    assert gelu[4] == "--" and gelu[8] == "--"
    assert r"\multicolumn{3}{c}{Textbook}" in text and r"\multicolumn{2}{c}{Best}" in text


def test_guideline_table_reads_the_csv(tables, macros):
    text = paper_tables.guideline_table(tables["guideline"])
    rows = {r[0]: r for r in body_rows(text)}
    assert set(rows) <= {"relu", "tanh", ""}
    for row, cells in zip(tables["guideline"].itertuples(), body_rows(text)):
        assert cells[2] == latex.breakable(latex.escape_latex(row.best))
        assert cells[8] == row.decision
    assert macros["EquivalenceMargin"] == latex.num(tables["guideline"]["margin"].iloc[0])


def test_power_effect_macros(tables, macros):
    """The power of the design and of the comparisons as they were, per effect size."""
    effects = tables["power_effects"]
    assert macros["PowerEffects"] == r"\numlist{0.5;1;1.5}"
    design = [latex.percent(v) for v in effects["power_design"]]
    assert macros["PowerDesign"] == f"{design[0]}, {design[1]} and {design[2]}"
    assert macros["PowerDesignDzOne"] == design[1] and macros["PowerRealisedDzOnePointFive"] == latex.percent(
        effects["power_mean"].iloc[2])
    assert macros["PowerLevel"] == rf"\num{{{0.05 / 6:.2g}}}"
    assert macros["NumNonzeroMax"] == r"\num{3}" and macros["NumCompared"] == r"\num{36}"


def test_signal_macros_and_table(tables, macros):
    trainability, frame = tables["trainability"], tables["spearman"]
    rho, p = scipy_stats.spearmanr(trainability["distortion"], trainability["score"])
    assert macros["SignalRho"] == latex.num(rho, 2) and macros["SignalRhoN"] == rf"\num{{{len(trainability)}}}"
    assert macros["SignalRhoP"] == rf"\num{{{p:.3g}}}"
    per_setting = frame.loc[frame["setting"] != "all", "rho"]
    assert macros["SignalRhoMin"] == latex.num(per_setting.min(), 2)
    assert macros["SignalRhoMax"] == latex.num(per_setting.max(), 2)
    rows = body_rows(paper_tables.signal_table(frame))
    assert [r[0] for r in rows] == ["relu", "tanh", "all"]
    assert rows[-1][:2] == ["all", rf"\num{{{len(trainability)}}}"]


def test_weights_macros(macros):
    assert macros["WeightsSeed"] == r"\num{0}" and macros["WeightsDepth"] == r"\numlist{32}"


def test_theory_and_audit_macros_are_in_variables(macros, config):
    assert macros["TheoryWidth"] == r"\num{64}" and macros["TheoryDepth"] == r"\num{32}"
    assert macros["AuditChannelsFirstList"] == "ChannelsFirstHe"
    assert macros["AuditNumFail"] == r"\num{1}" and macros["AuditNumPass"] == r"\num{3}"


# ------------------------------------------------------------------------- tables


def test_results_table(study, tables):
    text = paper_tables.results_table(tables["accuracy"])
    assert text.count("\\toprule") == text.count("\\bottomrule") == 1
    rows = body_rows(text)
    assert len(rows) == 2 * len(INITIALIZERS)
    assert [r[0] for r in rows] == ["relu", "", "", "", "tanh", "", "", ""]
    assert rows[1][1] == r"he\_normal"
    runs = study.runs
    cell = runs[(runs["activation"] == "relu") & (runs["initializer"] == "he_normal")
                & (runs["depth"] == 8)]["test_accuracy"] * 100
    assert rows[1][3] == rf"\bfseries \num{{{cell.mean():.1f} \pm {cell.std():.1f}}}"
    # the diverged run: scored at chance, marked with a dagger and its count
    diverged = runs[(runs["activation"] == "tanh") & (runs["initializer"] == "random_normal-stddev0.01")
                    & (runs["depth"] == 32)]
    scored = diverged["test_accuracy"].where(~diverged["diverged"], 0.1) * 100
    assert rows[7][4] == rf"\num{{{scored.mean():.1f} \pm {scored.std():.1f}}}\,\dag{{}}1"


def bold_cells(text: str, depths: list) -> set[tuple[str, str, int]]:
    """(activation, initializer, depth) of every bold cell of a results table."""
    bold, activation = set(), None
    for row in body_rows(text):
        activation = row[0] or activation
        bold |= {(activation, row[1], depth) for depth, cell in zip(depths, row[2:]) if "\\bfseries" in cell}
    return bold


def test_results_table_bolds_exactly_the_best_initializer(tables):
    text = paper_tables.results_table(tables["accuracy"])
    best = {(r.activation, latex.escape_latex(r.initializer), r.depth) for r in tables["best"].itertuples()}
    assert bold_cells(text, [2, 8, 32]) == best


def test_under_chance_the_paper_says_the_policy_best_everywhere():
    """``a`` has the highest raw mean but diverges; scored at chance ``b`` is best: the
    results table bolds ``b``, the macros and the depth table name ``b``."""
    runs = chance_vs_raw_runs((2, 4))
    assert runs.groupby("initializer")["test_accuracy"].mean().idxmax() == "a"
    tables = stats.compute_all(runs, diverged_policy="chance", n_resamples=199)
    best = best_initializers(tables["bootstrap"])
    text = paper_tables.results_table(accuracy_table(runs, tables["bootstrap"], "chance"))
    assert bold_cells(text, [2, 4]) == {("relu", "b", 2), ("relu", "b", 4)}
    row = overview(tables["friedman"], tables["pairwise"], best).iloc[0]
    macros = paper_macros.best_macros(best, row)
    assert macros["BestInitReluDepthTwo"] == macros["BestInitReluDepthFour"] == "b"
    assert macros["BestInitReluDepthTwoAccuracy"] == r"\qty{90.0}{\percent}"
    assert macros["MostFrequentBestInit"] == "b" and macros["MostFrequentBestInitWins"] == r"\num{2}"
    depth = paper_tables.depth_table(depth_frame(tables["friedman"], tables["bootstrap"]))
    assert [r[-1] for r in body_rows(depth)] == ["b", "b"]


def test_grid_and_software_tables(config):
    grid = paper_tables.grid_table(CONFIG)
    assert r"random\_normal-stddev0.01" in grid and r"\numlist{2;8;32}" in grid
    assert r"adam: \num{0.001}" in grid
    software = paper_tables.software_table(PROVENANCE)
    assert "\\begin{longtable}" in software and r"tensorflow\_cpu & 2.21.0" in software


# ------------------------------------------------------------------------ typeset


def test_load_provenance_from_record(tmp_path):
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"provenance": PROVENANCE}))
    assert typeset.load_provenance(record) == PROVENANCE
    assert typeset.load_provenance({"provenance": PROVENANCE}) == PROVENANCE
    assert typeset.load_provenance(PROVENANCE) == PROVENANCE


def test_the_verbs_write_every_table_and_output(built, generated):
    assert sorted(p.stem for p in (built / "stats").iterdir()) == sorted(STATS_TABLES)
    assert {*THEORY_TABLES, *typeset.ANALYSIS_TABLES} <= {p.stem for p in (built / "analysis").iterdir()}
    names = ["variables.tex", *(f"tables/{name}.tex" for name in LATEX_TABLES)]
    assert sorted(str(p.relative_to(generated)) for p in generated.rglob("*.tex")) == sorted(names)
    for name in names:
        assert (generated / name).stat().st_size > 0


def test_typeset_from_files_equals_typeset_in_memory(generated, inputs):
    """What the verbs wrote is what typeset makes of the tables computed in memory: the
    CSV round trip loses nothing the paper shows."""
    texts = typeset.texts(inputs)
    assert list(texts) == ["variables.tex", *(f"tables/{name}.tex" for name in LATEX_TABLES)]
    for name, text in texts.items():
        assert (generated / name).read_text() == text, name


def test_every_macro_is_defined_once(inputs, macros):
    text = typeset.variables(inputs)
    names = re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", text)
    assert len(names) == len(set(names)) == len(macros)


def test_paper_macros_are_all_defined(macros):
    """Every capitalised macro the paper's text uses, bar LaTeX's own, is generated."""
    text = "\n".join(p.read_text() for p in [PAPER / "main.tex", *PAPER.glob("sections/*.tex")])
    used = set(re.findall(r"\\([A-Z][A-Za-z]*)", text)) - LATEX_COMMANDS
    assert used and used <= set(macros), used - set(macros)


def placeholder_figures(paper: Path) -> None:
    """A blank PDF for every figure the paper includes (the figures are tested elsewhere)."""
    text = "\n".join(p.read_text() for p in [paper / "main.tex", *paper.glob("sections/*.tex")])
    for name in set(re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{(generated/figures/[^}]+)\}", text)):
        path = paper / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Figure(figsize=(6, 3)).savefig(path)


def assert_compiles(paper: Path, max_overfull: float | None = 5) -> None:
    """latexmk makes the PDF without an error, an undefined reference, a float too large
    or (unless ``max_overfull`` is None) a line more than ``max_overfull`` pt too wide."""
    result = subprocess.run(
        ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-outdir=build", "main.tex"],
        cwd=paper, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (paper / "build" / "main.pdf").stat().st_size > 0
    log = (paper / "build" / "main.log").read_text(errors="replace")
    assert "undefined references" not in log
    assert "Float too large" not in log
    if max_overfull is not None:
        overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
        assert max(overfull, default=0) < max_overfull, overfull




@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_paper_compiles(built):
    paper = built / "paper"
    placeholder_figures(paper)
    assert_compiles(paper)


@pytest.mark.slow  # latexmk compiles each
@pytest.mark.parametrize("policy", ["chance", "exclude"])
def test_degenerate_studies_still_give_every_macro_and_table(policy, config, audit_table, theory_table,
                                                              tmp_path):
    """One initializer (no pair to test), or every run of the deepest cells diverged and
    excluded (no rank, no score): the paper still gets every macro and table, and
    compiles with them."""
    study = degenerate_study(policy)
    inputs = typeset.Inputs(runs=study.runs, analysis=analysis(study), audit=audit_table, theory=theory_table,
                            policy=policy, config=config, provenance=PROVENANCE)
    texts = typeset.texts(inputs)
    macros = parse_macros(texts["variables.tex"])
    assert {"PowerVerdict", "SignalRho", "SpreadChange", "BestInitReluDepthTwo"} <= set(macros)
    for name, text in texts.items():  # what LaTeX cannot typeset
        assert not re.search(r"\\num\{[^}]*nan", text, re.IGNORECASE), name
    if policy == "chance":
        assert macros["HolmFamilySize"] == r"\num{1}" and macros["MostFrequentBestInit"] == r"he\_normal"
        assert macros["FriedmanMinP"] == "--"  # a Friedman test needs two initializers at least
    else:
        assert "BestInitReluDepthFour" not in macros  # no score, no best
        assert macros["SpreadMaxDepth"] == macros["SpreadChange"] == "--"
        assert macros["DivergedPolicyName"] == r"\texttt{exclude}"
    for name in LATEX_TABLES:
        assert "\\toprule" in texts[f"tables/{name}.tex"], name
    if shutil.which("latexmk"):
        paper = tmp_path / "paper"
        shutil.copytree(PAPER, paper, ignore=shutil.ignore_patterns("build", "generated"))
        typeset.write(inputs, paper / "generated")
        placeholder_figures(paper)
        # layout aside: here the long random_normal-stddev0.01 is a runner-up, and the
        # guideline table's "l" columns do not break it
        assert_compiles(paper, max_overfull=None)
