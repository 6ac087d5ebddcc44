"""Where the study's outputs live, each path defined once (relative to the working
directory the workflow runs in). The CLI's defaults and the workflow's rules read
them from here."""

from __future__ import annotations

RESULTS = "results"
#: One folder per run below it: ``<RUNS_ROOT>/<run_id>/record.json``.
RUNS_ROOT = f"{RESULTS}/runs"
CHECKPOINTS = f"{RESULTS}/checkpoints"
RESOLVED_CONFIG = f"{RESULTS}/config.resolved.yaml"
PROVENANCE = f"{RESULTS}/provenance.json"
#: The tidy tables: name -> path.
TABLES = {
    "runs": f"{RESULTS}/runs.parquet",
    "history": f"{RESULTS}/history.parquet",
    "signal": f"{RESULTS}/signal.parquet",
    "weights": f"{RESULTS}/weights.parquet",
}
STATS_DIR = f"{RESULTS}/stats"
ANALYSIS_DIR = f"{RESULTS}/analysis"
GENERATED = "paper/generated"
FIGURES_DIR = f"{GENERATED}/figures"
LATEX_TABLES_DIR = f"{GENERATED}/tables"
PAPER_PDF = "paper/build/main.pdf"


def record_path(run_id: str, root: str = RUNS_ROOT) -> str:
    """The record of the run ``run_id`` below ``root``."""
    return f"{root}/{run_id}/record.json"
