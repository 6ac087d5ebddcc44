"""The paper's account of the learning rates: the protocol's macros, and the table of
the rate each initializer was compared at with how many rates came within the
robustness margin of it (``tuning`` and ``robustness`` analysis tables).

An initializer *needs tuning* in a cell when its best rate alone is within the margin
(``n_within == 1``); it is *insensitive* there when every rate the grid tried is
(``n_within == n_rates``). The macros name the initializers that are so in most cells
(more than half of their cells with several rates).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from initstudy.analysis.settings import setting_columns
from initstudy.paper.latex import escape_latex, num
from initstudy.paper.tables import depth_columns
from initstudy.study.fields import CELL


def _rates(values) -> str:
    return ", ".join(num(float(v)) for v in values)


def _majority(robustness: pd.DataFrame, mask: pd.Series) -> list[str]:
    """Initializers for which ``mask`` holds in more than half of their cells."""
    share = mask.groupby(robustness["initializer"]).mean()
    return sorted(share.index[share > 0.5])


def _names(labels: list[str]) -> str:
    return ", ".join(rf"\texttt{{{escape_latex(label)}}}" for label in labels) if labels else "none"


def tuning_macros(tuning: pd.DataFrame, robustness: pd.DataFrame, config: dict[str, Any]) -> dict[str, str]:
    """The protocol as configured (rates tried, selection seeds, stages, margin) and what
    it found (cells tuned, how many kept the training setting's rate, which initializers
    need tuning or are insensitive to it)."""
    grid, tuning_config = config["grid"], config["tuning"]
    several = {o: rates for o, rates in grid.get("learning_rates", {}).items() if len(rates) > 1}
    selection = tuning_config["selection_seeds"]
    default = config["training"]["learning_rate"]
    tuned = tuning[tuning["n_rates"] > 1]
    kept = sum(float(row.learning_rate) == float(default.get(row.optimizer, float("nan")))
               for row in tuned.itertuples())
    cells = robustness[robustness["n_rates"] > 1]
    if not several:
        protocol = ("Each optimizer trains at one learning rate (Table~\\ref{tab:grid}): there is none to "
                    "choose, and the comparisons take every run.")
    elif selection is None:
        protocol = ("Every rate trains on every seed; the choice reads the validation accuracy and the "
                    "comparisons the test accuracy of the same seeds.")
    else:
        protocol = (f"In two stages: every rate trains on the {num(len(selection))} selection seeds "
                    f"({', '.join(map(str, selection))}), which are "
                    f"{'disjoint from' if not set(selection) & set(grid['seeds']) else 'shared with'} the "
                    f"{num(len(grid['seeds']))} evaluation seeds; a Snakemake checkpoint then reads their "
                    "validation accuracies, and only the chosen rate trains on the evaluation seeds, on "
                    "which every comparison is made.")
    return {
        "TuningProtocol": protocol,
        "TuningRateList": "; ".join(f"{escape_latex(o)} {_rates(r)}" for o, r in several.items()) or "--",
        "TuningDefaultRateList": "; ".join(f"{escape_latex(o)} {num(float(default[o]))}" for o in several
                                          if o in default) or "--",
        "NumTuningRates": num(max((len(r) for r in several.values()), default=1)),
        "NumTuningSelectionSeeds": num(len(selection) if selection is not None else len(grid["seeds"])),
        "TuningRobustnessMarginPoints": num(100 * tuning_config["robustness_margin"]),
        "NumTunedCells": num(len(tuned)),
        "NumTunedKeptDefault": num(kept),
        "TuningNeedsTuning": _names(_majority(cells, cells["n_within"] == 1)),
        "TuningInsensitive": _names(_majority(cells, cells["n_within"] == cells["n_rates"])),
    }


def _cell(row) -> str:
    """The chosen rate and, in parentheses, how many of the rates were within the margin."""
    return rf"{num(float(row.learning_rate))} ({row.n_within}/{row.n_rates})"


def tuning_table(tuning: pd.DataFrame, robustness: pd.DataFrame) -> str:
    """Per setting × initializer (rows) and depth (columns): the chosen learning rate and
    how many rates came within the robustness margin of its validation score."""
    keys = [*CELL, "initializer"]
    merged = tuning.merge(robustness[[*keys, "n_within"]], on=keys, how="left")
    settings = setting_columns(merged)
    indexed = merged.set_index([*settings, "initializer", "depth"])
    cells = pd.Series([_cell(r) for r in indexed.itertuples()], index=indexed.index).unstack("depth")
    frame, column_format = depth_columns(cells, settings)
    styler = frame.style.hide(axis="index").format(escape="latex", subset=frame.columns[: len(settings) + 1])
    return styler.to_latex(hrules=True, multicol_align="c", column_format=column_format)
