"""Drawing the catalog's figures: each by the function its entry names, from the
tables it draws.

A figure's entry in :mod:`initstudy.study.catalog` names its drawing function as
``module:function`` with keyword options, and the tables it takes, in order. The
drawing modules are imported by name when a figure is drawn, so drawing one figure
imports its own module alone, and the workflow lists that module alone as the rule's
code (editing one drawing module redraws its figures, no others).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from initstudy.core.table_io import read_table
from initstudy.figures.style import save
from initstudy.study import catalog
from initstudy.study.catalog import Artifact

#: The study's figures by name, and the claim figures by statistic.
FIGURES = {a.name: a for a in catalog.FIGURES}
CLAIM_FIGURES = catalog.CLAIM_FIGURES


def drawer(entry: Artifact) -> Callable[..., Figure]:
    """The entry's drawing function, with its options bound."""
    module, _, function = entry.drawer.partition(":")
    return partial(getattr(importlib.import_module(module), function), **dict(entry.options))


def draw(entry: Artifact, tables: dict[str, pd.DataFrame]) -> Figure:
    """The figure of ``entry`` from ``tables`` (name -> frame), passed in the order it draws them."""
    return drawer(entry)(*(tables[t] for t in entry.draws))


def write(paths, table_paths: dict[str, str | Path], claim: str | None = None) -> list[Path]:
    """Draw each of ``paths`` from the tables at ``table_paths`` (name -> file, each
    read once) into that path: the study's figure its file name names or, with
    ``claim`` (a claim statistic), that statistic's claim figure."""
    paths = [Path(p) for p in paths]
    if claim is not None and claim not in CLAIM_FIGURES:
        raise ValueError(f"--claim {claim!r}: no claim statistic has a figure; expected one of "
                         f"{sorted(CLAIM_FIGURES)}")
    unknown = [p.name for p in paths if claim is None and p.stem not in FIGURES]
    if unknown:
        raise ValueError(f"no figure named {unknown}; expected one of {sorted(f'{n}.pdf' for n in FIGURES)}")
    tables = {name: read_table(path) for name, path in table_paths.items()}
    for path in paths:
        save(draw(CLAIM_FIGURES[claim] if claim else FIGURES[path.stem], tables), path)
    return paths
