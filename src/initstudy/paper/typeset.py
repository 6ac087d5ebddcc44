"""Typeset the paper's generated text: ``variables.tex`` (every macro, once) and the
LaTeX tables, from the study's tables alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from initstudy.analysis.write import diverged_policy, read_csv, read_stats
from initstudy.core.atomic import write_text
from initstudy.paper import macros, tables
from initstudy.paper.latex import macro_file, merge_macros
from initstudy.study import config as study_config
from initstudy.study.paths import LATEX_TABLES

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


def load_provenance(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The provenance dict, from a record (path or dict) or a provenance dict itself."""
    if not isinstance(source, dict):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    return source.get("provenance", source)


def load(runs: str | Path, analysis_dir: str | Path, stats_dir: str | Path, audit: str | Path,
         theory: str | Path, config: str | Path, provenance: str | Path) -> Inputs:
    """Read every input. The config is read with :func:`initstudy.study.config.load`, so
    its defaults are filled in (the paper cites every training setting, given or not)."""
    return Inputs(
        runs=pd.read_parquet(runs),
        analysis={name: read_csv(Path(analysis_dir) / f"{name}.csv") for name in ANALYSIS_TABLES},
        audit=read_csv(audit),
        theory=read_csv(theory),
        policy=diverged_policy(read_stats(stats_dir)),
        config=study_config.load(config),
        provenance=load_provenance(provenance),
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
    return {"variables.tex": variables(inputs), **{f"tables/{name}.tex": text for name, text in latex.items()}}


def write(inputs: Inputs, out_dir: str | Path) -> list[Path]:
    """Write every generated file below ``out_dir``, each atomically."""
    written = []
    for name, text in texts(inputs).items():
        path = Path(out_dir) / name
        write_text(path, text)
        written.append(path)
    return written
