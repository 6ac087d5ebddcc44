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


# The inputs of the study's tables (rule aggregate, 2_tables.smk), which read the training
# state of 1_train.smk and, for a two-stage study, the checkpoint select_rates.
def study_table_inputs(wildcards):
    """What the study's tables wait for: its records' train jobs and its record list. A
    two-stage study's include stage 2, planned (packs and manifests) from the
    checkpoint's choice; a record another study's pending pack already writes is left
    to that pack."""
    if not study_stages.two_stage(config):
        return {
            "records": pending_runs.table_inputs(PENDING, WORK),
            "record_list": str(pending_runs.write_record_list(PENDING, "study")),
        }
    chosen = study_stages.read_choice(checkpoints.select_rates.get().output[0])
    state = pending_runs.pending(config, runs=study_stages.study_runs(config, chosen))
    planned = set().union(*WORK.records.values())
    own = dataclasses.replace(
        state,
        pending=[
            r for r in state.pending if str(state.records[r.run_id]) not in planned
        ],
    )
    evaluation = pending_runs.work(
        [(own, config["training"])], config["training"], TRAIN_SLOTS
    )
    pending_runs.write_manifests(evaluation)
    print(pending_runs.describe(state, "study (both stages)"), file=sys.stderr)
    inputs = pending_runs.table_inputs(state, WORK) + pending_runs.table_inputs(
        state, evaluation
    )
    return {
        "records": list(dict.fromkeys(inputs)),
        "record_list": str(pending_runs.write_record_list(state, "study")),
    }
