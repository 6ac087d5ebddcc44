"""The rules' code inputs: the source files of the modules a job runs and of every
module of the package they import, found by parsing (never importing) them."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from initstudy.core import code

SRC = REPO / "src"


def files(*modules, **kwargs):
    return code.source_files(modules, **{"root": SRC, "relative_to": REPO, **kwargs})


# -- the real package ------------------------------------------------------------------


def test_the_closure_of_stats_has_what_it_imports_and_nothing_else():
    stats = files("initstudy.analysis.stats")
    assert stats == sorted(stats)
    for path in ("analysis/stats.py", "study/fields.py",
                 # the package __init__ files on the way are run by the import too
                 "__init__.py", "analysis/__init__.py", "study/__init__.py"):
        assert f"src/initstudy/{path}" in stats, path
    # stats computes; the verb's caller writes what it returns (core/table_io.py)
    elsewhere = tuple(f"src/initstudy/{name}" for name in ("figures", "train/", "cli", "core/"))
    assert not [p for p in stats if p.startswith(elsewhere)]


def test_the_default_root_is_where_the_package_was_imported_from(monkeypatch):
    import initstudy

    assert code.ROOT == Path(initstudy.__file__).resolve().parent.parent
    monkeypatch.chdir(REPO)
    assert code.source_files(["initstudy.tables.build"]) == files("initstudy.tables.build")


def test_paths_are_relative_to_the_working_directory_or_absolute_outside_it(tmp_path):
    inside = files("initstudy.study.fields")
    assert inside == ["src/initstudy/__init__.py", "src/initstudy/study/__init__.py", "src/initstudy/study/fields.py"]
    outside = files("initstudy.study.fields", relative_to=tmp_path)
    assert outside == [str(SRC.resolve() / p.removeprefix("src/")) for p in inside]


@pytest.mark.parametrize("module", ["initstudy.analysis.stats", "initstudy.tables.build", "initstudy.train.plan"])
def test_the_closure_covers_every_module_the_import_really_loads(module):
    """The closure, found by parsing, against what Python loads importing the module
    (the closure may hold more: imports inside functions not yet called)."""
    probe = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('initstudy')))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(proc.stdout.split())
    assert loaded <= set(code.closure([module], SRC)), loaded - set(code.closure([module], SRC))


def test_verbs_give_what_their_function_imports():
    assert code.verb_modules("tables", SRC) == ["initstudy.study.config", "initstudy.study.stages",
                                                "initstudy.tables.build", "initstudy.train.pending"]
    assert code.verb_modules("resolve-config", SRC) == ["initstudy.core.atomic", "initstudy.study.config"]
    train = code.verb_modules("train", SRC)
    assert {"initstudy.core.runtime", "initstudy.train.job"} <= set(train)
    # train.job imports the trainer and the model inside a function: they count
    train_files = files(*train)
    assert {"src/initstudy/train/trainer.py", "src/initstudy/models/packed.py",
            "src/initstudy/data/datasets.py", "src/initstudy/data/generated.py",
            "src/initstudy/data/keras_cache.py", "src/initstudy/data/splits.py"} <= set(train_files)
    assert "src/initstudy/cli.py" not in train_files  # shared by every verb: left out
    assert not [p for p in train_files if "figures" in p or "/analysis/" in p or "/tables/" in p]
    with pytest.raises(ValueError, match="no function cmd_frobnicate"):
        code.verb_modules("frobnicate", SRC)


def test_an_unknown_module_is_an_error():
    with pytest.raises(ValueError, match="no module 'initstudy.nope'"):
        files("initstudy.nope")


def test_parsing_imports_neither_keras_nor_tensorflow():
    probe = ("import sys; from initstudy.core import code; "
             "assert code.source_files(code.verb_modules('train')); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'numpy')))")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr[-2000:]


# -- a synthetic package -----------------------------------------------------------------


TOY = {
    "toy/__init__.py": "",
    "toy/a.py": "from toy import b\nimport os\nimport numpy\n",
    "toy/b.py": "import toy.c\n",
    "toy/c.py": "from .sub import d as dd\nfrom toy.names import CONSTANT\n",
    "toy/names.py": "CONSTANT = 1\n",
    "toy/sub/__init__.py": "",
    "toy/sub/d.py": "def later():\n    from toy.lazy import thing\n    from ..e import x\n    import other.pkg\n",
    "toy/lazy.py": "thing = 1\n",
    "toy/e.py": "x = 1\n",
    "toy/cycle1.py": "from toy import cycle2\n",
    "toy/cycle2.py": "import toy.cycle1\n",
    "toy/unused.py": "import toy.a\n",
    "toy/guarded.py": "try:\n    import toy.optional\nexcept ImportError:\n    pass\n",
    "toy/cli.py": textwrap.dedent("""\
        import toy.unused

        def cmd_go(args):
            from toy import a
            from toy.names import CONSTANT

        def cmd_resolve_config(args):
            from . import e
        """),
}


@pytest.fixture
def toy(tmp_path):
    for name, text in TOY.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_chain_of_imports_gets_every_link(toy):
    assert code.source_files(["toy.b"], toy, toy) == sorted([
        "toy/__init__.py", "toy/b.py", "toy/c.py", "toy/names.py", "toy/sub/__init__.py", "toy/sub/d.py",
        "toy/lazy.py", "toy/e.py"])
    got = code.source_files(["toy.a"], toy, toy)
    assert {"toy/a.py", "toy/b.py", "toy/c.py"} <= set(got)
    assert "toy/unused.py" not in got and "toy/cli.py" not in got


def test_relative_submodule_function_level_and_name_imports(toy):
    assert code.imported_modules("toy.sub.d", toy) >= {"toy.lazy", "toy.e", "other.pkg"}
    assert code.imported_modules("toy.c", toy) >= {"toy.sub", "toy.sub.d", "toy.names"}
    assert "toy.names.CONSTANT" not in code.imported_modules("toy.c", toy)  # a name, not a module


def test_cycles_end_and_missing_optional_modules_are_skipped(toy):
    assert code.source_files(["toy.cycle1"], toy, toy) == ["toy/__init__.py", "toy/cycle1.py", "toy/cycle2.py"]
    assert code.source_files(["toy.guarded"], toy, toy) == ["toy/__init__.py", "toy/guarded.py"]


def test_an_edit_that_adds_an_import_is_seen(toy):
    before = code.source_files(["toy.e"], toy, toy)
    (toy / "toy" / "e.py").write_text("x = 1\nfrom toy import unused\n")
    after = code.source_files(["toy.e"], toy, toy)
    assert set(after) - set(before) >= {"toy/unused.py", "toy/a.py"}


def test_relative_root_and_working_directory(toy, monkeypatch):
    monkeypatch.chdir(toy.parent)
    assert code.source_files(["toy.e"], root=toy.name) == [f"{toy.name}/toy/__init__.py", f"{toy.name}/toy/e.py"]


def test_verb_modules_of_a_synthetic_cli(toy):
    assert code.verb_modules("go", toy, package="toy") == ["toy.a", "toy.names"]
    assert code.verb_modules("resolve-config", toy, package="toy") == ["toy.e"]
