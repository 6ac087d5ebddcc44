# Config validation and what is left to train: everything the rules below need,
# computed once when the workflow is parsed, without importing Keras or TensorFlow
# (seconds per Snakemake call). A bad config stops here, before any job runs; what
# only Keras can check (initializer classes and their arguments) every train job
# checks before it trains.
import dataclasses
import glob
import json
import os
import sys

from initstudy.core import code as code_inputs
from initstudy.core.atomic import write_text
from initstudy.study import catalog as study_catalog
from initstudy.study import config as study_config
from initstudy.study import paths as study_paths
from initstudy.study import publish as study_publish
from initstudy.study import stages as study_stages
from initstudy.train import pending as pending_runs

try:
    study_config.check(config)
except study_config.ConfigError as error:
    sys.exit(f"initstudy: {error}")

# The claims the study checks (config["claims"]): each a study config of its own,
# config/claims/<name>.yaml, with a `claim` section.
CLAIMS = {}
for claim_name in config["claims"]:
    claim_file = study_paths.claim_config(claim_name)
    try:
        CLAIMS[claim_name] = study_config.load(claim_file)
    except study_config.ConfigError as error:
        sys.exit(f"initstudy: claims: {claim_name!r}: {error}")
    if "claim" not in CLAIMS[claim_name]:
        sys.exit(
            f"initstudy: claims: {claim_name!r}: {claim_file} has no 'claim' section; a claim "
            "config states its hypothesis, statistic and rules under 'claim'"
        )

# The control studies (config["controls"]): each a study config of its own,
# config/controls/<name>.yaml, with a `control` section. Not claims: a control that
# fails stops the build, and the paper reports it apart from the claims.
CONTROLS = {}
for control_name in config["controls"]:
    control_file = study_paths.control_config(control_name)
    try:
        CONTROLS[control_name] = study_config.load(control_file)
    except study_config.ConfigError as error:
        sys.exit(f"initstudy: controls: {control_name!r}: {error}")
    if "control" not in CONTROLS[control_name]:
        sys.exit(
            f"initstudy: controls: {control_name!r}: {control_file} has no 'control' section; a "
            "control config states its check and margin under 'control'"
        )

PAPER_PDF = study_paths.PAPER_PDF
# What the paper is built from: each stage's rule file appends the files it
# generates for the paper, so adding a stage is one include and one extend.
PAPER_GENERATED = []
PAPER_SOURCES = [
    "paper/main.tex",
    *sorted(glob.glob("paper/sections/*.tex")),
    *sorted(glob.glob("paper/sections/claims/*.tex")),
]

# Each rule's `code` input: the source files of the modules it runs, derived from the
# package's imports (parsed, not imported) so that the lists follow the code. The
# files are those of the checkout beside the Snakefile (src/, what `make` and
# workflow/envs/initstudy.yaml install, editable), as paths relative to the working
# directory; without a src/ there, those of the installed package (absolute paths).
CODE_ROOT = os.path.join(workflow.basedir, "src")
if not os.path.isfile(os.path.join(CODE_ROOT, "initstudy", "__init__.py")):
    CODE_ROOT = None


def code(*modules):
    """The source files of `modules` ("initstudy.analysis.stats") and of every
    initstudy module they import, transitively: editing one reruns the rule."""
    return code_inputs.source_files(modules, root=CODE_ROOT)


def verb_code(verb, *modules):
    """`code` of the modules `python -m initstudy VERB` calls (those cli.py's cmd_VERB
    imports; cli.py, shared by every verb, is not listed) and of `modules` (e.g. ones
    a config names, imported by name at run time)."""
    return code(*code_inputs.verb_modules(verb, root=CODE_ROOT), *modules)


# The report's captions are the catalog's text; Snakemake reads a caption from a file,
# so each is written (when it changed) where the report looks for it.
REPORT_CAPTIONS = os.path.abspath(os.path.join(study_paths.RESULTS, "report"))


def report_caption(entry):
    """The caption file of catalog entry `entry`, written from its text."""
    path = os.path.join(REPORT_CAPTIONS, f"{entry.kind}_{entry.name}.rst")
    text = entry.caption + "\n"
    if not os.path.isfile(path) or open(path, encoding="utf-8").read() != text:
        write_text(path, text, durable=False)
    return path


def stage_one(cfg):
    """What is known to train of study `cfg` when the workflow is parsed: its grid, or for
    a two-stage study (tuning.selection_seeds) its selection stage, whose evaluation runs
    follow from its checkpoint (2_tables.smk)."""
    if study_stages.two_stage(cfg):
        return pending_runs.pending(cfg, runs=study_stages.study_runs(cfg, None))
    return pending_runs.pending(cfg)


# The inputs of each study's tables (rule aggregate and the claims' tables, 2_tables.smk),
# which read the training state of 1_train.smk and, for a two-stage study, its checkpoint.
STAGE_TWO = {}


def selection_list(key):
    """The name of two-stage study `key`'s list of selection records."""
    return "selection" if key == "study" else f"{key}-selection"


def selection_table(key):
    """Where the checkpoint select_rates writes two-stage study `key`'s choice."""
    return study_paths.SELECTION if key == "study" else study_paths.claim_selection(key)


def stage_two():
    """Stage 2 of every two-stage study (TWO_STAGE: the main one and its claims), planned
    once every checkpoint has chosen: each study's runs of both stages, and the packs
    (manifests written) of the evaluation runs no stage-1 pack writes. Planned together,
    so a run two studies share (a claim that reuses the study's runs) trains once."""
    if not STAGE_TWO:
        checkpoints.select_rates.get()  # every study's choice, made at once
        states = {}
        for key in TWO_STAGE:
            chosen = study_stages.read_choice(selection_table(key))
            states[key] = pending_runs.pending(
                STUDY_CONFIGS[key],
                runs=study_stages.study_runs(STUDY_CONFIGS[key], chosen),
            )
        planned = set().union(*WORK.records.values())
        own = [
            (
                dataclasses.replace(
                    state,
                    pending=[
                        r
                        for r in state.pending
                        if str(state.records[r.run_id]) not in planned
                    ],
                ),
                STUDY_CONFIGS[key]["training"],
            )
            for key, state in states.items()
        ]
        evaluation = pending_runs.work(own, config["training"], TRAIN_SLOTS)
        pending_runs.write_manifests(evaluation)
        for key, state in states.items():
            print(pending_runs.describe(state, f"{key} (both stages)"), file=sys.stderr)
        STAGE_TWO.update(states=states, work=evaluation)
    return STAGE_TWO


def table_inputs_of(key):
    """The input function of study `key`'s tables ("study" or a claim's name): its
    records' train jobs and its record list; a two-stage study's include stage 2
    (stage_two), known after its checkpoint."""

    def inputs(wildcards):
        if key not in TWO_STAGE:
            state = STUDY_STATES[key]
            records = pending_runs.table_inputs(state, WORK)
        else:
            planned = stage_two()
            state = planned["states"][key]
            records = list(
                dict.fromkeys(
                    pending_runs.table_inputs(state, WORK)
                    + pending_runs.table_inputs(state, planned["work"])
                )
            )
        return {
            "records": records,
            "record_list": str(pending_runs.write_record_list(state, key)),
        }

    return inputs
