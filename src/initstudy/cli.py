"""``python -m initstudy <verb>``: the entry points the workflow's rules call.

Each verb is thin: it parses arguments, calls one function of the package, and turns
an expected failure (bad config, bad record, missing dataset file) into one line on
stderr and exit status 2 — never a traceback from deep inside a library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class UsageError(ValueError):
    """Bad command-line input; the message names the argument and the value."""


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (argparse reports the value on failure)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _json_arg(text: str, name: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{name}: expected a JSON object, got {type(value).__name__}")
    return value


def cmd_train(args) -> int:
    from initstudy.core import runtime

    from initstudy.train.job import parse_pack, train_pack

    payload = _json_arg(Path(args.pack[1:]).read_text() if args.pack.startswith("@") else args.pack, "--pack")
    pack, training = parse_pack(payload)
    runtime.configure(threads=args.threads, deterministic=not args.no_determinism, xla=training["xla"])
    written = train_pack(pack, training, out_root=args.out_root, checkpoint_dir=args.checkpoint_dir,
                         export_dir=args.export_dir, data_dir=args.data_dir)
    for path in written:
        print(path)
    return 0


def cmd_validate(args) -> int:
    from initstudy.study import config
    from initstudy.study import runs

    cfg = config.load(args.config)
    packs = runs.make_packs(runs.expand(cfg), cfg["training"]["pack_size"])
    print(f"{args.config}: valid; {sum(len(p.runs) for p in packs)} runs in {len(packs)} training jobs")
    return 0


def cmd_plan(args) -> int:
    from initstudy.study import config
    from initstudy.train import plan

    print(plan.render(plan.plan(config.load(args.config), args.root)))
    return 0


def cmd_aggregate(args) -> int:
    from initstudy.tables import build as aggregate

    paths = sorted(Path(args.root).rglob("record.json"))
    if not paths:
        raise UsageError(f"--root {args.root}: no record.json below it")
    aggregate.write_tables(paths, args.runs_out, args.signal_out, args.weights_out, args.provenance_out)
    print(f"{len(paths)} records -> {args.runs_out}, {args.signal_out}, {args.weights_out}, {args.provenance_out}")
    return 0


def cmd_figures(args) -> int:
    from initstudy import figures

    for path in figures.main(args.runs, args.out_dir):
        print(path)
    return 0


def cmd_report(args) -> int:
    from initstudy import report

    for path in report.main(args.runs, args.config, args.provenance, args.out_dir):
        print(path)
    return 0


def cmd_stats(args) -> int:
    import pandas as pd

    from initstudy.analysis import stats

    final = stats.final_results(pd.read_parquet(args.runs))
    tables = stats.compute_all(final, diverged_policy=args.diverged_policy, alpha=args.alpha)
    stats.write_all(tables, args.out_dir)
    print(f"{', '.join(tables)} -> {args.out_dir}")
    return 0


def cmd_audit(args) -> int:
    from initstudy.analysis import audit

    audit.main(args.config, args.csv, args.tex)
    print(f"{args.csv}, {args.tex}")
    return 0


def cmd_theory(args) -> int:
    from initstudy.analysis import theory as meanfield

    meanfield.main(args.config, args.signal, args.audit, args.figure, args.csv, args.tex, args.variables)
    print(f"{args.figure}, {args.csv}, {args.tex}, {args.variables}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="initstudy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("train", help="train a pack of runs (one stacked model) and write their records")
    p.add_argument("--pack", required=True, help="JSON {pack_id, runs, training}, or @FILE holding it")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="TF intra/inter-op threads (the rule's threads)")
    p.add_argument("--out-root", default="results/runs")
    p.add_argument("--checkpoint-dir", default="results/checkpoints")
    p.add_argument("--export-dir", default=None, help="also save each member as DIR/<run_id>/model.keras")
    p.add_argument("--data-dir", default=None, help="Keras dataset cache (default ~/.keras/datasets)")
    p.add_argument("--no-determinism", action="store_true", help="leave TF op determinism off (recorded)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("validate", help="check a config file and count its runs and jobs")
    p.add_argument("config")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="cost preview: train jobs per (dataset, arch, depth) and estimated time")
    p.add_argument("config")
    p.add_argument("--root", default="results/runs", help="where finished records (and their timings) are")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("aggregate", help="build the tidy tables from every record below a folder")
    p.add_argument("--root", default="results/runs")
    p.add_argument("--runs-out", default="results/runs.parquet")
    p.add_argument("--signal-out", default="results/signal.parquet")
    p.add_argument("--weights-out", default="results/weights.parquet")
    p.add_argument("--provenance-out", default="results/provenance.json")
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("figures", help="draw the paper's figures from the tidy table")
    p.add_argument("--runs", default="results/runs.parquet")
    p.add_argument("--out-dir", default="paper/generated/figures")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("report", help="write paper/generated/variables.tex and the LaTeX tables")
    p.add_argument("--runs", default="results/runs.parquet")
    p.add_argument("--config", default="results/config.resolved.yaml")
    p.add_argument("--provenance", default="results/provenance.json")
    p.add_argument("--out-dir", default="paper/generated")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("stats", help="Friedman, pairwise Wilcoxon (Holm), bootstrap CIs, divergence rates")
    p.add_argument("--runs", default="results/runs.parquet")
    p.add_argument("--out-dir", default="results/stats")
    p.add_argument("--diverged-policy", choices=["chance", "exclude"], default="chance")
    p.add_argument("--alpha", type=float, default=0.05)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("audit", help="check what every initializer of a config actually draws")
    p.add_argument("--config", default="results/config.resolved.yaml")
    p.add_argument("--csv", default="results/audit.csv")
    p.add_argument("--tex", default="paper/generated/tables/audit.tex")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("theory", help="mean-field variance per layer beside the variance measured at init")
    p.add_argument("--config", default="results/config.resolved.yaml")
    p.add_argument("--signal", default="results/signal.parquet")
    p.add_argument("--audit", default="results/audit.csv", help="audit table, for the paper's macros")
    p.add_argument("--figure", default="paper/generated/figures/theory_vs_measurement.pdf")
    p.add_argument("--csv", default="results/theory.csv")
    p.add_argument("--tex", default="paper/generated/tables/theory.tex")
    p.add_argument("--variables", default="paper/generated/variables_initializers.tex")
    p.set_defaults(func=cmd_theory)

    args = parser.parse_args(argv)
    from initstudy.study.config import ConfigError
    from initstudy.data.datasets import DatasetError
    from initstudy.inits.specs import InitializerError
    from initstudy.train.records import RecordError

    try:
        return args.func(args)
    except (UsageError, ConfigError, DatasetError, InitializerError, RecordError, OSError) as exc:
        print(f"initstudy {args.verb}: error: {exc}", file=sys.stderr)
        return 2
