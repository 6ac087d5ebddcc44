"""Reading and writing the study's tables: Parquet and CSV, atomic, one NaN convention.

Every table of the pipeline is read and written here, so one rule holds everywhere:

- Parquet keeps dtypes and NaN as it is (the tidy tables).
- CSV writes NaN and None as an empty field and reads an empty field back as NaN, and
  only an empty field: "NA", "nan" or "null" stay text (an initializer may be called
  so). Columns of booleans with missing values (``reject``, ``with_best``) read back
  as pandas' nullable ``boolean``.
- A write goes through :func:`initstudy.core.atomic.atomic_path`: a reader sees the old
  table or the whole new one.

:func:`write_tables` is the one place a verb's ``{name: frame}`` becomes files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from initstudy.core.atomic import atomic_path

#: CSV columns that hold booleans, possibly missing (read as pandas' nullable boolean).
NULLABLE_BOOLEAN = ("reject", "with_best")


def read_table(path: str | Path) -> pd.DataFrame:
    """A table by its suffix: ``.parquet`` or ``.csv`` (empty field = NaN)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table; expected a .parquet or .csv file")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={c: "boolean" for c in NULLABLE_BOOLEAN}, keep_default_na=False,
                           na_values=[""])
    raise ValueError(f"{path}: not a table; expected a .parquet or .csv file")


def write_table(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` (without its index) to ``path`` by its suffix, atomically."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise ValueError(f"{path}: not a table; expected a .parquet or .csv file")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path


def write_tables(frames: Mapping[str, pd.DataFrame], paths: Mapping[str, str | Path]) -> list[Path]:
    """Write each named frame to its path; every name must have a path and every path a frame
    (a verb that computes one table too few or too many is refused before anything is written)."""
    if set(frames) != set(paths):
        missing, extra = sorted(set(paths) - set(frames)), sorted(set(frames) - set(paths))
        raise ValueError(f"tables computed and tables expected differ: missing {missing}, unexpected {extra}")
    return [write_table(paths[name], frames[name]) for name in paths]
