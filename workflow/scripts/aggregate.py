"""Snakemake script of rule `aggregate`: every record -> results/*.parquet."""

import logging

from initstudy.tables.build import write_tables

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO)  # noqa: F821
write_tables(snakemake.input, snakemake.output.runs, snakemake.output.signal, snakemake.output.weights,  # noqa: F821
             snakemake.output.provenance)  # noqa: F821
logging.info("aggregated %d records", len(snakemake.input))  # noqa: F821
