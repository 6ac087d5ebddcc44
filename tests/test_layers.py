"""The package's layers import only downward (README, "Development": the layout by
stage): study definition -> data, initializers, models -> training -> tables ->
analysis -> figures, paper. Analysis never imports figure or paper code, figures and
paper never import each other, and parsing the workflow imports neither Keras nor
TensorFlow."""

import subprocess
import sys

import pytest

from conftest import REPO
from initstudy.core import code

PACKAGE = REPO / "src" / "initstudy"
#: Subpackage -> layer; a module may import its own layer and those below it.
LAYERS = {"core": 0, "study": 1, "data": 2, "inits": 2, "models": 2, "train": 3, "tables": 4,
          "analysis": 5, "figures": 6, "paper": 6}
#: Same-layer pairs that must not import each other.
SIBLINGS_APART = {("figures", "paper"), ("paper", "figures")}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if len(parts) > 2:  # initstudy.<stage>.<module>: the top-level cli/__main__ may import anything
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("module", list(modules()))
def test_imports_go_downward(module):
    stage = module.split(".")[1]
    for imported in code.imported_modules(module):
        parts = imported.split(".")
        if parts[0] != "initstudy" or len(parts) < 2 or parts[1] not in LAYERS:
            continue
        target = parts[1]
        assert LAYERS[target] <= LAYERS[stage], f"{module} imports {imported}: upward"
        assert (stage, target) not in SIBLINGS_APART, f"{module} imports {imported}: sibling"


def test_no_import_cycle_between_stages():
    edges = {(m.split(".")[1], i.split(".")[1]) for m in modules() for i in code.imported_modules(m)
             if i.startswith("initstudy.") and len(i.split(".")) > 1 and i.split(".")[1] in LAYERS}
    assert not {(a, b) for a, b in edges if a != b and (b, a) in edges}


def test_parsing_the_workflow_imports_no_keras_tensorflow_or_plotting():
    """What the Snakefile imports when parsed, and the per-run work it does there."""
    script = (
        "import sys; from initstudy.study import config, paths; from initstudy.core import code;"
        "from initstudy.study import catalog; from initstudy.core.atomic import write_text; from initstudy.train import pending;"
        f"cfg = config.load({str(REPO / 'config' / 'config.yaml')!r}); state = pending.pending(cfg, '/nonexistent');"
        "bad = [m for m in ('keras', 'tensorflow', 'jax', 'matplotlib', 'seaborn') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: Stages the presentation (figures, paper) must not reach: they import Keras or
#: TensorFlow, or hold data and training. A figure draws a table and the paper
#: typesets one; the constants they cite live in Keras-free analysis modules
#: (initstudy.analysis.scheme, initstudy.analysis.stability).
KERAS_STAGES = ("data", "inits", "models", "train")


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("module", [m for m in modules() if _stage(m) in ("figures", "paper")])
def test_presentation_reaches_no_keras_stage(module):
    """Every module a figure or paper module imports, transitively, by the machinery that
    derives the rules' `code` inputs (imports inside functions count too)."""
    reached = sorted(m for m in code.closure([module]) if _stage(m) in KERAS_STAGES)
    assert not reached, f"{module} reaches {reached}"


def test_the_typeset_rules_code_is_keras_free():
    """The `code` input of the typeset rule: no file of a Keras, data or training stage."""
    files = code.source_files(code.verb_modules("typeset"), relative_to=PACKAGE.parent)
    assert "initstudy/paper/typeset.py" in files
    assert not [f for f in files if f.split("/")[1] in KERAS_STAGES]


def test_typesetting_imports_no_keras_or_tensorflow():
    script = (
        "import sys; import initstudy.paper.typeset;"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow'});"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
