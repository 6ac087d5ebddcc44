"""``python -m initstudy <verb>``: the entry points the workflow's rules call.

Each verb is thin: it parses arguments, calls one function of the package, and turns
an expected failure (bad config, bad record, missing dataset file) into one line on
stderr and exit status 2 — never a traceback from deep inside a library.
"""

from __future__ import annotations

import sys
from pathlib import Path

from initstudy.cli_parser import build_parser
from initstudy.cli_support import UsageError, control_failure, json_arg
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
    tables = evaluate.compared_tables(evaluate.read_tables(args.tables_dir), cfg)
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
    args = build_parser(__doc__.splitlines()[0]).parse_args(argv)
    func = globals()[f"cmd_{args.verb.replace('-', '_')}"]
    from initstudy.core.runtime import DeviceError
    from initstudy.study.config import ConfigError
    from initstudy.data.datasets import DatasetError
    from initstudy.study.specs import InitializerError
    from initstudy.train.records import RecordError

    try:
        return func(args)
    except (UsageError, ConfigError, DatasetError, DeviceError, InitializerError, RecordError, OSError) as exc:
        print(f"initstudy {args.verb}: error: {exc}", file=sys.stderr)
        return 2
