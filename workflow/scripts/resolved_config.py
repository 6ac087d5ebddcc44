"""Snakemake script of rule `resolved_config`: the config as run (defaults filled)."""

import yaml

from initstudy.core.atomic import write_text

write_text(snakemake.output[0], yaml.safe_dump(snakemake.params.config, sort_keys=False))  # noqa: F821
