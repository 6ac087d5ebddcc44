"""Settings: the panels of a figure and the row groups of a table.

A *setting* is a combination of the grid dimensions of
:data:`initstudy.study.fields.SETTING_COLUMNS` that take more than one value in a
table (activation always); depth and initializer vary inside a setting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.study.fields import SETTING_COLUMNS


def setting_columns(table: pd.DataFrame) -> list[str]:
    """The grid dimensions that split ``table`` into settings (see ``SETTING_COLUMNS``);
    the width only where an architecture has several (an mlp's units and a cnn's filters
    differ without being a setting of their own)."""
    def splits(column: str) -> bool:
        if column == "width":
            return bool((table.groupby("arch")["width"].nunique() > 1).any())
        return column == "activation" or table[column].nunique() > 1

    return [c for c in SETTING_COLUMNS if splits(c)]


def settings(table: pd.DataFrame) -> list[tuple[tuple, str]]:
    """Each setting's key (values of :func:`setting_columns`) and its title, sorted."""
    columns = setting_columns(table)
    keys = table[columns].drop_duplicates().sort_values(columns)
    return [(key, ", ".join(map(str, key))) for key in keys.itertuples(index=False, name=None)]


def select(table: pd.DataFrame, key: tuple, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``table`` in the setting ``key`` (values of ``columns``, by default
    :func:`setting_columns` of ``table``)."""
    columns = setting_columns(table) if columns is None else columns
    mask = np.logical_and.reduce([table[c] == v for c, v in zip(columns, key)])
    return table[mask]
