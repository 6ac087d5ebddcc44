"""One registry of claim families: the statistic a claim config names, by name.

A *family* (``claim.statistic`` of a config) is one small function from a study's
tidy tables to per-seed values, one value per seed and sub-claim, and the parts it
can test. The config gives a decision rule per part it tests
(:mod:`initstudy.analysis.claims.rule`); the family's parameters have defaults, and
unknown parameters or parts are refused. A family may also write the tables its
figure draws. Adding a claim is a config plus, for a new statistic, one function in a
module of :mod:`initstudy.analysis.claims.families` (imported by its ``__init__``)::

    @register("mine", parts={"grows": "layer-10 variance / layer-1 variance"}, params={"init": "he_normal"})
    def mine(tables, params):
        ...  # -> DataFrame: part, subclaim, seed, value (and the cell's columns)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import pandas as pd

from initstudy.study import catalog
from initstudy.study.fields import CELL

#: Columns a family's samples have (besides any of the cell's columns).
SAMPLE_COLUMNS = ["part", "subclaim", "seed", "value"]
#: The cell's columns a sample row may name (blank where they do not apply).
KEY_COLUMNS = [*CELL, "initializer"]


class ClaimError(ValueError):
    """A claim that cannot be evaluated; the message names the key, the value, what was expected."""


class Tables(NamedTuple):
    """A study's tidy tables (``weights`` and ``jacobian`` may be None: not every study
    has them, and only the families that read them need them)."""

    runs: pd.DataFrame
    history: pd.DataFrame
    signal: pd.DataFrame
    weights: pd.DataFrame | None = None
    jacobian: pd.DataFrame | None = None


@dataclasses.dataclass(frozen=True)
class Family:
    """A registered claim statistic: its parts (part -> the quantity in words, the
    subject of a rule's statement), parameter defaults, the sample function and, if it
    has a figure, the function of the tables that figure draws and their names."""

    name: str
    parts: dict[str, str]
    params: dict[str, Any]
    samples: Callable[[Tables, dict[str, Any]], pd.DataFrame]
    figure_tables: Callable[[Tables, dict[str, Any], dict[str, dict]], dict[str, pd.DataFrame]] | None = None
    table_names: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {}


def register(name: str, parts: dict[str, str], params: dict[str, Any] | None = None):
    """Decorator: register ``fn(tables, params) -> samples`` as the family ``name``."""
    def wrap(fn):
        if name in FAMILIES:
            raise ValueError(f"claim family {name!r} registered twice")
        FAMILIES[name] = Family(name, dict(parts), dict(params or {}), fn)
        return fn
    return wrap


def figure_tables(name: str):
    """Decorator: ``fn(tables, params, rules) -> {table name: frame}`` computes the tables
    that the figure of family ``name`` draws: those its entry of
    :data:`initstudy.study.catalog.CLAIM_FIGURES` names, all of them and no others."""
    def wrap(fn):
        FAMILIES[name] = dataclasses.replace(FAMILIES[name], figure_tables=fn,
                                             table_names=catalog.CLAIM_FIGURES[name].draws)
        return fn
    return wrap


def family(name: str) -> Family:
    import initstudy.analysis.claims.families  # noqa: F401  (registers the families)

    if name not in FAMILIES:
        raise ClaimError(f"claim.statistic: {name!r} is not a registered claim statistic; "
                         f"expected one of {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def resolve(claim: dict[str, Any]) -> tuple[Family, dict[str, Any], dict[str, dict]]:
    """The family of a (schema-checked) ``claim`` section, its parameters with defaults
    filled, and its rules with the claim's ``test`` and ``alpha`` filled in; unknown
    parameters or parts are a :class:`ClaimError` naming them."""
    fam = family(claim["statistic"])
    unknown = sorted(set(claim.get("params", {})) - set(fam.params))
    if unknown:
        raise ClaimError(f"claim.params: unknown parameter(s) {', '.join(map(repr, unknown))} of statistic "
                         f"{fam.name!r}; expected {', '.join(sorted(fam.params)) or 'none'}")
    params = {**fam.params, **claim.get("params", {})}
    unknown = sorted(set(claim["rules"]) - set(fam.parts))
    if unknown:
        raise ClaimError(f"claim.rules: unknown part(s) {', '.join(map(repr, unknown))} of statistic "
                         f"{fam.name!r}; expected {', '.join(fam.parts)}")
    defaults = {"test": claim.get("test", "sign_flip"), "alpha": claim.get("alpha", 0.05), "target": 0.0}
    rules = {part: {**defaults, **rule} for part, rule in claim["rules"].items()}
    return fam, params, rules
