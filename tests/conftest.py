"""Shared test set-up: quiet TensorFlow, small configs, and a fake dataset loader."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import copy  # noqa: E402
import shutil
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "grid": {
        "datasets": ["digits"],
        "architectures": ["mlp"],
        "activations": ["relu"],
        "optimizers": ["adam"],
        "depths": [2],
        "initializers": ["he_normal"],
        "seeds": [0],
    },
    "training": {"epochs": 2, "width": 16, "filters": 4},
}


@pytest.fixture
def tiny_config():
    """A fresh copy of a minimal valid config (tests mutate it)."""
    return copy.deepcopy(TINY)


def fake_dataset(input_shape=(1, 12, 1), classes=3, n=(120, 30, 40), seed=0):
    """A small random dataset with the fields of :class:`initstudy.data.datasets.Dataset`."""
    from initstudy.data.datasets import Dataset

    rng = np.random.default_rng(seed)

    def split(k):
        return rng.normal(size=(k, *input_shape)).astype("float32"), rng.integers(0, classes, k).astype("int32")

    (xt, yt), (xv, yv), (xs, ys) = split(n[0]), split(n[1]), split(n[2])
    return Dataset(name="fake", x_train=xt, y_train=yt, x_val=xv, y_val=yv, x_test=xs, y_test=ys,
                   input_shape=tuple(input_shape), num_classes=classes)


def run_on_jax(tests: list[str], passed: int | None = None, timeout: int = 900) -> None:
    """Run the test ids ``tests`` in a pytest process with KERAS_BACKEND=jax (serially:
    one file's tests) and require ``passed`` passes (default: one per id)."""
    pytest.importorskip("jax")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *tests],
                          cwd=REPO, env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(tests) if passed is None else passed} passed" in proc.stdout


MINIMAL_PAPER = r"""\documentclass{article}
\usepackage{booktabs}\usepackage{array}\usepackage{siunitx}\usepackage{amsmath}\usepackage{graphicx}
\newcommand{\StatsConfidence}{95}
\begin{document}
Before.
\input{sections/SECTION}
After.
\end{document}
"""


def minimal_paper(root: Path, section: str) -> Path:
    """``root/paper``: a main.tex around one of the paper's sections (``section``,
    copied from paper/sections/), nothing generated yet; the folder."""
    paper = root / "paper"
    (paper / "sections").mkdir(parents=True)
    shutil.copy(REPO / "paper" / "sections" / f"{section}.tex", paper / "sections" / f"{section}.tex")
    (paper / "main.tex").write_text(MINIMAL_PAPER.replace("SECTION", section))
    return paper


def latexmk_log(paper: Path) -> str:
    """Compile ``paper/main.tex`` with latexmk (forced, halting on an error); its log."""
    result = subprocess.run(["latexmk", "-g", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                            cwd=paper, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    return (paper / "main.log").read_text(errors="replace")
