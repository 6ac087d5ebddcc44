"""The real workflow, run by the real Snakemake on a tiny study, through to the PDF."""

import itertools
import os
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from initstudy.analysis import stats
from initstudy.study import catalog
from initstudy.study import paths
from workflow_copy import copy_workflow  # bench/workflow_copy.py (pytest's pythonpath)

#: Every test starts Snakemake (dry runs to whole studies).
pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY_STUDY = {
    "grid": {
        "datasets": ["digits"],
        "architectures": ["mlp", "cnn"],
        "activations": ["relu"],
        "optimizers": ["adam"],
        "depths": [2],
        "initializers": ["he_normal", {"name": "initstudy.inits.custom:FixedUniform", "limit": 0.05}],
        "seeds": [0, 1],
    },
    "training": {"epochs": 2, "width": 16, "filters": 4, "pack_size": 64, "threads": 1, "probe_size": 32},
}
N_RUNS = 2 * 2 * 2
def snakemake(workdir: Path, *args, timeout=900):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+(\d+)$", table, re.M)}


@pytest.mark.parametrize("pack_size,expected_jobs", [(1, N_RUNS), (64, 2), (3, 4)])
def test_dry_run_plans_one_job_per_pack(tmp_path, pack_size, expected_jobs):
    # threads 2 on --cores 2: one train job at a time, so packs are cut by pack_size alone
    study = {**TINY_STUDY, "training": {**TINY_STUDY["training"], "pack_size": pack_size, "threads": 2}}
    proc = snakemake(copy_workflow(tmp_path, study), "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert job_counts(proc.stdout + proc.stderr)["train"] == expected_jobs
    assert f"initstudy: {expected_jobs} train jobs" in proc.stderr
    grid = TINY_STUDY["grid"]
    assert N_RUNS == len(list(itertools.product(*grid.values())))


def test_costliest_packs_are_scheduled_first(tmp_path):
    """The train rule's priority is its pack's planned GFLOP (pending.work's ``flops``),
    so Snakemake starts the long packs first and fills in with the short ones."""
    from initstudy.study import config
    from initstudy.train import pending

    study = {**TINY_STUDY, "grid": {**TINY_STUDY["grid"], "architectures": ["mlp"], "depths": [2, 6]},
             "training": {**TINY_STUDY["training"], "threads": 2}}
    proc = snakemake(copy_workflow(tmp_path, study), "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    planned = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"wildcards: pack=(\S+)\n\s+priority: ([\d.e+-]+)", proc.stdout + proc.stderr)}
    cfg = config.check(json.loads(json.dumps(study)))
    work = pending.work([(pending.pending(cfg, root=tmp_path / "empty"), cfg["training"])], cfg["training"])
    assert planned == pytest.approx({pack_id: flops / 1e9 for pack_id, flops in work.flops.items()})
    depth = {p.pack_id: p.runs[0].depth for p in work.packs}
    assert sorted(planned, key=planned.get) == sorted(planned, key=depth.get)  # deeper costs more


def test_bad_config_stops_before_any_job(tmp_path):
    study = {**TINY_STUDY, "grid": {**TINY_STUDY["grid"], "depths": [2, 500]}}
    workdir = copy_workflow(tmp_path, study)
    proc = snakemake(workdir)
    assert proc.returncode != 0
    assert "initstudy: invalid config: grid.depths[1]: 500 is greater than the maximum of 200" in proc.stderr
    assert not (workdir / "results").exists()


def test_lint_and_format_are_clean():
    proc = subprocess.run([*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Congratulations, your workflow is in a good condition" in proc.stdout + \
        proc.stderr, proc.stdout[-3000:]
    fmt = subprocess.run([str(Path(sys.executable).parent / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert fmt.returncode == 0, fmt.stderr


#: The published tables: with these alone (and the workflow) the paper is rebuilt.
PUBLISHED = ["runs.parquet", "history.parquet", "signal.parquet", "weights.parquet", "provenance.json",
             "config.resolved.yaml"]
STATS_COLUMNS = {
    "friedman": stats.FRIEDMAN_COLUMNS,
    "pairwise": stats.PAIRWISE_COLUMNS,
    "bootstrap": stats.BOOTSTRAP_COLUMNS,
    "ranks": stats.RANKS_COLUMNS,
    "divergence": stats.DIVERGENCE_COLUMNS,
}
needs_latexmk = pytest.mark.skipif(shutil.which("latexmk") is None, reason="needs latexmk (make test installs it)")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny study run through to the PDF, once for the tests below."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny"), TINY_STUDY)
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


@pytest.mark.slow
@needs_latexmk
def test_tiny_study_end_to_end_to_the_pdf(tiny_run):
    workdir = tiny_run
    assert (workdir / "paper" / "build" / "main.pdf").stat().st_size > 10_000
    runs = pd.read_parquet(workdir / "results" / "runs.parquet")
    assert len(runs) == runs["run_id"].nunique() == N_RUNS  # one row per run
    assert set(runs["arch"]) == {"mlp", "cnn"} and set(runs["initializer"]) == {"he_normal", "FixedUniform-limit0.05"}
    assert (runs["epochs_trained"] == 2).all()
    history = pd.read_parquet(workdir / "results" / "history.parquet")
    assert len(history) == N_RUNS * TINY_STUDY["training"]["epochs"]
    assert history.groupby("run_id")["epoch"].apply(list).map(lambda e: e == [1, 2]).all()
    signal = pd.read_parquet(workdir / "results" / "signal.parquet")
    assert len(signal) == N_RUNS * (TINY_STUDY["training"]["epochs"] + 1) * 2  # epochs 0..E × 2 layers
    assert len(list((workdir / "results" / "runs").rglob("record-*.json"))) == N_RUNS

    # the statistics: one row per cell (arch) and per cell × initializer or pair
    for name, columns in STATS_COLUMNS.items():
        table = pd.read_csv(workdir / "results" / "stats" / f"{name}.csv")
        assert list(table.columns) == columns
        assert len(table) == {"friedman": 2, "pairwise": 2}.get(name, 4), name
        assert set(table["diverged_policy"]) == {"chance"}
    # every analysis table, every figure and every generated table the paper cites
    for name in (*paths.ANALYSIS_TABLES, *paths.THEORY_TABLES):
        assert (workdir / paths.ANALYSIS_DIR / f"{name}.csv").stat().st_size > 0, name
    for figure in catalog.FIGURES:
        assert (workdir / figure.path).read_bytes().startswith(b"%PDF-")
    for name in paths.LATEX_TABLES:
        assert "\\toprule" in (workdir / "paper" / "generated" / "tables" / f"{name}.tex").read_text()
    variables = (workdir / "paper" / "generated" / "variables.tex").read_text()
    assert "\\newcommand{\\WilcoxonMinP}{\\num{0.5}}" in variables  # 2 seeds: 2 / 2**2

    # Snakemake's HTML report, with the figures, the stats tables and their captions
    proc = snakemake(workdir, "--report", "report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for name in [*(f"{f.name}.pdf" for f in catalog.FIGURES), *(f"{t}.csv" for t in STATS_COLUMNS), "main.pdf"]:
        assert name in html, name
    assert "Holm-corrected within the cell" in html and "policy <tt class=\\\"docutils literal\\\">chance" in html

    # Editing the shared style redraws every figure, editing one drawing module its own figure alone,
    # then the PDF;
    # editing typesetting code rebuilds the text and the PDF; neither retrains.
    figures = {f"figure_{figure.name}" for figure in catalog.FIGURES}
    style_py = workdir / "src" / "initstudy" / "figures" / "style.py"
    style_py.write_text(style_py.read_text() + "\n# a change\n")
    proc = snakemake(workdir, "-n")
    planned = set(job_counts(proc.stdout + proc.stderr))
    assert planned == {*figures, "paper", "all"}, planned
    style_py.write_text(style_py.read_text().removesuffix("\n# a change\n"))
    weights_py = workdir / "src" / "initstudy" / "figures" / "weights.py"
    weights_py.write_text(weights_py.read_text() + "\n# a change\n")
    proc = snakemake(workdir, "-n")
    assert set(job_counts(proc.stdout + proc.stderr)) == {"figure_weight_histograms", "paper", "all"}
    weights_py.write_text(weights_py.read_text().removesuffix("\n# a change\n"))
    latex_py = workdir / "src" / "initstudy" / "paper" / "latex.py"
    latex_py.write_text(latex_py.read_text() + "\n# a change\n")
    proc = snakemake(workdir, "-n")
    assert set(job_counts(proc.stdout + proc.stderr)) == {"typeset", "typeset_controls", "paper", "all"}


@needs_latexmk
def test_the_parsed_workflow_gives_typeset_and_each_figure_only_their_own_code(tiny_run):
    """What Snakemake itself lists as each output's inputs in the tiny study
    (`--detailed-summary` parses the workflow): the typeset rule's code holds no module
    of a Keras, data or training stage, and a figure rule's code under figures/ is its
    own drawing module, the shared style and the registry, beside the catalog."""
    proc = snakemake(tiny_run, "--detailed-summary")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    header = rows[0]
    inputs = {row[0]: set(row[header.index("input-file(s)")].split(",")) for row in rows[1:]
              if len(row) == len(header)}
    typeset = inputs[catalog.path("typeset", "variables")]
    assert "src/initstudy/paper/typeset.py" in typeset
    keras_stages = tuple(f"src/initstudy/{stage}/" for stage in ("data", "inits", "models", "train"))
    assert not [f for f in typeset if f.startswith(keras_stages)]
    figures = "src/initstudy/figures/"
    for figure in catalog.FIGURES:
        code = inputs[figure.path]
        own = f"src/{figure.drawer.partition(':')[0].replace('.', '/')}.py"
        shared = {f"{figures}{name}.py" for name in ("__init__", "registry", "style")}
        assert {f for f in code if f.startswith(figures)} == {own, *shared}, figure.name
        assert "src/initstudy/study/catalog.py" in code

@pytest.mark.slow
@needs_latexmk
def test_paper_from_the_published_tables_alone(tiny_run, tmp_path):
    """A fresh workflow with only the published tables rebuilds stats, figures and the
    PDF without planning a single train or aggregate job, even with a different policy."""
    workdir = copy_workflow(tmp_path, {"grid": {"datasets": ["mnist1d"], "architectures": ["mlp"],
                                                "activations": ["tanh"], "optimizers": ["sgd"], "depths": [3],
                                                "initializers": ["zeros"], "seeds": [7]}})
    (workdir / "results").mkdir()
    for name in PUBLISHED:
        shutil.copy2(tiny_run / "results" / name, workdir / "results" / name)
    args = ["--configfile", "results/config.resolved.yaml", "--config", "from_tables=True"]

    proc = snakemake(workdir, *args, "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = job_counts(proc.stdout + proc.stderr)
    assert {"stats", "analyze", "figure_learning_curves", "typeset", "paper"} <= set(planned)
    assert not any(rule.startswith("train_") or rule in ("aggregate", "resolved_config") for rule in planned)

    proc = snakemake(workdir, *args, "stats={diverged_policy: exclude}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (workdir / "paper" / "build" / "main.pdf").stat().st_size > 10_000
    assert set(pd.read_csv(workdir / "results" / "stats" / "ranks.csv")["diverged_policy"]) == {"exclude"}
    assert "\\texttt{exclude}" in (workdir / "paper" / "generated" / "variables.tex").read_text()
    assert not (workdir / "results" / "runs").exists()


#: Outputs of the tiny study taken before the analysis was redesigned (tables per run ×
#: epoch, stats, audit, theory, macros): the redesign must reproduce every number.
GOLDEN = REPO / "tests" / "data" / "golden_tiny"
#: Macros that describe the machine, the time or the code version, not the study.
CIRCUMSTANTIAL = re.compile(r"^(Version|Hardware|GitCommit|ProvenanceCreated|TotalComputeHours|MeanRunSeconds"
                            r"|NumPacks$)")  # packs are cut by the cores given (execution)
#: Quantities merged into one definition by that redesign: the figures' own bootstrap
#: (CILevel, NumBootstrap) is gone, and the best initializer is decided under the
#: diverged policy (its accuracy is the policy-scored mean).
UNIFIED = re.compile(r"^(CILevel|NumBootstrap|BestInit.*Accuracy)$")
#: Redesigned since: the guideline decides per activation and depth band.
REDESIGNED = re.compile(r"^NumGuideline")
#: Macros of settings added since (the Jacobian spectra; the checkpoint interval; the
#: learning-rate tuning protocol and what it chose); the old study had none.
ADDED = re.compile(r"^(Training(JacobianInputs|CheckpointEveryS)|Tuning\w+|NumTun(ing|ed)\w+)$")
#: Added when the guideline's "agree" came to need equivalence and power was stated:
#: the equivalence margin and the level of its interval, the power to detect d_z = 0.5,
#: 1, 1.5 (design and realised), and the non-zero differences the Wilcoxon tests had.
DECIDED = re.compile(r"^(Equivalence(Margin|MarginPoints|Confidence)"
                     r"|Power(Effects|Design|Realised|Level|Replicates|Seed)\w*"
                     r"|Num(NonzeroMin|NonzeroMedian|NonzeroMax|PairsCanReject|Compared))$")


def _macros(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", text, re.M))


@pytest.mark.slow
@needs_latexmk
def test_redesign_reproduces_every_number_of_the_tiny_study(tiny_run):
    """Per-run and per-epoch metrics, signal and weights, statistics, audit, theory and
    macro values equal those the code made before the redesign (tests/data/golden_tiny)."""
    results = tiny_run / "results"
    old = pd.read_parquet(GOLDEN / "runs.parquet")
    history = pd.read_parquet(results / "history.parquet")
    metrics = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    keys = ["run_id", "epoch"]
    pd.testing.assert_frame_equal(old[[*keys, *metrics]].sort_values(keys, ignore_index=True),
                                  history[[*keys, *metrics]].sort_values(keys, ignore_index=True))
    runs = pd.read_parquet(results / "runs.parquet").set_index("run_id").sort_index()
    last = old.loc[old.groupby("run_id")["epoch"].idxmax()].set_index("run_id").sort_index()
    per_run = ["test_loss", "test_accuracy", "diverged", "num_classes", *metrics]
    pd.testing.assert_frame_equal(last[per_run], runs[per_run])
    assert (runs["epochs_trained"] == last["epoch"]).all()
    # the tables have since gained each run's rate and width (and the stats the cell's
    # width): the golden columns must be unchanged
    for name in ("signal", "weights"):
        golden = pd.read_parquet(GOLDEN / f"{name}.parquet")
        pd.testing.assert_frame_equal(golden, pd.read_parquet(results / f"{name}.parquet")[list(golden.columns)])
    for name in STATS_COLUMNS:
        golden = pd.read_csv(GOLDEN / "stats" / f"{name}.csv")
        table = pd.read_csv(results / "stats" / f"{name}.csv")
        assert set(table.columns) - set(golden.columns) == {"width"}
        pd.testing.assert_frame_equal(golden, table[list(golden.columns)])
    pd.testing.assert_frame_equal(pd.read_csv(GOLDEN / "audit.csv"), pd.read_csv(results / "audit.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(GOLDEN / "theory.csv"),
                                  pd.read_csv(results / "analysis" / "theory.csv"))
    before = _macros((GOLDEN / "variables.tex").read_text()) | _macros(
        (GOLDEN / "variables_initializers.tex").read_text())
    after = _macros((tiny_run / "paper" / "generated" / "variables.tex").read_text())
    compared = {name for name in before
                if not CIRCUMSTANTIAL.match(name) and not UNIFIED.match(name) and not REDESIGNED.match(name)}
    assert compared <= set(after)
    assert {name: after[name] for name in compared} == {name: before[name] for name in compared}
    assert all(REDESIGNED.match(name) or ADDED.match(name) or DECIDED.match(name)
               for name in set(after) - set(before))
