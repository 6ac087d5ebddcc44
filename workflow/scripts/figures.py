"""Snakemake script of the figure rules: each output, named by its file in
initstudy.figures.FIGURES, drawn from the rule's named input tables (``code`` aside)
with the rule's params as the figures' options."""

import logging

from initstudy import figures

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO)  # noqa: F821
tables = {name: path for name, path in snakemake.input.items() if name != "code"}  # noqa: F821
for path in figures.write(snakemake.output, tables, **dict(snakemake.params.items())):  # noqa: F821
    logging.info("drew %s", path)
