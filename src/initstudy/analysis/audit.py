"""The ``audit`` verb: which initializers a study's config audits, and ``results/audit.csv``.

The audit checks that each initializer draws what it intends: the grid's
initializers, and the config's ``audit.extra_initializers`` besides (by default
the examples of :mod:`initstudy.inits.custom`, ChannelsFirstHe among them, so that
the table always shows a known bug caught). What a spec intends is
:mod:`initstudy.analysis.scheme` (Keras-free); drawing and judging is
:mod:`initstudy.analysis.sampling` (Keras). This module reads the config,
:func:`compute` returns the table by name, and :func:`main` writes it through
:func:`initstudy.core.table_io.write_tables` (atomic; an empty field is NaN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from initstudy.analysis.sampling import audit
from initstudy.core import table_io
from initstudy.study.specs import InitializerError, parse

#: The name of the table :func:`compute` returns.
TABLE = "audit"


def audited_specs(config: dict[str, Any]) -> list:
    """The grid's initializers, then ``audit.extra_initializers`` whose labels are new.

    The extras (by default the examples of :mod:`initstudy.inits.custom`) are
    audited whatever the grid trains, so the table always shows a known bug caught.
    """
    specs = list(config["grid"]["initializers"])
    labels = {parse(spec).label for spec in specs}
    for spec in config.get("audit", {}).get("extra_initializers", []):
        if parse(spec, where="audit.extra_initializers").label not in labels:
            specs.append(spec)
            labels.add(parse(spec).label)
    return specs


def compute(config: dict[str, Any], where: str = "config") -> dict[str, pd.DataFrame]:
    """``{"audit": table}``: :func:`~initstudy.analysis.sampling.audit` of the config's
    :func:`audited_specs` on the default shapes, level and sample size. ``where`` names
    the config in the error raised when it has no ``grid.initializers`` list."""
    try:
        specs = audited_specs(config)
    except (KeyError, TypeError):
        raise InitializerError(f"{where}: no grid.initializers list to audit") from None
    return {TABLE: audit(specs)}


def main(config_path: str | Path, out_csv: str | Path) -> pd.DataFrame:
    """Audit the initializers of the config at ``config_path`` (a resolved config, as
    the workflow passes it, or any YAML with a ``grid.initializers`` list) and write the
    table to ``out_csv``; return it. Nothing is written when the config has no list."""
    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    tables = compute(config, where=str(config_path))
    table_io.write_tables(tables, {TABLE: out_csv})
    return tables[TABLE]
