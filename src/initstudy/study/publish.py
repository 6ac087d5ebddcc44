"""What a study publishes, gathered into one archive.

The published files are the catalog's artifacts marked ``published``
(:func:`initstudy.study.catalog.published`), with each claim artifact once per claim of
the config and each control study's once per control: the study's and the claims' tidy
tables, the control studies' runs, ``provenance.json`` and ``config.resolved.yaml``. Unpacked into the ``results/`` of a fresh checkout, they are
all that ``snakemake --configfile results/config.resolved.yaml --config
from_tables=True`` needs to rebuild every statistic, figure and the paper.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any, Iterable

from initstudy.core.atomic import atomic_path
from initstudy.study import catalog


def published_paths(claims: Iterable[str], controls: Iterable[str] = ()) -> list[str]:
    """The published files of a study with these claims and control studies, relative to
    its working directory."""
    claims, controls = list(claims), list(controls)
    out = []
    for artifact in catalog.published():
        if "{claim}" in artifact.path:
            out += [catalog.claim_path(artifact.path, claim) for claim in claims]
        elif "{control}" in artifact.path:
            out += [catalog.control_path(artifact.path, control) for control in controls]
        else:
            out.append(artifact.path)
    return out


def archive(config: dict[str, Any], out: str | Path, root: str | Path = ".") -> list[str]:
    """Write the published files of the study ``config`` describes (below ``root``) to the
    gzipped tar archive ``out``, under their paths; raise FileNotFoundError naming every
    one that is missing (nothing is written then)."""
    files = published_paths(config.get("claims", []), config.get("controls", []))
    root = Path(root)
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(f"cannot publish: missing {', '.join(missing)}; build the study first "
                                "(snakemake --cores N)")
    with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for name in files:
            tar.add(root / name, arcname=name)
    return files
