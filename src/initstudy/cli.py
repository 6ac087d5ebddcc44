"""``python -m initstudy <verb>``: the entry points the workflow's rules call.

Each verb is thin: it parses arguments, calls one function of the package, and turns
an expected failure (bad config, bad record, missing dataset file) into one line on
stderr and exit status 2 — never a traceback from deep inside a library.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from initstudy.cli_support import UsageError, control_failure, json_arg, positive_int, table_arg
from initstudy.study import paths as paths_of


def cmd_train(args) -> int:
    from initstudy.core import runtime

    from initstudy.train.job import parse_pack, train_pack

    payload = json_arg(Path(args.pack[1:]).read_text() if args.pack.startswith("@") else args.pack, "--pack")
    pack, training = parse_pack(payload)
    runtime.configure(threads=args.threads, deterministic=not args.no_determinism, xla=training["xla"],
                      gpu=training["gpu"])
    written = train_pack(pack, training, out_root=args.out_root, checkpoint_dir=args.checkpoint_dir,
                         export_dir=args.export_dir, data_dir=args.data_dir)
    if args.done:
        from initstudy.core.atomic import write_text

        write_text(args.done, "".join(f"{path}\n" for path in written))
    for path in written:
        print(path)
    return 0


def cmd_validate(args) -> int:
    from initstudy.core.atomic import write_text
    from initstudy.inits import resolve
    from initstudy.study import config, runs

    cfg = config.load(args.config)
    resolve.check_config(cfg)
    packs = runs.make_packs(runs.expand(cfg), cfg["training"]["pack_size"])
    message = f"{args.config}: valid; {sum(len(p.runs) for p in packs)} runs in {len(packs)} training jobs"
    if args.stamp:
        write_text(args.stamp, message + "\n")
    print(message)
    return 0


def cmd_plan(args) -> int:
    from initstudy.core import runtime
    from initstudy.study import config
    from initstudy.train import plan

    cfg = config.load(args.config)
    runtime.configure(threads=args.threads or cfg["training"]["threads"], xla=cfg["training"]["xla"])
    print(plan.render(plan.plan(cfg, args.root)))
    return 0


def cmd_tables(args) -> int:
    from initstudy.study import config, stages
    from initstudy.tables import build
    from initstudy.train.pending import pending

    # The records of the config's runs (not whatever lies below the folder: a record
    # of a run the config no longer has stays out of the tables), or those listed.
    if args.records:
        paths = Path(args.records).read_text().split()
    else:
        cfg = config.load(args.config)
        runs = stages.known_runs(cfg, paths_of.SELECTION)
        paths = list(pending(cfg, args.records_root, runs).records.values())
    outputs = {name: getattr(args, f"{name}_out") for name in paths_of.TABLES}
    build.write_tables(paths, outputs, args.provenance_out)
    print(f"{len(paths)} records -> {', '.join(map(str, outputs.values()))}, {args.provenance_out}")
    return 0


def cmd_resolve_config(args) -> int:
    import yaml

    from initstudy.core.atomic import write_text
    from initstudy.study import config

    resolved = config.load(args.config) if args.json is None else config.check(json_arg(args.json, "--json"))
    write_text(args.out, yaml.safe_dump(resolved, sort_keys=False))
    print(args.out)
    return 0


def cmd_select_rates(args) -> int:
    from initstudy.analysis import tuning
    from initstudy.core.table_io import write_table
    from initstudy.tables import build
    from initstudy.train import records

    runs = build.frames([records.read(path) for path in Path(args.records).read_text().split()])["runs"]
    print(write_table(args.out, tuning.choose_rates(runs, args.diverged_policy)))
    return 0


def cmd_tune(args) -> int:
    from initstudy.analysis import tuning
    from initstudy.core.table_io import read_table, write_tables
    from initstudy.study import config

    cfg = config.load(args.config)
    tables = tuning.tune(read_table(args.runs), cfg["stats"]["diverged_policy"], cfg["tuning"]["selection_seeds"],
                         cfg["grid"]["seeds"])
    for path in write_tables(tables, {"tuning": args.tuning_out, "compared_runs": args.compared_out}):
        print(path)
    return 0


def cmd_stats(args) -> int:
    from initstudy.analysis import stats
    from initstudy.core.table_io import read_table, write_tables

    tables = stats.compute_all(read_table(args.runs), diverged_policy=args.diverged_policy, alpha=args.alpha)
    write_tables(tables, {name: Path(args.out_dir) / f"{name}.csv" for name in paths_of.STATS_TABLES})
    print(f"{', '.join(tables)} -> {args.out_dir}")
    return 0


def cmd_analyze(args) -> int:
    from initstudy.analysis import tuning, write
    from initstudy.core.table_io import read_table, write_tables
    from initstudy.study import config

    stats_tables = {name: read_table(Path(args.stats_dir) / f"{name}.csv") for name in paths_of.STATS_TABLES}
    cfg = config.load(args.config)
    compared = read_table(args.compared)  # the runs at their chosen rates: the tidy tables' rows of those
    tidy = {name: read_table(getattr(args, name)) for name in paths_of.ANALYZED_TABLES}
    inputs = write.Inputs(
        **{name: table[table["run_id"].isin(compared["run_id"])] for name, table in tidy.items()},
        stats=stats_tables, diverged_policy=write.diverged_policy(stats_tables), alpha=cfg["stats"]["alpha"],
        equivalence_margin=cfg["stats"]["equivalence_margin"],
        tuning_runs=tuning.selection_runs(tidy["runs"], cfg["tuning"]["selection_seeds"]),
        robustness_margin=cfg["tuning"]["robustness_margin"],
    )
    out = {name: Path(args.out_dir) / f"{name}.csv" for name in paths_of.ANALYSIS_TABLES}
    for path in write_tables(write.compute(inputs), out):
        print(path)
    return 0


def cmd_audit(args) -> int:
    from initstudy.analysis import audit

    audit.main(args.config, args.csv)
    print(args.csv)
    return 0


def cmd_theory(args) -> int:
    from initstudy.analysis import theory
    from initstudy.core.table_io import read_table, write_tables
    from initstudy.study import config

    tables = theory.theory_tables(config.load(args.config), read_table(args.signal))
    for path in write_tables(tables, {name: Path(args.out_dir) / f"{name}.csv" for name in paths_of.THEORY_TABLES}):
        print(path)
    return 0


def cmd_draw(args) -> int:
    from initstudy.figures import registry

    try:
        written = registry.write(args.figures, dict(args.table), claim=args.claim)
    except ValueError as exc:  # an unknown figure or claim statistic
        raise UsageError(str(exc)) from None
    for path in written:
        print(path)
    return 0


def cmd_typeset(args) -> int:
    from initstudy.paper import typeset

    inputs = typeset.load(args.runs, args.analysis_dir, args.stats_dir, args.audit, args.theory, args.config,
                          args.provenance)
    for path in typeset.write(inputs, args.out_dir):
        print(path)
    return 0



def cmd_claim(args) -> int:
    from initstudy.analysis.claims import evaluate, registration
    from initstudy.analysis.claims.registry import ClaimError
    from initstudy.analysis.controls import ControlViolation
    from initstudy.core.table_io import write_tables
    from initstudy.study import config

    cfg = config.load(args.config)
    if "claim" not in cfg:
        raise UsageError(f"--config {args.config}: no 'claim' section; a claim config states its hypothesis, "
                         "statistic and rules under 'claim'")
    name = evaluate.claim_name(args.config)
    tables = evaluate.read_tables(args.tables_dir)
    out = Path(args.out_dir)
    try:  # the claim's own zeros runs first: a broken pipeline decides nothing
        evaluate.controls(tables)
    except ControlViolation as exc:
        return control_failure("claim", exc)
    try:
        verdict = evaluate.verdicts(name, cfg["claim"], tables, registration.read(args.registry))
        figure_tables = evaluate.figure_tables(cfg["claim"], tables)
    except ClaimError as exc:
        raise UsageError(f"{args.config}: {exc}") from None
    figure_paths = {table: out / f"{table}.csv" for table in evaluate.figure_table_names(cfg["claim"])}
    written = write_tables({"verdict": verdict, **figure_tables},
                           {"verdict": out / paths_of.CLAIM_VERDICT, **figure_paths})
    for path in written:
        print(path)
    claim = verdict.iloc[0]
    print(f"{name}: {claim['verdict']} ({claim['reason']}; rules {claim['registration']})")
    return 0


def cmd_register(args) -> int:
    from initstudy.analysis.claims import registration
    from initstudy.analysis.claims.registry import ClaimError
    from initstudy.study import config

    path = Path(args.claim) if args.claim.endswith(".yaml") else Path(paths_of.claim_config(args.claim))
    if not path.is_file():
        raise UsageError(f"claim {args.claim!r}: no config {path}")
    cfg = config.load(path)
    if "claim" not in cfg:
        raise UsageError(f"{path}: no 'claim' section; only a claim's rules are registered")
    try:
        entry, written = registration.register(path.stem, cfg, args.registry, args.records_root, args.after_data)
    except (ClaimError, registration.RegistrationError) as exc:
        raise UsageError(str(exc)) from None
    state = "registered" if written else "already registered, unchanged"
    print(f"{path.stem}: {state} ({entry['status']}, {entry['date']}, commit {entry['commit']}, "
          f"sha256 {entry['hash']}) -> {args.registry}")
    return 0


def cmd_claims_table(args) -> int:
    from initstudy.analysis.claims import evaluate
    from initstudy.core.table_io import read_table, write_table

    table = evaluate.claims_table([read_table(path) for path in args.verdicts])
    write_table(args.out, table)
    print(f"{len(table)} claims -> {args.out}")
    return 0


def cmd_check_controls(args) -> int:
    from initstudy.analysis import controls
    from initstudy.core.table_io import read_table, write_table
    from initstudy.study import config

    runs = read_table(args.runs)
    if args.config:  # a control study: its config names the check and its margin
        cfg = config.load(args.config)
        if "control" not in cfg:
            raise UsageError(f"--config {args.config}: no 'control' section; a control config states its "
                             "check and margin under 'control'")
        control = {**cfg["control"], **({"margin": args.margin} if args.margin is not None else {})}
        try:
            table = controls.check_study(runs, Path(args.config).stem, control)
        except controls.ControlError as exc:
            raise UsageError(f"{args.config}: {exc}") from None
        margin = control["margin"]
    else:  # the study's own zeros runs, if any
        margin = controls.MARGIN if args.margin is None else args.margin
        table = controls.control_table(runs, margin)
    if args.out:
        write_table(args.out, table)
    try:
        controls.check(runs, margin)
    except controls.ControlViolation as exc:
        return control_failure("check-controls", exc)
    cells = table[table["level"] == "cell"]
    print(f"{args.runs}: symmetry control holds in {len(cells)} cell(s) with zeros runs")
    return 0


def cmd_typeset_claims(args) -> int:
    from initstudy.paper import typeset

    for path in typeset.write_claims(args.claims, args.out_dir):
        print(path)
    return 0


def cmd_typeset_controls(args) -> int:
    from initstudy.paper import typeset

    for path in typeset.write_controls(args.controls, args.out_dir):
        print(path)
    return 0


def cmd_publish(args) -> int:
    from initstudy.study import config, publish

    try:
        files = publish.archive(config.load(args.config), args.out)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(f"{len(files)} files -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="initstudy", description=__doc__.splitlines()[0])
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
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("validate", help="check a config file (initializers with Keras too) and count its runs")
    p.add_argument("config")
    p.add_argument("--stamp", help="on success, also write the verdict to this file (the workflow's check)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="cost preview: train jobs per (dataset, arch, depth) and estimated time")
    p.add_argument("config")
    p.add_argument("--root", default=paths_of.RUNS_ROOT, help="where finished records (and their timings) are")
    p.add_argument("--threads", type=positive_int, help="threads of the rate measurement (default: the config's)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("tables", help="build the tidy tables from the records of a config's runs")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG, help="the config whose runs' records to read")
    p.add_argument("--records-root", default=paths_of.RUNS_ROOT, help="where the records are")
    p.add_argument("--records", help="a file listing the records to read, one path a line (instead of --config)")
    for name, path in paths_of.TABLES.items():
        p.add_argument(f"--{name}-out", default=path)
    p.add_argument("--provenance-out", default=paths_of.PROVENANCE)
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("resolve-config", help="write a config as run: checked, defaults filled in, as YAML")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("config", nargs="?", help="a config file")
    source.add_argument("--json", help="the config as a JSON object (what the workflow passes: its config "
                                       "with the command line's --config overrides applied)")
    p.add_argument("--out", default=paths_of.RESOLVED_CONFIG)
    p.set_defaults(func=cmd_resolve_config)

    p = sub.add_parser("select-rates", help="the two-stage tuning's choice: each cell and initializer's rate")
    p.add_argument("--records", required=True, help="a file listing the selection stage's records")
    p.add_argument("--diverged-policy", choices=["chance", "exclude"], default="chance")
    p.add_argument("--out", default=paths_of.SELECTION)
    p.set_defaults(func=cmd_select_rates)

    p = sub.add_parser("tune", help="each initializer's learning rate (tuning.csv) and the runs compared")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--tuning-out", default=paths_of.TUNING["tuning"])
    p.add_argument("--compared-out", default=paths_of.TUNING["compared_runs"])
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("stats", help="Friedman, pairwise Wilcoxon (Holm), bootstrap CIs, divergence rates")
    p.add_argument("--runs", default=paths_of.TUNING["compared_runs"])
    p.add_argument("--out-dir", default=paths_of.STATS_DIR)
    p.add_argument("--diverged-policy", choices=["chance", "exclude"], default="chance")
    p.add_argument("--alpha", type=float, default=0.05)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("analyze", help="every analysis table the figures and the paper show, as CSV")
    for name, path in ((t, paths_of.TABLES[t]) for t in paths_of.ANALYZED_TABLES):
        p.add_argument(f"--{name}", default=path)
    p.add_argument("--compared", default=paths_of.TUNING["compared_runs"], help="initstudy tune's runs compared")
    p.add_argument("--stats-dir", default=paths_of.STATS_DIR)
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--out-dir", default=paths_of.ANALYSIS_DIR)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("audit", help="check what every initializer of a config actually draws")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--csv", default=paths_of.AUDIT)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("theory", help="mean-field variance per layer beside the variance measured at init")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--signal", default=paths_of.TABLES["signal"])
    p.add_argument("--out-dir", default=paths_of.ANALYSIS_DIR)
    p.set_defaults(func=cmd_theory)

    p = sub.add_parser("draw", help="draw figures (by file name) from the tables they read")
    p.add_argument("figures", nargs="+", help="output PDFs; each file name is a figure of the registry")
    p.add_argument("--table", type=table_arg, action="append", default=[], metavar="NAME=PATH",
                   help="a table the figures read, by the name the registry gives it")
    p.add_argument("--claim", metavar="STATISTIC",
                   help="the figures are claim figures of this claim statistic (any file names)")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("typeset", help="the paper's macros (variables.tex) and LaTeX tables")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--analysis-dir", default=paths_of.ANALYSIS_DIR)
    p.add_argument("--stats-dir", default=paths_of.STATS_DIR)
    p.add_argument("--audit", default=paths_of.AUDIT)
    p.add_argument("--theory", default=f"{paths_of.ANALYSIS_DIR}/theory.csv")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--provenance", default=paths_of.PROVENANCE)
    p.add_argument("--out-dir", default=paths_of.GENERATED)
    p.set_defaults(func=cmd_typeset)

    p = sub.add_parser("claim", help="decide a claim (PASS, FAIL, INCONCLUSIVE) from its study's tidy tables")
    p.add_argument("--config", required=True, help="the claim's config, config/claims/<name>.yaml")
    p.add_argument("--tables-dir", required=True, help="where its runs/history/signal(/weights).parquet are")
    p.add_argument("--out-dir", required=True, help="where verdict.csv and its figure's tables go")
    p.add_argument("--registry", default=paths_of.CLAIM_REGISTRY, help="the registered claim rules")
    p.set_defaults(func=cmd_claim)

    p = sub.add_parser("register", help="register a claim's rules (hash, date, commit) before its runs exist")
    p.add_argument("claim", help="a claim's name (config/claims/<name>.yaml) or its config file")
    p.add_argument("--after-data", action="store_true",
                   help="register although some of its runs have records, marked 'registered after data'")
    p.add_argument("--registry", default=paths_of.CLAIM_REGISTRY)
    p.add_argument("--records-root", default=paths_of.RUNS_ROOT, help="where the runs' records are")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("claims-table", help="one row per claim from the claims' verdict tables")
    p.add_argument("verdicts", nargs="+", help="results/claims/<name>/verdict.csv of each claim")
    p.add_argument("--out", default=paths_of.CLAIMS_TABLE)
    p.set_defaults(func=cmd_claims_table)

    p = sub.add_parser("check-controls", help="fail (exit 3) when a zeros run of the study learned beyond chance")
    p.add_argument("--runs", default=paths_of.TABLES["runs"])
    p.add_argument("--config", help="a control study's config (config/controls/<name>.yaml) whose runs these are")
    p.add_argument("--margin", type=float, default=None,
                   help="accuracy above chance a zeros run may reach (default: the control's, else 0.05)")
    p.add_argument("--out", help="also write the control (a row for it, one per cell) to this CSV")
    p.set_defaults(func=cmd_check_controls)

    p = sub.add_parser("typeset-claims", help="the claims' macros, table and section part from claims.csv")
    p.add_argument("--claims", default=paths_of.CLAIMS_TABLE)
    p.add_argument("--out-dir", default=paths_of.GENERATED)
    p.set_defaults(func=cmd_typeset_claims)

    p = sub.add_parser("typeset-controls", help="the paper's controls part from the controls' tables")
    p.add_argument("controls", nargs="*", help="results/controls.csv and results/controls/<name>/control.csv")
    p.add_argument("--out-dir", default=paths_of.GENERATED)
    p.set_defaults(func=cmd_typeset_controls)

    p = sub.add_parser("publish", help="the study's published tables in one archive (what from_tables=True reads)")
    p.add_argument("--config", default=paths_of.RESOLVED_CONFIG)
    p.add_argument("--out", default=paths_of.PUBLISHED)
    p.set_defaults(func=cmd_publish)

    args = parser.parse_args(argv)
    from initstudy.core.runtime import DeviceError
    from initstudy.study.config import ConfigError
    from initstudy.data.datasets import DatasetError
    from initstudy.study.specs import InitializerError
    from initstudy.train.records import RecordError

    try:
        return args.func(args)
    except (UsageError, ConfigError, DatasetError, DeviceError, InitializerError, RecordError, OSError) as exc:
        print(f"initstudy {args.verb}: error: {exc}", file=sys.stderr)
        return 2
