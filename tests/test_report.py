"""Generated LaTeX from synthetic tables: well-formed macros that match the data,
escaped labels, Styler tables, the empirical guideline and the power statements, and a
paper that compiles with them."""

from __future__ import annotations

import copy
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as scipy_stats

from initstudy.study import config as study_config
from initstudy import figures
from initstudy import report
from initstudy.analysis import stats
from test_figures import INITIALIZERS, synthetic_signal, synthetic_stats, synthetic_tidy, synthetic_weights

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
def tables(tidy) -> report.Tables:
    return report.Tables(
        tidy=tidy,
        signal=synthetic_signal(tidy),
        weights=synthetic_weights(tidy),
        stats=synthetic_stats(tidy),
        config=study_config.check(copy.deepcopy(CONFIG)),
        provenance=PROVENANCE,
    )


@pytest.fixture(scope="module")
def macros(tables) -> dict[str, str]:
    """The macros of ``variables.tex`` by name; fails on a malformed or repeated one."""
    text = report.variables(tables)
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
def paper(tables, tmp_path_factory) -> Path:
    """A copy of paper/ with generated/ written by ``report.main`` and ``figures.write``
    from the synthetic tables; the initializers section, generated by the audit and
    theory rules, is left out of main.tex (the end-to-end test compiles it)."""
    root = tmp_path_factory.mktemp("build")
    paths = {name: root / f"{name}.parquet" for name in ("runs", "signal", "weights")}
    tables.tidy.to_parquet(paths["runs"])
    tables.signal.to_parquet(paths["signal"])
    tables.weights.to_parquet(paths["weights"])
    stats.write_all(tables.stats, root / "stats")
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    paper = root / "paper"
    shutil.copytree(PAPER, paper, ignore=shutil.ignore_patterns("build", "generated", "initializers.tex"))
    main_tex = paper / "main.tex"
    main_tex.write_text(main_tex.read_text().replace("\\input{sections/initializers}\n", ""))
    generated = paper / "generated"
    report.main(paths["runs"], root / "config.yaml", {"provenance": PROVENANCE}, generated,
                signal_path=paths["signal"], weights_path=paths["weights"], stats_dir=root / "stats")
    table_paths = {**paths, **{n: root / "stats" / f"{n}.csv" for n in report.STATS_TABLES}}
    figures.write([generated / "figures" / name for name in figures.FIGURES], table_paths,
                  diverged_policy="chance")
    return paper


def test_main_writes_every_output(paper):
    for name in ("variables.tex", *(f"tables/{t}.tex" for t in ("grid", "software", "results", "depth",
                                                                  "guideline", "signal"))):
        assert (paper / "generated" / name).stat().st_size > 0


def test_paper_macros_are_all_defined(macros):
    """Every capitalised macro the paper's text uses, bar LaTeX's own, is generated
    (the initializers section has its own generated macros, variables_initializers)."""
    sections = [p for p in PAPER.glob("sections/*.tex") if p.name != "initializers.tex"]
    text = "\n".join(p.read_text() for p in [PAPER / "main.tex", *sections])
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
    assert "Float too large" not in log
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(overfull, default=0) < 5, overfull


# ------------------------------------------------------------ statistics macros


@pytest.mark.parametrize("alpha, family, seeds", [(0.05, 1, 6), (0.05, 15, 10), (0.25, 1, 3), (0.01, 6, 11)])
def test_seeds_needed_is_the_first_n_whose_minimal_p_is_small_enough(alpha, family, seeds):
    assert report.seeds_needed(alpha, family) == seeds
    assert family * 2 / 2**seeds <= alpha < family * 2 / 2 ** (seeds - 1)


def test_minimal_p_values_are_attained(tables, macros):
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


def test_power_verdict_follows_the_seeds(tables):
    alpha = tables.config["stats"]["alpha"]
    assert report.power_macros(tables.stats, alpha)["PowerVerdict"] == report.POWER_VERDICT[True]
    ten_seeds = synthetic_stats(synthetic_tidy(depths=(2,), seeds=tuple(range(10)), epochs=2))
    assert report.power_macros(ten_seeds, alpha)["PowerVerdict"] == report.POWER_VERDICT[False]


def test_stats_macros_count_the_tables(tables, macros):
    pairwise = tables.stats["pairwise"]
    assert macros["DivergedPolicyName"] == r"\texttt{chance}"
    assert macros["DivergedPolicy"] == report.POLICY_TEXT["chance"]
    assert macros["StatsAlpha"] == r"\num{0.05}" and macros["StatsConfidence"] == r"\num{95}"
    assert macros["StatsBootstrapResamples"] == r"\num{9999}"
    assert macros["NumCells"] == r"\num{6}" and macros["NumPairs"] == rf"\num{{{6 * 6}}}"
    assert macros["NumPairwiseTests"] == rf"\num{{{pairwise['p_value'].notna().sum()}}}"
    assert macros["NumPairwiseRejected"] == r"\num{0}"
    assert macros["NumUnanimousPairs"] == rf"\num{{{(pairwise['rank_biserial'].abs() == 1).sum()}}}"
    with pytest.raises(ValueError, match="mix diverged policies"):
        mixed = {**tables.stats, "bootstrap": pd.concat([
            tables.stats["bootstrap"], tables.stats["bootstrap"].assign(diverged_policy="exclude")])}
        report.diverged_policy(mixed)


def test_depth_frame_spread_and_macros(tables, macros):
    frame = report.depth_frame(tables.stats)
    boot = tables.stats["bootstrap"]
    cell = boot[(boot["activation"] == "tanh") & (boot["depth"] == 8)]
    row = frame[(frame["activation"] == "tanh") & (frame["depth"] == 8)].iloc[0]
    assert row["spread"] == pytest.approx(100 * (cell["mean"].max() - cell["mean"].min()))
    assert row["best"] == cell.loc[cell["mean"].idxmax(), "initializer"]
    shallow = frame[frame["depth"] == 2]["spread"].mean()
    deep = frame[frame["depth"] == 32]["spread"].mean()
    assert macros["SpreadMinDepth"] == report.num(round(shallow, 1), 1)
    assert macros["SpreadMaxDepth"] == report.num(round(deep, 1), 1)
    assert macros["SpreadChange"] == ("grows" if round(deep, 1) > round(shallow, 1) else "shrinks")
    rows = _body_rows(report.depth_table(frame))
    assert [r[0] for r in rows] == ["relu", "", "", "tanh", "", ""]
    assert rows[4][1] == r"\num{8}" and rows[4][4] == report.num(row["spread"], 1)


@pytest.mark.parametrize(
    "label, family",
    [("he_normal", "he"), ("glorot_uniform", "glorot"), ("lecun_normal-seed3", "lecun"),
     ("he_uniformish", None), ("orthogonal", None), ("hello", None)],
)
def test_family(label, family):
    assert report.family(label) == family


def _guideline_stats(activation, ranks, wins=(), depths=(2, 4)):
    """Ranks and pairwise tables of one activation: the same ``ranks`` (initializer ->
    mean rank) at every depth; ``wins`` (winner, loser, depths) are significant."""
    rank_rows, pair_rows = [], []
    for depth in depths:
        cell = {"dataset": "d", "arch": "mlp", "activation": activation, "optimizer": "adam", "depth": depth}
        rank_rows += [{**cell, "initializer": i, "mean_rank": r} for i, r in ranks.items()]
        for a, b in itertools.combinations(sorted(ranks), 2):
            win = next((w for w, loser, at in wins if {w, loser} == {a, b} and depth in at), None)
            pair_rows.append({**cell, "initializer_a": a, "initializer_b": b, "reject": win is not None,
                              "mean_diff": 0.05 if win in (a, None) else -0.05})
    return pd.DataFrame(rank_rows), pd.DataFrame(pair_rows).astype({"reject": "boolean"})


def test_guideline_best_runner_up_wins_and_agreement():
    relu = _guideline_stats("relu", {"he_normal": 1.0, "glorot_uniform": 2.0, "zeros": 3.0},
                            wins=[("he_normal", "glorot_uniform", (2, 4)), ("he_normal", "zeros", (4,))])
    tanh = _guideline_stats("tanh", {"he_normal": 1.5, "orthogonal": 1.5, "glorot_uniform": 3.0})
    selu = _guideline_stats("selu", {"he_normal": 1.0, "glorot_uniform": 2.0})
    gelu = _guideline_stats("gelu", {"he_normal": 1.0, "glorot_uniform": 2.0})
    parts = [relu, tanh, selu, gelu]
    frame = report.guideline_frame({"ranks": pd.concat([p[0] for p in parts]),
                                    "pairwise": pd.concat([p[1] for p in parts])}).set_index("activation")
    assert frame.loc["relu", "best"] == ["he_normal"] and frame.loc["relu", "runner_up"] == "glorot_uniform"
    assert frame.loc["relu", ["wins_runner_up", "n_cells", "wins_others", "pairs_others"]].tolist() == [2, 2, 3, 4]
    assert frame.loc["relu", "marked"] and frame.loc["relu", "agreement"] == "agree"
    assert frame.loc["tanh", "best"] == ["he_normal", "orthogonal"]  # a tie lists both
    assert frame.loc["tanh", "runner_up"] == "glorot_uniform" and frame.loc["tanh", "agreement"] == "disagree"
    assert not frame.loc["tanh", "marked"] and frame.loc["tanh", "wins_others"] == 0
    assert frame.loc["selu", "agreement"] == "not tested" and frame.loc["gelu", "agreement"] == "--"
    assert frame.loc["relu", "textbook"] == "He" and frame.loc["gelu", "textbook"] == "--"
    macros = report.guideline_macros(frame.reset_index())
    assert macros["NumGuidelineAgree"] == r"\num{1}" and macros["NumGuidelineDisagree"] == r"\num{1}"
    assert macros["NumGuidelineUntested"] == r"\num{2}" and macros["NumGuidelineMarked"] == r"\num{1}"
    latex = report.guideline_table(frame.reset_index())
    rows = {r[0]: r for r in _body_rows(latex)}
    assert rows["relu"][2] == r"he\_normal\textsuperscript{*}" and rows["relu"][3] == r"\num{1.00}"
    assert rows["relu"][6:8] == ["2/2", "3/4"]
    assert rows["tanh"][2] == r"he\_normal, orthogonal"
    assert r"\multicolumn{2}{c}{Significant wins}" in latex


def test_guideline_of_the_synthetic_study(tables):
    frame = report.guideline_frame(tables.stats).set_index("activation")
    for activation in ("relu", "tanh"):
        means = figures.mean_rank_over_cells(tables.stats["ranks"].query("activation == @activation"), [])
        assert frame.loc[activation, "best"] == [means.idxmin()]
        assert frame.loc[activation, "best_rank"] == pytest.approx(means.min())


def test_signal_frame_table_and_macros(tables, macros):
    frame = report.signal_frame(tables.signal, tables.tidy, "chance")
    runs = figures.signal_trainability(tables.signal, tables.tidy, "chance")
    assert list(frame["setting"]) == ["relu", "tanh", "all"]
    rho, p = scipy_stats.spearmanr(runs["distortion"], runs["score"])
    assert frame.iloc[-1]["rho"] == pytest.approx(rho) and frame.iloc[-1]["n"] == len(runs)
    assert macros["SignalRho"] == report.num(rho, 2) and macros["SignalRhoN"] == rf"\num{{{len(runs)}}}"
    assert macros["SignalRhoP"] == rf"\num{{{p:.3g}}}"
    assert _body_rows(report.signal_table(frame))[-1][:2] == ["all", rf"\num{{{len(runs)}}}"]


def test_weights_macros(tables, macros):
    assert macros["WeightsSeed"] == r"\num{0}" and macros["WeightsDepth"] == r"\numlist{32}"


@pytest.mark.parametrize("policy", ["chance", "exclude"])
def test_degenerate_studies_still_give_every_macro_table_and_figure(policy):
    """One initializer (no pair to test), or every run of a cell diverged and excluded
    (no rank): the paper still gets every macro, table and figure."""
    tidy = synthetic_tidy(depths=(2, 4), seeds=(0, 1), epochs=2)
    tidy = tidy[tidy["initializer"] == "he_normal"] if policy == "chance" else tidy.assign(
        diverged=tidy["depth"] == 4, test_accuracy=tidy["test_accuracy"].where(tidy["depth"] == 2))
    tables = report.Tables(tidy=tidy, signal=synthetic_signal(tidy), weights=synthetic_weights(tidy),
                           stats=synthetic_stats(tidy, policy), config=study_config.check(copy.deepcopy(CONFIG)),
                           provenance=PROVENANCE)
    macros = report.variables(tables)
    assert "\\newcommand{\\PowerVerdict}" in macros and "\\newcommand{\\SignalRho}" in macros
    guideline = report.guideline_frame(tables.stats)
    if policy == "chance":  # one initializer: best without a runner-up, one "test" in the family
        assert "\\newcommand{\\HolmFamilySize}{\\num{1}}" in macros
        assert guideline["runner_up"].isna().all() and (guideline["best"].map(list) == [["he_normal"]] * 2).all()
    else:  # depth 4 has no complete seed, so the guideline rests on depth 2 alone
        assert tables.stats["ranks"].query("depth == 4")["mean_rank"].isna().all()
        assert (guideline["n_cells"] == 1).all()
    assert "\\toprule" in report.depth_table(report.depth_frame(tables.stats))
    assert "\\toprule" in report.guideline_table(guideline)
    for name in figures.FIGURES:
        figures.draw(name, {"runs": tidy, "signal": tables.signal, "weights": tables.weights, **tables.stats},
                     diverged_policy=policy)
