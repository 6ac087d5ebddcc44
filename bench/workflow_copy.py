"""A fresh copy of the workflow to run a study in, for the benchmarks and the tests
(pytest puts bench/ on the path): the Snakefile, workflow/, config/ (the claims'
configs too), the paper's sources and src/, with ``config`` as config/config.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
#: What a study reads beside its config.
COPIED = ["Snakefile", "workflow", "config", "paper/main.tex", "paper/sections", "src"]


def copy_paths(names: list[str], dest: Path) -> Path:
    """Copy each of ``names`` (files or folders of the repository, relative to it) to the
    same place under ``dest``, leaving out caches and build metadata."""
    for name in names:
        src, dst = REPO / name, dest / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return dest


def copy_workflow(dest: Path, config: dict | Path) -> Path:
    """Copy the workflow into ``dest``; ``config`` (a mapping, or a config file copied as
    it is) becomes its config/config.yaml."""
    copy_paths(COPIED, dest)
    target = dest / "config" / "config.yaml"
    if isinstance(config, Path):
        shutil.copy2(config, target)
    else:
        target.write_text(yaml.safe_dump(config))
    return dest
