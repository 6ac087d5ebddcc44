"""Snakemake script of rule `paper_text`: the paper's macros and tables from the tables."""

import logging
from pathlib import Path

from initstudy import report

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO)  # noqa: F821
inputs = snakemake.input  # noqa: F821
written = report.main(inputs.runs, inputs.config, inputs.provenance, snakemake.params.out_dir,  # noqa: F821
                      signal_path=inputs.signal, weights_path=inputs.weights,
                      stats_dir=Path(inputs.stats[0]).parent)
logging.info("wrote %s", ", ".join(map(str, written)))
