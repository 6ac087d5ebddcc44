"""The command line's arguments: one subcommand per verb of :mod:`initstudy.cli`, whose
``cmd_<verb>`` (``-`` read as ``_``) runs it. Defaults are the study's paths
(:mod:`initstudy.study.paths`), so a verb run by hand in the working directory reads
and writes what the workflow's rule would."""

from __future__ import annotations

import argparse

from initstudy.cli_support import positive_int, table_arg
from initstudy.study import paths as paths_of


def build_parser(description: str) -> argparse.ArgumentParser:
    """The parser of ``python -m initstudy``; ``verb`` names the subcommand."""
    parser = argparse.ArgumentParser(prog="initstudy", description=description)
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("train", help="train a pack of runs (one stacked model) and write their records")
    p.add_argument("--pack", required=True, help="JSON {pack_id, runs, training}, or @FILE holding it")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="TF intra/inter-op threads (the rule's threads)")
    p.add_argument("--out-root", default=paths_of.RUNS_ROOT)
    p.add_argument("--checkpoint-dir", default=paths_of.CHECKPOINTS)
    p.add_argument("--done", help="once every record is written, list them in this file (the job's output)")
    p.add_argument("--export-dir", default=None, help="also save each member as DIR/<run_id>/model.keras")
    p.add_argument("--data-dir", default=None, help="Keras dataset cache (default ~/.keras/datasets)")
    p.add_argument("--no-determinism", action="store_true", help="leave TF op determinism off (recorded)")

    p = sub.add_parser("validate", help="check a config file (initializers with Keras too) and count its runs")
    p.add_argument("config")
    p.add_argument("--stamp", help="on success, also write the verdict to this file (the workflow's check)")

    p = sub.add_parser("plan", help="cost preview: train jobs per (dataset, arch, depth) and estimated time")
    p.add_argument("config")
    p.add_argument("--root", default=paths_of.RUNS_ROOT, help="where finished records (and their timings) are")
    p.add_argument("--threads", type=positive_int, help="threads of the rate measurement (default: the config's)")

    p = sub.add_parser("tables", help="build the tidy tables from the records of a config's runs")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG, help="the config whose runs' records to read")
    p.add_argument("--records-root", default=paths_of.RUNS_ROOT, help="where the records are")
    p.add_argument("--records", help="a file listing the records to read, one path a line (instead of --config)")
    for name, path in paths_of.TABLES.items():
        p.add_argument(f"--{name}-out", default=path)
    p.add_argument("--provenance-out", default=paths_of.PROVENANCE)

    p = sub.add_parser("resolve-config", help="write a config as run: checked, defaults filled in, as YAML")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("config", nargs="?", help="a config file")
    source.add_argument("--json", help="the config as a JSON object (what the workflow passes: its config "
                                       "with the command line's --config overrides applied)")
    p.add_argument("--out", default=paths_of.RESOLVED_CONFIG)

    p = sub.add_parser("select-rates", help="the two-stage tuning's choice: each cell and initializer's rate")
    p.add_argument("--records", required=True, help="a file listing the selection stage's records")
    p.add_argument("--diverged-policy", choices=["chance", "exclude"], default="chance")
    p.add_argument("--out", default=paths_of.SELECTION)

    p = sub.add_parser("tune", help="each initializer's learning rate (tuning.csv) and the runs compared")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--tuning-out", default=paths_of.TUNING["tuning"])
    p.add_argument("--compared-out", default=paths_of.TUNING["compared_runs"])

    p = sub.add_parser("stats", help="Friedman, pairwise Wilcoxon (Holm), bootstrap CIs, divergence rates")
    p.add_argument("--runs", default=paths_of.TUNING["compared_runs"])
    p.add_argument("--out-dir", default=paths_of.STATS_DIR)
    p.add_argument("--diverged-policy", choices=["chance", "exclude"], default="chance")
    p.add_argument("--alpha", type=float, default=0.05)

    p = sub.add_parser("analyze", help="every analysis table the figures and the paper show, as CSV")
    for name, path in ((t, paths_of.TABLES[t]) for t in paths_of.ANALYZED_TABLES):
        p.add_argument(f"--{name}", default=path)
    p.add_argument("--compared", default=paths_of.TUNING["compared_runs"], help="initstudy tune's runs compared")
    p.add_argument("--stats-dir", default=paths_of.STATS_DIR)
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--out-dir", default=paths_of.ANALYSIS_DIR)

    p = sub.add_parser("audit", help="check what every initializer of a config actually draws")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--csv", default=paths_of.AUDIT)

    p = sub.add_parser("theory", help="mean-field variance per layer beside the variance measured at init")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--signal", default=paths_of.TABLES["signal"])
    p.add_argument("--out-dir", default=paths_of.ANALYSIS_DIR)

    p = sub.add_parser("draw", help="draw figures (by file name) from the tables they read")
    p.add_argument("figures", nargs="+", help="output PDFs; each file name is a figure of the registry")
    p.add_argument("--table", type=table_arg, action="append", default=[], metavar="NAME=PATH",
                   help="a table the figures read, by the name the registry gives it")
    p.add_argument("--claim", metavar="STATISTIC",
                   help="the figures are claim figures of this claim statistic (any file names)")

    p = sub.add_parser("typeset", help="the paper's macros (variables.tex) and LaTeX tables")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--analysis-dir", default=paths_of.ANALYSIS_DIR)
    p.add_argument("--stats-dir", default=paths_of.STATS_DIR)
    p.add_argument("--audit", default=paths_of.AUDIT)
    p.add_argument("--theory", default=f"{paths_of.ANALYSIS_DIR}/theory.csv")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--provenance", default=paths_of.PROVENANCE)
    p.add_argument("--out-dir", default=paths_of.GENERATED)

    p = sub.add_parser("claim", help="decide a claim (PASS, FAIL, INCONCLUSIVE) from its study's tidy tables")
    p.add_argument("--config", required=True, help="the claim's config, config/claims/<name>.yaml")
    p.add_argument("--tables-dir", required=True, help="where its runs/history/signal(/weights).parquet are")
    p.add_argument("--out-dir", required=True, help="where verdict.csv and its figure's tables go")
    p.add_argument("--registry", default=paths_of.CLAIM_REGISTRY, help="the registered claim rules")

    p = sub.add_parser("register", help="register a claim's rules (hash, date, commit) before its runs exist")
    p.add_argument("claim", help="a claim's name (config/claims/<name>.yaml) or its config file")
    p.add_argument("--after-data", action="store_true",
                   help="register although some of its runs have records, marked 'registered after data'")
    p.add_argument("--registry", default=paths_of.CLAIM_REGISTRY)
    p.add_argument("--records-root", default=paths_of.RUNS_ROOT, help="where the runs' records are")

    p = sub.add_parser("claims-table", help="one row per claim from the claims' verdict tables")
    p.add_argument("verdicts", nargs="+", help="results/claims/<name>/verdict.csv of each claim")
    p.add_argument("--out", default=paths_of.CLAIMS_TABLE)

    p = sub.add_parser("check-controls", help="fail (exit 3) when a zeros run of the study learned beyond chance")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--config", help="a control study's config (config/controls/<name>.yaml) whose runs these are")
    p.add_argument("--margin", type=float, default=None,
                   help="accuracy above chance a zeros run may reach (default: the control's, else 0.05)")
    p.add_argument("--out", help="also write the control (a row for it, one per cell) to this CSV")

    p = sub.add_parser("typeset-claims", help="the claims' macros, table and section part from claims.csv")
    p.add_argument("--claims", default=paths_of.CLAIMS_TABLE)
    p.add_argument("--out-dir", default=paths_of.GENERATED)

    p = sub.add_parser("typeset-controls", help="the paper's controls part from the controls' tables")
    p.add_argument("controls", nargs="*", help="results/controls.csv and results/controls/<name>/control.csv")
    p.add_argument("--out-dir", default=paths_of.GENERATED)

    p = sub.add_parser("publish", help="the study's published tables in one archive (what from_tables=True reads)")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--out", default=paths_of.PUBLISHED)
    return parser
