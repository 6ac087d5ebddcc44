"""The artifact catalog: one entry per artifact, read by paths, rules, report and registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from initstudy.core import code
from initstudy.study import catalog, paths

DRAWING = "src/initstudy/figures/"


def test_the_catalog_loads_neither_keras_nor_pandas():
    script = ("import sys; from initstudy.study import catalog, paths;"
              "print([m for m in ('keras', 'tensorflow', 'pandas', 'matplotlib') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_paths_read_the_catalog():
    assert paths.TABLES == catalog.paths("tidy")
    assert paths.STATS_TABLES == catalog.names("stats") and paths.ANALYSIS_TABLES == catalog.names("analysis")
    assert paths.claim_figure("he") == "paper/generated/figures/claim_he.pdf"
    assert paths.claim_figure_tables("he", "he2015") == {t: f"results/claims/he/{t}.csv"
                                                        for t in catalog.CLAIM_FIGURES["he2015"].draws}
    assert paths.claim_figure_tables("x", "no_figure") == {}


def test_every_figure_entry_names_a_drawer_and_tables_the_catalog_knows():
    from initstudy.figures import registry

    known = catalog.figure_table_paths()
    for entry in catalog.FIGURES:
        assert callable(registry.drawer(entry)), entry.name
        assert set(entry.draws) <= set(known), entry.name
        assert entry.category and entry.caption, entry.name
    for entry in catalog.CLAIM_FIGURES.values():
        assert callable(registry.drawer(entry)), entry.name


def test_a_claim_family_writes_exactly_the_tables_its_catalog_entry_names():
    from initstudy.analysis.claims.registry import family

    for statistic, entry in catalog.CLAIM_FIGURES.items():
        assert family(statistic).table_names == entry.draws


@pytest.mark.parametrize("bad", [
    dict(verb="plot"),
    dict(draws=("curves",)),
    dict(category="Training"),
])
def test_an_inconsistent_entry_is_refused(bad):
    with pytest.raises(ValueError, match="artifact 'x'"):
        catalog.Artifact(**{"name": "x", "kind": "figure", "path": "p.pdf", "verb": "draw", **bad})


def _rule_code(verb: str, *modules: str) -> list[str]:
    """A rule's code input as workflow/rules/0_common.smk's verb_code derives it."""
    return code.source_files([*code.verb_modules(verb, root=REPO / "src"), *modules], root=REPO / "src")


def test_a_figure_rule_code_is_its_own_drawing_module_and_the_shared_style():
    shared = set(_rule_code("draw"))
    assert {f"{DRAWING}registry.py", f"{DRAWING}style.py", "src/initstudy/study/catalog.py"} <= shared
    drawing_modules = {f"{DRAWING}{m}.py" for m in ("curves", "signal", "comparison", "weights", "theory",
                                                    "claims", "claim_saxe2013")}
    assert not shared & drawing_modules
    for entry in catalog.FIGURES:
        module = entry.drawer.partition(":")[0]
        own = {f for f in set(_rule_code("draw", module)) - shared if f.startswith(DRAWING)}
        assert own == {f"src/{module.replace('.', '/')}.py"}, entry.name


def test_readme_lists_what_the_catalog_publishes():
    readme = (REPO / "README.md").read_text()
    listed = readme.split("<!-- published:", 1)[1].split("<!-- /published -->", 1)[0]
    files = set()
    for line in listed.splitlines()[1:]:
        for item in line.split("`")[1::2]:
            if "{" in item:
                stem, choices = item.split("{", 1)
                names, suffix = choices.split("}", 1)
                files |= {f"{stem}{name}{suffix}" for name in names.split(",")}
            else:
                files.add(item)
    expected = {a.path.replace("{claim}", "<claim>").replace("{control}", "<control>") for a in catalog.published()}
    assert files == expected


EXTRA_FIGURE = '''
def draw_accuracy_spread(bootstrap):
    """A figure added by a test: each initializer's mean accuracy against depth, no style."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    for init, rows in bootstrap.groupby("initializer"):
        ax.plot(rows["depth"], rows["mean"], label=init)
    return fig
'''
EXTRA_ENTRY = '''
FIGURES = (*FIGURES, _figure("accuracy_spread", ("bootstrap",), "initstudy.figures.extra:draw_accuracy_spread",
                             "Extra", "Added through the catalog alone."))
ARTIFACTS = (*ARTIFACTS, FIGURES[-1])
_check()
'''


@pytest.mark.slow
def test_a_figure_added_through_the_catalog_alone_is_built_and_reported(tmp_path):
    """A drawing function in a module of its own plus one catalog entry: the workflow
    draws the figure, and the report shows it with the entry's category and caption."""
    from test_workflow import SNAKEMAKE, copy_workflow

    from conftest import TINY

    work = copy_workflow(tmp_path, TINY)
    package = work / "src" / "initstudy"
    (package / "figures" / "extra.py").write_text(EXTRA_FIGURE)
    with open(package / "study" / "catalog.py", "a") as fh:
        fh.write(EXTRA_ENTRY)
    env = {**os.environ, "PYTHONPATH": str(work / "src"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def snakemake(*args):
        proc = subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    snakemake("figure_accuracy_spread")
    assert (work / "paper/generated/figures/accuracy_spread.pdf").read_bytes().startswith(b"%PDF-")
    snakemake("--report", "report.html", "figure_accuracy_spread")
    html = (work / "report.html").read_text()
    assert "accuracy_spread.pdf" in html and "Added through the catalog alone." in html and "Extra" in html

