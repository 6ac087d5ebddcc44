"""Provenance: which code, which versions and which hardware made a result."""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import socket
import subprocess
import sys
from pathlib import Path

from initstudy import __version__, runtime

PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "scipy", "pandas",
            "pyarrow", "scikit-learn", "mnist1d", "seaborn", "matplotlib", "snakemake")
REPO = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    """``HEAD``'s hash, with ``-dirty`` when tracked files differ from it; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
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
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
