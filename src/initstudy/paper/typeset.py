"""Typeset the paper's generated text: ``variables.tex`` (every macro, once) and the
LaTeX tables, from the study's tables alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from initstudy.analysis.write import diverged_policy
from initstudy.core.atomic import write_text
from initstudy.core.table_io import read_table
from initstudy.paper import macros, tables
from initstudy.paper.latex import escape_latex, macro_file, merge_macros
from initstudy.study import config as study_config
from initstudy.study.paths import CLAIMS_GENERATED, FIGURES_DIR, GENERATED, LATEX_TABLES

#: The analysis tables the text reads (``<analysis_dir>/<name>.csv``).
ANALYSIS_TABLES = ("accuracy", "best", "depth", "depth_summary", "guideline", "power", "overview",
                   "spearman", "weight_runs")


@dataclass(frozen=True)
class Inputs:
    """Everything the generated text is a function of."""

    runs: pd.DataFrame
    analysis: dict[str, pd.DataFrame]
    audit: pd.DataFrame
    theory: pd.DataFrame
    policy: str
    config: dict[str, Any]
    provenance: dict[str, Any]
    #: The claims (``claims.csv``), or None for a study typeset without them.
    claims: pd.DataFrame | None = None


def load_provenance(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The provenance dict, from a record (path or dict) or a provenance dict itself."""
    if not isinstance(source, dict):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    return source.get("provenance", source)


def load(runs: str | Path, analysis_dir: str | Path, stats_dir: str | Path, audit: str | Path,
         theory: str | Path, config: str | Path, provenance: str | Path,
         claims: str | Path | None = None) -> Inputs:
    """Read every input. The config is read with :func:`initstudy.study.config.load`, so
    its defaults are filled in (the paper cites every training setting, given or not).
    ``claims`` (``claims.csv``) is optional: without it the claims are not typeset."""
    return Inputs(
        runs=read_table(runs),
        analysis={name: read_table(Path(analysis_dir) / f"{name}.csv") for name in ANALYSIS_TABLES},
        audit=read_table(audit),
        theory=read_table(theory),
        policy=diverged_policy({"bootstrap": read_table(Path(stats_dir) / "bootstrap.csv")}),
        config=study_config.load(config),
        provenance=load_provenance(provenance),
        claims=None if claims is None else read_table(claims),
    )


def variables(inputs: Inputs) -> str:
    """The text of ``variables.tex``: every macro, once, in a fixed order."""
    a, config = inputs.analysis, inputs.config
    overview, power = a["overview"].iloc[0], a["power"].iloc[0]
    merged = merge_macros(
        macros.count_macros(inputs.runs),
        macros.best_macros(a["best"], overview),
        macros.divergence_macros(inputs.runs),
        macros.execution_macros(inputs.runs),
        macros.training_macros(config),
        macros.provenance_macros(inputs.provenance),
        macros.stats_macros(overview, inputs.policy, config["stats"]["alpha"]),
        macros.power_macros(power),
        macros.depth_macros(a["depth"], a["depth_summary"]),
        macros.guideline_macros(a["guideline"]),
        macros.signal_macros(a["spearman"]),
        macros.weights_macros(a["weight_runs"]),
        macros.theory_macros(inputs.theory, config["training"]["width"], max(config["grid"]["depths"])),
        macros.audit_macros(inputs.audit),
    )
    return macro_file(merged, "initstudy typeset")


def latex_tables(inputs: Inputs) -> dict[str, str]:
    """Table name (:data:`initstudy.study.paths.LATEX_TABLES`) -> its LaTeX."""
    a = inputs.analysis
    return {
        "grid": tables.grid_table(inputs.config),
        "software": tables.software_table(inputs.provenance),
        "results": tables.results_table(a["accuracy"]),
        "depth": tables.depth_table(a["depth"]),
        "guideline": tables.guideline_table(a["guideline"]),
        "signal": tables.signal_table(a["spearman"]),
        "audit": tables.audit_table(inputs.audit),
        "theory": tables.theory_table(inputs.theory),
    }


def texts(inputs: Inputs) -> dict[str, str]:
    """File (below the generated folder) -> text, for every generated file."""
    latex = latex_tables(inputs)
    if tuple(latex) != LATEX_TABLES:  # the workflow names the outputs from initstudy.study.paths
        raise ValueError(f"typeset makes tables {tuple(latex)}, the workflow expects {LATEX_TABLES}")
    out = {"variables.tex": variables(inputs), **{f"tables/{name}.tex": text for name, text in latex.items()}}
    if inputs.claims is not None:
        out.update(claims_texts(inputs.claims))
    return out


def write(inputs: Inputs, out_dir: str | Path) -> list[Path]:
    """Write every generated file below ``out_dir``, each atomically."""
    written = []
    for name, text in texts(inputs).items():
        path = Path(out_dir) / name
        write_text(path, text)
        written.append(path)
    return written


# ------------------------------------------------------------------ claims

#: How each claim family's figure is described (the claim's hypothesis and verdict follow).
CLAIM_CAPTIONS = {
    "he2015": (r"Top: mean test accuracy per depth and initializer with \StatsConfidence{}\,\% BCa intervals over "
               r"seeds, chance (grey) and the rule's bounds (green). Bottom: the activations' second moment "
               r"$\mathrm{E}[a_l^2]$ at initialization relative to the first hidden layer's, with the per-layer "
               r"ratio the rule predicts (dashed)."),
    "glorot2010": (r"Top: the back-propagated gradient (estimated as $\lVert\partial L/\partial W_l\rVert / "
                   r"\sqrt{\mathrm{E}[a_{l-1}^2]}$) and the weight gradient per hidden layer at initialization, "
                   r"relative to the top hidden layer. Bottom: the mean activation of each hidden layer per "
                   r"epoch in the sigmoid networks (top layer thick). Bands: BCa intervals over seeds."),
    "symmetry": (r"Test accuracy of every network initialized with zeros, one point per seed, against chance "
                 r"(grey), the claim's bound (green) and the control's margin (red)."),
    "schoenholz2017": (r"Final training accuracy per weight variance $\sigma_w^2$ and depth (mean over seeds), "
                       r"under the mean-field prediction $L = 6\,\xi_c(\sigma_w^2)$ (white) and the critical "
                       r"$\sigma_w^2$ (dashed); crosses mark cells where measurement and prediction disagree."),
    "pennington2017": (r"Left: the spread of the Jacobian spectrum at initialization (std of $\ln s$) against "
                       r"depth, mean and \StatsConfidence{}\,\% BCa interval over seeds, for the tested "
                       r"combinations (solid) and the grid's others (faint). Right: the distribution of $\ln s$ "
                       r"at the deepest depth."),
    "saxe2013": (r"Left: SGD steps to the loss threshold against depth per run (open triangles: never "
                 r"reached, plotted at the last step observed), with the pooled least-squares lines and their "
                 r"bands. Right: the slope of every seed, the verdict's interval and the region each rule "
                 r"claims."),
}
GENERIC_CAPTION = "The claim's statistic."
#: Where each claim statistic's paragraph lies, relative to the paper's folder.
CLAIM_TEXTS = "sections/claims"


def claim_figure(row) -> str:
    """The figure environment of one claim (``<figures>/claim_<name>.pdf``)."""
    figure = f"{FIGURES_DIR.removeprefix('paper/')}/claim_{row.name}.pdf"
    caption = CLAIM_CAPTIONS.get(row.statistic, GENERIC_CAPTION)
    return "\n".join([
        r"\begin{figure}[tbp]",
        r"  \centering",
        rf"  \includegraphics[width=\textwidth]{{{figure}}}",
        rf"  \caption{{Claim \texttt{{{escape_latex(row.name)}}} ({escape_latex(row.source_paper)}): "
        rf"{escape_latex(' '.join(row.hypothesis.split()))} Verdict: \textbf{{{row.verdict}}}. {caption}}}",
        rf"  \label{{fig:claim-{row.name.replace('_', '-')}}}",
        r"\end{figure}",
    ])


def claims_section(claims: pd.DataFrame) -> str:
    """The generated part of the claims section (``generated/claims.tex``, read by
    ``paper/sections/claims.tex`` when it exists): the macros, a summary, the table, the
    paragraph of each statistic the claims use (:data:`CLAIM_TEXTS`) and one figure per claim."""
    generated = GENERATED.removeprefix("paper/")
    lines = [
        "% Generated by initstudy typeset-claims from claims.csv; do not edit.",
        rf"\input{{{generated}/claims_variables.tex}}",
        r"Of the \NumClaims{} claims, \NumClaimsPass{} pass, \NumClaimsFail{} fail and "
        r"\NumClaimsInconclusive{} are inconclusive (Table~\ref{tab:claims}), over \ClaimsNumSubclaims{} "
        r"sub-claims. Every sub-claim had at least \ClaimsMinValues{} values (seeds, or seeds times the "
        r"levels it pools), where its test needs \ClaimsValuesNeeded{} to reach $p \le \ClaimsAlpha$ at "
        r"all: the largest smallest-reachable $p$ of any claim is \ClaimsMaxMinP.",
        "",
        r"\begin{table}[tbp]",
        r"  \centering",
        r"  \caption{The claims: hypothesis, source and the sub-claim that decided the verdict (for a PASS "
        r"the one of largest $p$, the conjunction's $p$; for a FAIL the first that failed), its effect with "
        r"its \ClaimsConfidence{}\,\% interval, $p$ against the rule's bound, the smallest $p$ the test "
        r"could reach with the claim's $n$ values per sub-claim, and the verdict.}",
        r"  \label{tab:claims}",
        r"  \footnotesize",
        r"  \setlength{\tabcolsep}{4pt}",
        rf"  \input{{{generated}/tables/claims.tex}}",
        r"\end{table}",
        "",
    ]
    # what each statistic's claims were scaled to and how (paper/sections/claims/<statistic>.tex)
    lines += [rf"\IfFileExists{{{CLAIM_TEXTS}/{name}.tex}}{{\input{{{CLAIM_TEXTS}/{name}.tex}}}}{{}}"
              for name in dict.fromkeys(claims["statistic"])]
    lines += [""] + [claim_figure(row) + "\n" for row in claims.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def claims_texts(claims: pd.DataFrame) -> dict[str, str]:
    """File (below the generated folder, :data:`initstudy.study.paths.CLAIMS_GENERATED`)
    -> text, for the claims."""
    texts = {
        "claims_variables.tex": macro_file(merge_macros(macros.claims_macros(claims)), "initstudy typeset-claims"),
        "tables/claims.tex": tables.claims_table(claims),
        "claims.tex": claims_section(claims),
    }
    if tuple(texts) != CLAIMS_GENERATED:
        raise ValueError(f"typeset makes claims files {tuple(texts)}, the workflow expects {CLAIMS_GENERATED}")
    return texts


def write_claims(claims: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the claims' files (:func:`claims_texts`) of ``claims.csv`` below ``out_dir``."""
    written = []
    for name, text in claims_texts(read_table(claims)).items():
        path = Path(out_dir) / name
        write_text(path, text)
        written.append(path)
    return written

