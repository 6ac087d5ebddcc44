"""Every artifact of a study, named once: tables, figures and the paper's generated files.

An :class:`Artifact` gives the name, the path (relative to the working directory the
workflow runs in), the CLI verb that makes it and, for what the Snakemake report shows,
its category and caption. A figure also names the tables it draws, in the order its
drawing function takes them, and that function (``module:function``, with keyword
options). Paths (:mod:`initstudy.study.paths`), the workflow's rules and report, the
figure registry and the claim families read this module; nothing repeats an entry.

Adding a figure is a drawing function plus one entry in :data:`FIGURES`.

A claim's artifacts live in its folder (``results/claims/<claim>/``): their paths hold
``{claim}``, which :func:`claim_path` fills; a control study's (``controls`` of a config,
``config/controls/<control>.yaml``) in ``results/controls/<control>/``, paths holding
``{control}`` (:func:`control_path`). A claim's figure is drawn by its
statistic's entry in :data:`CLAIM_FIGURES`, whose ``draws`` are the tables the
statistic's family writes beside its verdict.

``published`` marks what a study publishes: with those files alone,
``snakemake --config from_tables=True`` rebuilds every table, figure and the paper.

Neither Keras nor pandas is imported here: the workflow reads the catalog when it is
parsed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

RESULTS = "results"
STATS_DIR = f"{RESULTS}/stats"
ANALYSIS_DIR = f"{RESULTS}/analysis"
CLAIMS_DIR = f"{RESULTS}/claims"
CLAIM_DIR = f"{CLAIMS_DIR}/{{claim}}"
CONTROLS_DIR = f"{RESULTS}/controls"
CONTROL_DIR = f"{CONTROLS_DIR}/{{control}}"
GENERATED = "paper/generated"
FIGURES_DIR = f"{GENERATED}/figures"
LATEX_TABLES_DIR = f"{GENERATED}/tables"
#: Every claim's figure, whichever its statistic.
CLAIM_FIGURE = f"{FIGURES_DIR}/claim_{{claim}}.pdf"

#: The verbs of ``python -m initstudy`` that make artifacts.
VERBS = ("tables", "resolve-config", "select-rates", "tune", "stats", "analyze", "audit", "theory", "check-controls", "claim",
         "claims-table", "draw", "typeset", "typeset-claims", "typeset-controls", "latexmk", "publish")


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One file the workflow makes. ``kind`` groups the artifacts one rule makes
    (:data:`KINDS`); ``caption`` is reStructuredText and may use the report's Jinja
    variables (``{{ snakemake.config[...] }}``)."""

    name: str
    kind: str
    path: str
    verb: str
    category: str | None = None
    caption: str | None = None
    draws: tuple[str, ...] = ()
    drawer: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    published: bool = False

    def __post_init__(self):
        if self.verb not in VERBS:
            raise ValueError(f"artifact {self.name!r}: verb {self.verb!r}, expected one of {VERBS}")
        if (self.drawer is None) != (not self.draws):
            raise ValueError(f"artifact {self.name!r}: a figure names both the tables it draws and its drawer")
        if (self.category is None) != (self.caption is None):
            raise ValueError(f"artifact {self.name!r}: the report needs both a category and a caption")

    @property
    def stem(self) -> str:
        """The file name without its suffix."""
        return self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


_POLICY = '``{{ snakemake.config["stats"]["diverged_policy"] }}``'
_ALPHA = '{{ snakemake.config["stats"]["alpha"] }}'


def _tidy(name: str, published: bool = True) -> Artifact:
    return Artifact(name, "tidy", f"{RESULTS}/{name}.parquet", "tables", published=published)


def _stats(name: str, caption: str) -> Artifact:
    return Artifact(name, "stats", f"{STATS_DIR}/{name}.csv", "stats", "Statistical tests", caption)


def _analysis(name: str, kind: str = "analysis", verb: str = "analyze") -> Artifact:
    return Artifact(name, kind, f"{ANALYSIS_DIR}/{name}.csv", verb)


def _figure(name: str, draws: tuple[str, ...], drawer: str, category: str, caption: str,
            **options: Any) -> Artifact:
    return Artifact(name, "figure", f"{FIGURES_DIR}/{name}.pdf", "draw", category, caption, draws, drawer,
                    tuple(sorted(options.items())))


def _claim_figure(statistic: str, draws: tuple[str, ...], drawer: str) -> Artifact:
    return Artifact(statistic, "claim_figure", CLAIM_FIGURE, "draw", "Claims",
                    f"The figure of a claim of statistic ``{statistic}`` (``config/claims/<name>.yaml``), drawn "
                    "from the tables it wrote beside its verdict in ``results/claims/<name>/``.", draws, drawer)


TIDY = (_tidy("runs"), _tidy("history"), _tidy("signal"), _tidy("weights"), _tidy("jacobian", published=False))
STATS = (
    _stats("friedman", "Friedman test per cell (dataset, architecture, activation, optimizer, depth): do the "
           "initializers differ? Seeds are the blocks; ``reject`` is p ≤ α. ``reason`` says why a row has no "
           "test (fewer than three initializers, fewer than two complete seeds)."),
    _stats("pairwise", "Wilcoxon signed-rank test of every pair of initializers within a cell, paired by seed, "
           "Holm-corrected within the cell (``p_holm``), with the matched-pairs rank-biserial correlation as "
           "effect size (+1: the first initializer won at every seed). With n seeds the smallest possible "
           "two-sided p is 2/2ⁿ."),
    _stats("bootstrap", "Mean final test accuracy per cell and initializer over seeds, with its 95 % bootstrap "
           "confidence interval (BCa, or percentile where BCa is undefined: ``ci_method``)."),
    _stats("ranks", "Mean Friedman rank per cell and initializer (1 = best, ties share the average rank), over "
           "the seeds at which every initializer of the cell has a result."),
    _stats("divergence", "Share of diverged runs per cell and initializer, with its 95 % Wilson score interval."),
)
#: The learning-rate choice (:mod:`initstudy.analysis.tuning`): ``tuning.csv``, one row
#: per cell and initializer, and the runs the comparisons take (each initializer at its
#: chosen rate, the evaluation seeds), which every later stage of the study reads.
TUNING = (
    Artifact("tuning", "tuning", f"{ANALYSIS_DIR}/tuning.csv", "tune", "Learning rates",
             "The learning rate each initializer is compared at, per cell: the rate with the highest mean final "
             "validation accuracy over the selection seeds (``val_score``, over ``n_selection`` seeds; the "
             "test set takes no part), and the mean test accuracy at that rate over the evaluation seeds "
             f"(``test_score``, diverged runs by the {_POLICY} policy). ``n_rates``: the rates it chose among."),
    Artifact("compared_runs", "tuning", f"{RESULTS}/compared_runs.parquet", "tune"),
)
#: The two-stage protocol's choice (``tuning.selection_seeds``): a Snakemake checkpoint,
#: which the evaluation runs depend on.
SELECTION = (Artifact("selection", "selection", f"{RESULTS}/tuning/selection.csv", "select-rates"),)
ANALYSIS = tuple(_analysis(name) for name in (
    "accuracy", "best", "curves", "signal_profile", "trainability", "spearman", "rank_summary", "weight_runs",
    "depth", "depth_summary", "guideline", "power", "power_effects", "overview", "sensitivity", "robustness"))
THEORY = tuple(_analysis(name, "theory", "theory") for name in ("theory_predicted", "theory_measured", "theory"))
STUDY_FILES = (
    Artifact("resolved_config", "config", f"{RESULTS}/config.resolved.yaml", "resolve-config", published=True),
    Artifact("provenance", "provenance", f"{RESULTS}/provenance.json", "tables", published=True),
    Artifact("audit", "audit", f"{RESULTS}/audit.csv", "audit"),
    Artifact("controls", "controls", f"{RESULTS}/controls.csv", "check-controls"),
    Artifact("published", "publish", f"{RESULTS}/published.tar.gz", "publish"),
)
FIGURES = (
    _figure("learning_curves", ("curves",), "initstudy.figures.curves:draw_learning_curves", "Training",
            "Validation accuracy and loss per epoch, mean over seeds with the statistics' 95 % BCa bootstrap "
            "bands, per initializer; settings as columns, depths as rows."),
    _figure("accuracy_vs_depth", ("bootstrap",), "initstudy.figures.curves:draw_accuracy_vs_depth", "Training",
            f"Final test accuracy against depth (diverged runs by the {_POLICY} policy), mean over seeds with the "
            "statistics' 95 % BCa bootstrap intervals, per initializer and setting."),
    _figure("activation_std_at_init", ("signal_profile",), "initstudy.figures.signal:draw_signal_profile",
            "Signal propagation",
            "Standard deviation of each hidden layer's activations at initialization (epoch 0) in the deepest "
            "network of each setting, mean over seeds. Log scale: a signal that vanishes or explodes does so "
            "geometrically, a straight line here. Exact zeros sit on the tick 0.", metric="activation_std"),
    _figure("grad_norm_at_init", ("signal_profile",), "initstudy.figures.signal:draw_signal_profile",
            "Signal propagation",
            "Norm of the loss gradient with respect to each hidden layer's kernel at initialization, in the "
            "deepest network of each setting, mean over seeds; log scale, exact zeros on the tick 0.",
            metric="grad_norm"),
    _figure("signal_vs_accuracy", ("trainability", "spearman"), "initstudy.figures.signal:draw_signal_vs_accuracy",
            "Signal propagation",
            "Does the signal at initialization predict trainability? One point per run: the number of decades "
            "by which the last hidden layer's activation std at initialization differs from 1 (∞: exactly "
            f"zero), against final test accuracy (diverged runs: {_POLICY} policy). ρ is Spearman's rank "
            "correlation per panel."),
    _figure("heatmaps", ("bootstrap", "divergence"), "initstudy.figures.comparison:draw_heatmaps", "Comparison",
            f"Per setting, initializer and depth: mean final test accuracy (diverged runs by the {_POLICY} "
            "policy) and the share of runs that diverged, both in percent."),
    _figure("mean_ranks", ("rank_summary",), "initstudy.figures.comparison:draw_mean_ranks", "Comparison",
            "Mean Friedman rank of each initializer per depth and over all depths (1 = best). At each depth the "
            "grey bar spans the best initializer (the highest mean score, which need not have the lowest mean "
            "rank) and those it does not beat significantly (Holm-corrected "
            f"Wilcoxon, α = {_ALPHA})."),
    _figure("weight_histograms", ("weights", "weight_runs"), "initstudy.figures.weights:draw_weight_histograms",
            "Weights",
            "Kernel weights before (filled) and after (line) training in the first, middle and last hidden "
            "layer, for the deepest network at the lowest seed of each setting: the initializers with the "
            "highest and the lowest final test accuracy there (constant initializers, which have no shape to "
            "show, left out)."),
    _figure("learning_rate_sensitivity", ("sensitivity",), "initstudy.figures.sensitivity:draw_learning_rate_sensitivity",
            "Learning rates",
            "Mean final validation accuracy against the learning rate per initializer (± the sd over seeds), per "
            "depth and setting: where an initializer's curve is flat it needs no tuning; where it peaks, the rate "
            "decides. Drawn where a cell has several rates."),
    _figure("theory_vs_measurement", ("theory_predicted", "theory_measured", "theory"),
            "initstudy.figures.theory:draw_theory_vs_measurement", "Initializers",
            "Pre-activation variance per layer of the MLPs at initialization: the mean-field prediction (lines) "
            "beside the median and range over runs of what was measured (markers and bands), per activation, "
            "log scale."),
)
#: Claim statistic -> its figure: the tables its family writes, and the drawer.
CLAIM_FIGURES = {a.name: a for a in (
    _claim_figure("he2015", ("accuracy", "variance"), "initstudy.figures.claims:draw_he2015"),
    _claim_figure("glorot2010", ("gradients", "saturation"), "initstudy.figures.claims:draw_glorot2010"),
    _claim_figure("pennington2017", ("spread", "spectra"),
                  "initstudy.figures.claim_pennington2017:draw_pennington2017"),
    _claim_figure("schoenholz2017", ("trainability", "theory", "agreement"),
                  "initstudy.figures.claim_schoenholz2017:draw_schoenholz2017"),
    _claim_figure("saxe2013", ("times", "rates", "changes"), "initstudy.figures.claim_saxe2013:draw_saxe2013"),
)}
CLAIM_FILES = (
    Artifact("verdict", "claim", f"{CLAIM_DIR}/verdict.csv", "claim"),
    # a two-stage claim's choice of rates (its config's tuning.selection_seeds), as SELECTION
    Artifact("selection", "claim_selection", f"{CLAIM_DIR}/selection.csv", "select-rates"),
    Artifact("claims", "claims_table", f"{CLAIMS_DIR}/claims.csv", "claims-table", "Claims",
             "Every claim of ``config[\"claims\"]``, one row each: its hypothesis and source, the effect of the "
             "sub-claim that decides it with its confidence interval, the test's p and the smallest p the test "
             "can reach with the claim's seeds, and the verdict (PASS, FAIL or INCONCLUSIVE) of the decision "
             "rule fixed in ``config/claims/<name>.yaml``."),
)
#: A claim's tidy tables, in its folder (those of the study, by the same names).
CLAIM_TIDY = tuple(dataclasses.replace(a, kind="claim_tidy", path=f"{CLAIM_DIR}/{a.name}.parquet",
                                       published=True) for a in TIDY)
#: A control study's check (initstudy.analysis.controls: a row for the control, one per
#: cell) and the provenance of its records.
CONTROL_FILES = (Artifact("control", "control", f"{CONTROL_DIR}/control.csv", "check-controls"),
                 Artifact("provenance", "control_provenance", f"{CONTROL_DIR}/provenance.json", "tables"))
#: A control study's tidy tables, in its folder; the control reads (and publishes) its runs.
CONTROL_TIDY = tuple(dataclasses.replace(a, kind="control_tidy", path=f"{CONTROL_DIR}/{a.name}.parquet",
                                         published=a.name == "runs") for a in TIDY)
PAPER = (
    Artifact("variables", "typeset", f"{GENERATED}/variables.tex", "typeset"),
    *(Artifact(f"{name}_table", "typeset", f"{LATEX_TABLES_DIR}/{name}.tex", "typeset")
      for name in ("grid", "software", "results", "depth", "guideline", "signal", "audit", "theory", "tuning")),
    Artifact("claims_variables", "typeset_claims", f"{GENERATED}/claims_variables.tex", "typeset-claims"),
    Artifact("claims_table_tex", "typeset_claims", f"{LATEX_TABLES_DIR}/claims.tex", "typeset-claims"),
    Artifact("claims_section", "typeset_claims", f"{GENERATED}/claims.tex", "typeset-claims"),
    Artifact("controls_section", "typeset_controls", f"{GENERATED}/controls.tex", "typeset-controls"),
    Artifact("paper", "paper", "paper/build/main.pdf", "latexmk", "Paper",
             "The paper, compiled from the generated macros, tables and figures."),
)

ARTIFACTS: tuple[Artifact, ...] = (*TIDY, *TUNING, *SELECTION, *STATS, *ANALYSIS, *THEORY, *STUDY_FILES, *FIGURES,
                                   *CLAIM_FIGURES.values(), *CLAIM_FILES, *CLAIM_TIDY, *CONTROL_FILES,
                                   *CONTROL_TIDY, *PAPER)
KINDS = tuple(dict.fromkeys(a.kind for a in ARTIFACTS))


def of_kind(kind: str) -> tuple[Artifact, ...]:
    """The artifacts of ``kind``, in catalog order."""
    if kind not in KINDS:
        raise KeyError(f"no artifact kind {kind!r}; expected one of {KINDS}")
    return tuple(a for a in ARTIFACTS if a.kind == kind)


def paths(kind: str) -> dict[str, str]:
    """name -> path of the artifacts of ``kind``."""
    return {a.name: a.path for a in of_kind(kind)}


def names(kind: str) -> tuple[str, ...]:
    return tuple(a.name for a in of_kind(kind))


def path(kind: str, name: str) -> str:
    """The path of artifact ``name`` of ``kind``."""
    found = paths(kind)
    if name not in found:
        raise KeyError(f"no {kind} artifact {name!r}; expected one of {sorted(found)}")
    return found[name]


def claim_path(template: str, claim: str) -> str:
    """A claim artifact's path in claim ``claim``'s folder."""
    return template.format(claim=claim)


def control_path(template: str, control: str) -> str:
    """A control study's artifact's path in control ``control``'s folder."""
    return template.format(control=control)


def figure_table_paths() -> dict[str, str]:
    """Where each table a study figure may draw lives: name -> path (analysis, theory,
    statistics and tidy tables)."""
    return {a.name: a.path for a in (*ANALYSIS, *THEORY, *STATS, *TIDY)}


def published() -> tuple[Artifact, ...]:
    """What a study publishes (claim paths still hold ``{claim}``, control paths ``{control}``)."""
    return tuple(a for a in ARTIFACTS if a.published)


def _check() -> None:
    """Names unique within a kind, paths unique (claim figures share one template: the
    claim's name tells them apart), every figure table known."""
    seen: dict[tuple[str, str], Artifact] = {}
    for a in ARTIFACTS:
        if (a.kind, a.name) in seen:
            raise ValueError(f"artifact {a.kind}/{a.name} is in the catalog twice")
        seen[(a.kind, a.name)] = a
    files = [a.path for a in ARTIFACTS if a.kind != "claim_figure"]
    repeated = {f for f in files if files.count(f) > 1}
    if repeated:
        raise ValueError(f"paths named twice in the catalog: {sorted(repeated)}")
    tables = figure_table_paths()
    for figure in FIGURES:
        unknown = [t for t in figure.draws if t not in tables]
        if unknown:
            raise ValueError(f"figure {figure.name!r} draws unknown table(s) {unknown}")


_check()
