# Config validation and the run table: everything the rules below need, computed
# once when the workflow is parsed. A bad config stops here, before any job runs.
import glob
import json
import sys

from initstudy.study import config as study_config
from initstudy.study import runs as study_runs

try:
    study_config.check(config)
except study_config.ConfigError as error:
    sys.exit(f"initstudy: {error}")

RUNS = study_runs.expand(config)
PACKS = study_runs.make_packs(RUNS, config["training"]["pack_size"])
RECORDS = [run.record_path() for run in RUNS]
PAPER_PDF = "paper/build/main.pdf"
# What the paper is built from: each stage's rule file appends the files it
# generates for the paper, so adding a stage is one include and one extend.
PAPER_GENERATED = []
PAPER_SOURCES = ["paper/main.tex", *sorted(glob.glob("paper/sections/*.tex"))]
