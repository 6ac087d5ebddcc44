"""Provenance: which code, which versions and which hardware made a result."""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import socket
import subprocess
import sys
from pathlib import Path

from initstudy import __version__
from initstudy.core import runtime

PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "scipy", "pandas",
            "pyarrow", "scikit-learn", "mnist1d", "seaborn", "matplotlib", "snakemake")
#: What :func:`git_commit` says outside a git work tree (an installed package run
#: from a folder that is no checkout).
NO_GIT = "none (not a git work tree)"


def git_commit(where: str | Path | None = None) -> str:
    """The commit of the git work tree holding ``where`` (default: the working
    directory, where the workflow runs): ``HEAD``'s hash, with ``-dirty`` when tracked
    files differ from it; :data:`NO_GIT` when there is none."""
    where = str(Path.cwd() if where is None else where)
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return NO_GIT
    return head + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect() -> dict[str, object]:
    """Everything a record needs to say where it came from."""
    settings = runtime.settings()
    return {
        "initstudy": __version__,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "devices": runtime.devices(),
        "keras_backend": settings["keras_backend"],
        "deterministic": settings["deterministic"],
        "threads": settings["threads"],
        "xla": settings["xla"],
        "kernel_env": runtime.kernel_env(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
