"""The two stages of the tuning protocol (``tuning.selection_seeds``), as runs.

Stage 1 (*selection*): every rate of ``grid.learning_rates`` on the selection seeds.
Its records decide each cell and initializer's rate (:mod:`initstudy.analysis.tuning`,
written by ``initstudy select-rates`` as a Snakemake checkpoint). Stage 2
(*evaluation*): the grid's seeds, each cell and initializer at its chosen rate only.
Which runs stage 2 has is known once stage 1 has trained, so the workflow asks for
them after the checkpoint; their cost is known before (one rate per cell and
initializer, and a run's cost does not depend on its rate).

Neither Keras nor pandas is imported: the workflow calls this when it is parsed and
again after the checkpoint.
"""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path
from typing import Any, Mapping

from initstudy.study.fields import CELL
from initstudy.study.runs import Run, axis_values, expand

#: A choice's key: the cell's fields, then the initializer's label.
CHOICE_KEY = (*CELL, "initializer")


def two_stage(config: Mapping[str, Any]) -> bool:
    """Whether the config asks for the two-stage protocol."""
    return config.get("tuning", {}).get("selection_seeds") is not None


def selection_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Stage 1: the config with the selection seeds in place of the grid's."""
    stage = copy.deepcopy(dict(config))
    stage["grid"]["seeds"] = list(config["tuning"]["selection_seeds"])
    return stage


def choice_key(run: Run, training: Mapping[str, Any]) -> tuple:
    """The cell and initializer of ``run`` (its width the training setting's where the
    grid has none), as :data:`CHOICE_KEY`."""
    fields = {**run.fields(), **axis_values(run.fields(), training)}
    return tuple(fields[c] for c in CELL) + (run.initializer,)


def read_choice(path: str | Path) -> dict[tuple, float]:
    """The chosen rates of ``select-rates``' table: :func:`choice_key` -> rate."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["dataset"], r["arch"], r["activation"], r["optimizer"], int(r["depth"]), int(r["width"]),
             r["initializer"]): float(r["learning_rate"]) for r in rows}


def evaluation_runs(config: Mapping[str, Any], chosen: Mapping[tuple, float]) -> list[Run]:
    """Stage 2: the grid's runs (its seeds) at each cell and initializer's chosen rate;
    runs of an optimizer without rates to choose among keep their one rate. A cell
    and initializer without a choice is an error: stage 1 did not cover the grid."""
    training = config["training"]
    kept = []
    for run in expand(config):
        if run.learning_rate is None:
            kept.append(run)
            continue
        key = choice_key(run, training)
        if key not in chosen:
            raise ValueError(f"no learning rate was chosen for {'/'.join(map(str, key))}: the selection "
                             "table does not cover the grid (rerun the selection stage)")
        if math.isclose(run.learning_rate, chosen[key], rel_tol=1e-12):
            kept.append(run)
    return kept


def study_runs(config: Mapping[str, Any], chosen: Mapping[tuple, float] | None) -> list[Run]:
    """Every run of a two-stage study: stage 1's, then stage 2's that are not also
    stage 1's (``chosen`` None: stage 1 alone, before the choice)."""
    runs = expand(selection_config(config))
    if chosen is None:
        return runs
    seen = {run.run_id for run in runs}
    return runs + [run for run in evaluation_runs(config, chosen) if run.run_id not in seen]


def _first_rates(config: Mapping[str, Any]) -> dict[tuple, float]:
    """A stand-in for the choice, before it is made: each cell and initializer's first
    rate (stage 2 costs the same whichever rate is chosen)."""
    first = {}
    for run in expand(config):
        if run.learning_rate is not None:
            first.setdefault(choice_key(run, config["training"]), run.learning_rate)
    return first


def planned_runs(config: Mapping[str, Any]) -> list[Run]:
    """What a study will train, as planning counts it: the grid's runs, or for a
    two-stage study stage 1's and stage 2's as they cost (:func:`_first_rates`)."""
    return study_runs(config, _first_rates(config)) if two_stage(config) else expand(config)


def known_runs(config: Mapping[str, Any], selection: str | Path) -> list[Run]:
    """The runs of ``config`` as far as they are known: the grid's, or a two-stage
    study's stage 1 and, once the ``selection`` table exists, stage 2."""
    if not two_stage(config):
        return expand(config)
    return study_runs(config, read_choice(selection) if Path(selection).exists() else None)
