"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Every output of the pipeline goes through here (records, tables, figures' data),
so a killed job leaves no half-written result behind: the content is written to a
temporary file in the same directory, flushed to disk, then renamed over the
target (``os.replace`` is atomic on POSIX within one file system).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from initstudy.core import faults


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success.

    For writers that want a path (``DataFrame.to_parquet``, ``Figure.savefig``).
    On an exception the temporary file is removed and ``target`` is untouched.
    ``durable=False`` skips the flush to disk (the rename stays atomic): for files
    remade from the config whenever the workflow is parsed, such as pack manifests,
    where thousands of flushes would cost seconds and a lost file is simply remade.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One writer process per target at a time (a job owns its outputs), so the
    # process id makes the name unique without mkstemp's cost.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        faults.point(f"atomic:{target.name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(target: str | os.PathLike, text: str, durable: bool = True) -> None:
    with atomic_path(target, durable) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj: Any, durable: bool = True) -> None:
    """JSON with sorted keys and no NaN (``allow_nan=False``: callers write null)."""
    write_text(target, json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n", durable)
