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
import tempfile
from pathlib import Path
from typing import Any, Iterator

from initstudy.core import faults


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success.

    For writers that want a path (``DataFrame.to_parquet``, ``Figure.savefig``).
    On an exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        faults.point(f"atomic:{target.name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj: Any) -> None:
    """JSON with sorted keys and no NaN (``allow_nan=False``: callers write null)."""
    write_text(target, json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n")
