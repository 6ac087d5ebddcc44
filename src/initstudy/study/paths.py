"""Where the study's outputs live, each path defined once (relative to the working
directory the workflow runs in). The CLI's defaults and the workflow's rules read
them from here."""

from __future__ import annotations

RESULTS = "results"
#: One folder per run below it: ``<RUNS_ROOT>/<run_id>/record.json``.
RUNS_ROOT = f"{RESULTS}/runs"
CHECKPOINTS = f"{RESULTS}/checkpoints"
#: One manifest per pack of pending runs (the input of its train job) and its done marker.
PACKS_DIR = f"{RESULTS}/packs"
RESOLVED_CONFIG = f"{RESULTS}/config.resolved.yaml"
PROVENANCE = f"{RESULTS}/provenance.json"
#: The tidy tables: name -> path.
TABLES = {
    "runs": f"{RESULTS}/runs.parquet",
    "history": f"{RESULTS}/history.parquet",
    "signal": f"{RESULTS}/signal.parquet",
    "weights": f"{RESULTS}/weights.parquet",
    "jacobian": f"{RESULTS}/jacobian.parquet",
}
#: The tidy tables the study's analysis reads (the Jacobian spectra are for claims).
ANALYZED_TABLES = ("runs", "history", "signal", "weights")
STATS_DIR = f"{RESULTS}/stats"
AUDIT = f"{RESULTS}/audit.csv"
ANALYSIS_DIR = f"{RESULTS}/analysis"
#: The analysis tables (``<ANALYSIS_DIR>/<name>.csv``) of
#: :data:`initstudy.analysis.write.TABLES`, and those of the theory verb.
ANALYSIS_TABLES = ("accuracy", "best", "curves", "signal_profile", "trainability", "spearman", "rank_summary",
                   "weight_runs", "depth", "depth_summary", "guideline", "power", "overview")
THEORY_TABLES = ("theory_predicted", "theory_measured", "theory")
STATS_TABLES = ("friedman", "pairwise", "bootstrap", "ranks", "divergence")
GENERATED = "paper/generated"
FIGURES_DIR = f"{GENERATED}/figures"
LATEX_TABLES_DIR = f"{GENERATED}/tables"
#: The generated LaTeX tables (``<LATEX_TABLES_DIR>/<name>.tex``) of :mod:`initstudy.paper.typeset`.
LATEX_TABLES = ("grid", "software", "results", "depth", "guideline", "signal", "audit", "theory")
PAPER_PDF = "paper/build/main.pdf"
#: The claims: one study config per claim below CLAIM_CONFIGS (``<name>.yaml``, with a
#: ``claim`` section); each claim's tidy tables, ``verdict.csv`` and figure tables in
#: ``<CLAIMS_DIR>/<name>/``, every claim's row in CLAIMS_TABLE.
CLAIM_CONFIGS = "config/claims"
CLAIMS_DIR = f"{RESULTS}/claims"
CLAIM_VERDICT = "verdict.csv"
CLAIMS_TABLE = f"{CLAIMS_DIR}/claims.csv"
#: The main study's control check (``initstudy check-controls --out``).
CONTROLS = f"{RESULTS}/controls.csv"
#: What ``initstudy typeset-claims`` writes below GENERATED: the claims' macros, their
#: table and the generated part of the claims section (which paper/sections/claims.tex
#: reads when it exists); each claim's figure is ``<FIGURES_DIR>/claim_<name>.pdf``.
CLAIMS_GENERATED = ("claims_variables.tex", "tables/claims.tex", "claims.tex")


def claim_dir(name: str) -> str:
    """The folder of claim ``name``'s tables and verdict."""
    return f"{CLAIMS_DIR}/{name}"



def claim_config(name: str) -> str:
    """Claim ``name``'s config file."""
    return f"{CLAIM_CONFIGS}/{name}.yaml"


def claim_tables(name: str) -> dict[str, str]:
    """Claim ``name``'s tidy tables: name -> path, as :data:`TABLES` for the study."""
    return {table: f"{claim_dir(name)}/{table}.parquet" for table in TABLES}


def claim_figure(name: str) -> str:
    """Claim ``name``'s figure."""
    return f"{FIGURES_DIR}/claim_{name}.pdf"
