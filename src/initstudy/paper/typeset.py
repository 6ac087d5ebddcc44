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
from initstudy.paper import macros, tables, tuning
from initstudy.paper.latex import escape_latex, macro_file, macro_name, merge_macros
from initstudy.study import catalog
from initstudy.study import config as study_config
from initstudy.study.paths import CLAIMS_GENERATED, CONTROLS_GENERATED, FIGURES_DIR, GENERATED, LATEX_TABLES

#: The analysis tables the text reads (``<analysis_dir>/<name>.csv``).
ANALYSIS_TABLES = ("accuracy", "best", "depth", "depth_summary", "guideline", "power", "power_effects",
                   "overview", "spearman", "weight_runs", "tuning", "robustness")


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
        macros.count_macros(inputs.runs, config["grid"]["seeds"]),
        macros.best_macros(a["best"], overview),
        macros.divergence_macros(inputs.runs),
        macros.execution_macros(inputs.runs),
        macros.training_macros(config),
        macros.provenance_macros(inputs.provenance),
        macros.stats_macros(overview, inputs.policy, config["stats"]["alpha"]),
        macros.power_macros(power),
        macros.power_effect_macros(a["power_effects"]),
        macros.depth_macros(a["depth"], a["depth_summary"]),
        macros.guideline_macros(a["guideline"], config),
        macros.signal_macros(a["spearman"]),
        macros.weights_macros(a["weight_runs"]),
        macros.theory_macros(inputs.theory, config["training"]["width"], max(config["grid"]["depths"])),
        macros.audit_macros(inputs.audit),
        tuning.tuning_macros(a["tuning"], a["robustness"], config),
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
        "tuning": tuning.tuning_table(a["tuning"], a["robustness"]),
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


def write_texts(texts_by_name: dict[str, str], out_dir: str | Path) -> list[Path]:
    """Write each text to ``<out_dir>/<name>``, atomically; the paths written."""
    written = []
    for name, text in texts_by_name.items():
        path = Path(out_dir) / name
        write_text(path, text)
        written.append(path)
    return written


def write(inputs: Inputs, out_dir: str | Path) -> list[Path]:
    """Write every generated file below ``out_dir``, each atomically."""
    return write_texts(texts(inputs), out_dir)


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
    "schoenholz2017": (r"Left: final training accuracy per weight variance $\sigma_w^2$ (log scale) and depth "
                       r"(mean over seeds), under the mean-field prediction $L = 6\,\xi_c(\sigma_w^2)$ (white) "
                       r"and the critical $\sigma_w^2$ (dashed); crosses mark cells where most seeds' "
                       r"trainability disagrees with the prediction. Right: per seed, the share of cells where "
                       r"the prediction agrees with measured trainability and the share for the best "
                       r"$\sigma_w^2$-blind depth cutoff (its cutoff beside it), chosen on the seed's own runs."),
    "pennington2017": (r"Left: the spread of the Jacobian spectrum at initialization, $V = \mathrm{var}(s^2) / "
                       r"\overline{s^2}^{\,2}$, against depth, mean and \StatsConfidence{}\,\% BCa interval over "
                       r"seeds, for the combinations with a free-probability prediction (the prediction dotted) "
                       r"and the grid's others (faint). Right: the distribution of $s^2 / \overline{s^2}$ at the "
                       r"deepest depth, the numerically zero values left out."),
    "saxe2013": (r"Left: SGD steps to the loss threshold against depth, every depth and initializer at its "
                 r"own chosen learning rate, one point per seed (open triangles: never reached, plotted at the "
                 r"last step observed) and the median line. Middle, a mechanism check that is no sub-claim: "
                 r"the chosen rate against depth beside a rate falling as $1/\text{depth}$. Right: each seed's "
                 r"fitted change from the shallowest to the deepest network of $\ln T_\text{orthogonal}$ and "
                 r"of $\ln(T_\text{Gaussian}/T_\text{orthogonal})$, their mean with the verdict's interval, "
                 r"and the region each rule claims."),
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
    paragraph of each statistic the claims use (:data:`CLAIM_TEXTS`) and the figure of each
    claim whose statistic has one."""
    generated = GENERATED.removeprefix("paper/")
    lines = [
        "% Generated by initstudy typeset-claims from claims.csv; do not edit.",
        rf"\input{{{generated}/claims_variables.tex}}",
        r"Of the \NumClaims{} claims, \NumClaimsPass{} pass, \NumClaimsFail{} fail and "
        r"\NumClaimsInconclusive{} are inconclusive (Table~\ref{tab:claims}), over \ClaimsNumSubclaims{} "
        r"sub-claims. Every sub-claim had at least \ClaimsMinValues{} values (seeds, or seeds times the "
        r"levels it pools), where its test needs \ClaimsValuesNeeded{} to reach $p \le \ClaimsAlpha$ at "
        r"all: the largest smallest-reachable $p$ of any claim is \ClaimsMaxMinP. A FAIL, which needs a "
        r"sub-claim's contrary test to reject after Holm's correction over the claim's sub-claims, was within "
        r"reach of the values of \NumClaimsFailReachable{} of the \NumClaims{} claims (the table gives the "
        r"smallest adjusted $p$ each could reach); where it was not, the claim could pass or stay inconclusive "
        r"but not fail.",
        "",
        r"Of the \NumClaims{} claims' rules, \NumClaimsRegistered{} were registered (hashed, dated and "
        r"committed) before any of their runs existed, \NumClaimsRegisteredAfterData{} were registered after "
        r"their runs existed, and \NumClaimsUnregistered{} are unregistered: there is no registration, their "
        r"rules no longer hash to it, or records older than it exist. The table marks the last two kinds under "
        r"the claim's name.",
        "",
        r"\begin{table}[tbp]",
        r"  \centering",
        r"  \caption{The claims: hypothesis, source and the sub-claim that decided the verdict (for a PASS "
        r"the one of largest $p$, the conjunction's $p$; for a FAIL the one of smallest Holm-adjusted $p$), "
        r"its effect with "
        r"its \ClaimsConfidence{}\,\% interval, $p$ against the rule's bound (for a FAIL after Holm's "
        r"correction), the smallest $p$ the test could reach with the claim's $n$ values per sub-claim and, "
        r"below it, the smallest Holm-adjusted $p$ a FAIL could reach, and the verdict.}",
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
    # one figure per claim whose statistic draws one (initstudy.study.catalog.CLAIM_FIGURES)
    lines += [""] + [claim_figure(row) + "\n" for row in claims.itertuples(index=False)
                     if row.statistic in catalog.CLAIM_FIGURES]
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
    return write_texts(claims_texts(read_table(claims)), out_dir)


# ------------------------------------------------------------------ controls


def controls_section(controls: pd.DataFrame) -> str:
    """The generated part of the controls part (``generated/controls.tex``, read by
    ``paper/sections/controls.tex``): each control's macros and a paragraph, the
    study's own control (``control`` = ``study``) first, with its runs and its distinct
    values, the real replicates."""
    lines = ["% Generated by initstudy typeset-controls from the controls' tables; do not edit.",
             macro_file(merge_macros(macros.controls_macros(controls)), "initstudy typeset-controls").rstrip("\n"),
             ""]
    rows = controls[controls["level"] == "control"]
    rows = pd.concat([rows[rows["control"] == "study"], rows[rows["control"] != "study"]])
    if "study" not in set(rows["control"]):
        lines += [r"The main study has no run initialized with zeros, so the symmetry control on its own runs "
                  r"(which runs on every study) had nothing to check here.", ""]

    def levels(value) -> str:
        return escape_latex(str(value).replace("+", ", "))

    for row in rows.itertuples(index=False):
        m = "\\" + macro_name("Control", row.control)
        if row.control == "study":
            lines.append(r"\paragraph{The main study's symmetry control.}")
            subject = rf"The main study's {m}Runs{{}} runs initialized with zeros ({m}Cells{{}} cells, {m}Seeds{{}} seeds)"
        else:
            source = escape_latex(row.source_paper) + (f", {escape_latex(row.source_figure)}"
                                                      if isinstance(row.source_figure, str) and row.source_figure
                                                      else "")
            lines.append(rf"\paragraph{{Control \texttt{{{escape_latex(row.control)}}}.}}")
            lines.append(rf"{escape_latex(row.hypothesis)} ({source}.) A study of its own checks it: "
                         rf"{levels(row.arch)} networks with activations {levels(row.activation)} at depths "
                         rf"{levels(row.depth)}, trained with {levels(row.optimizer)} on {levels(row.dataset)}.")
            subject = rf"Its {m}Runs{{}} runs ({m}Cells{{}} cells, {m}Seeds{{}} seeds)"
        if int(row.n_distinct) < int(row.n_runs):
            replicates = (rf"{subject} gave only {m}Distinct{{}} distinct test accuracies: a zero network's output "
                          r"depends only on its output bias, and its data order only on the seed, so runs that "
                          rf"share a seed repeat one number whatever their activation or depth, and the control "
                          rf"rests on {m}Distinct{{}} replicates, not {m}Runs.")
        else:
            replicates = rf"{subject} gave {m}Distinct{{}} distinct test accuracies."
        verdict = ("the control holds." if bool(row.ok) else
                   r"the control \textbf{fails}: the pipeline that made these numbers is broken.")
        lines.append(rf"{replicates} The largest test accuracy above chance was {m}MaxExcess{{}} percentage "
                     rf"points, against a margin of {m}Margin{{}} points: {verdict}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def controls_texts(controls: pd.DataFrame) -> dict[str, str]:
    """File (below the generated folder, :data:`initstudy.study.paths.CONTROLS_GENERATED`)
    -> text, for the controls."""
    texts = {"controls.tex": controls_section(controls)}
    if tuple(texts) != CONTROLS_GENERATED:
        raise ValueError(f"typeset makes controls files {tuple(texts)}, the workflow expects {CONTROLS_GENERATED}")
    return texts


def write_controls(controls: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Write the controls part (:func:`controls_texts`) of the control tables
    ``controls`` (the study's ``results/controls.csv`` and each control study's
    ``control.csv``; an empty one has no zeros run) below ``out_dir``."""
    from initstudy.analysis.controls import CONTROL_COLUMNS

    frames = [read_table(path) for path in controls]
    frames = [f for f in frames if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTROL_COLUMNS)
    return write_texts(controls_texts(table), out_dir)
