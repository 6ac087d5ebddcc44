"""The source files a job runs: the ``code`` inputs of the workflow's rules, derived
from the package instead of listed by hand.

:func:`source_files` takes module names (``"initstudy.analysis.stats"``) and returns
the files of those modules and of every module of the same package they import,
transitively: ``import pkg.x``, ``from pkg.x import y`` (``y`` a submodule or a
name), relative imports, and imports inside functions (the CLI and some modules
import lazily) all count, and so does the ``__init__.py`` of every package on the
way (importing ``pkg.a.b`` runs ``pkg/__init__.py`` and ``pkg/a/__init__.py``).
Imports are found by parsing the files with :mod:`ast`, never by importing them:
the workflow calls this while Snakemake parses the Snakefile, which must stay fast
and must not start Keras or TensorFlow. Imports of other packages are not
followed (their versions are the environment's business), nor are imports by a
computed name (``importlib.import_module(name)``): a rule names such modules itself.

:func:`verb_modules` gives what one verb of ``python -m initstudy`` calls: the
modules ``cli.py``'s ``cmd_<verb>`` imports. ``cli.py`` itself (argument parsing,
error reporting, shared by every verb) is left out on purpose, so that adding a
verb or editing a help text does not rerun every job of the study; a verb is thin,
what it computes lives in the modules it imports.

This module imports nothing of the package (it is read by the workflow before any
job runs), and nothing outside the standard library.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path
from typing import Iterable

#: The package this module belongs to, and the folder that holds it (``src`` in a
#: checkout, ``site-packages`` when installed).
PACKAGE = __name__.split(".")[0]
ROOT = Path(__file__).resolve().parents[2]


def module_file(name: str, root: str | Path = ROOT) -> Path | None:
    """The source file of module ``name`` below ``root`` (``pkg/x/__init__.py`` for a
    package, ``pkg/x.py`` for a module); ``None`` when there is none."""
    base = Path(root).joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=None)
def _parsed_imports(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    """Every import statement of the file, anywhere in it: ``(module, names, level)``
    (``import a.b`` is ``("a.b", (), 0)``). Cached per file version."""
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", tuple(alias.name for alias in node.names), node.level))
    return tuple(found)


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` -> ``[a, a.b, a.b.c]``: importing a module runs its parents' ``__init__``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _absolute(module: str, level: int, here: str, where: Path) -> str:
    """The absolute name of ``from <level dots><module> import ...`` in package ``here``."""
    if not level:
        return module
    anchor = here.split(".")
    if level - 1 >= len(anchor):
        raise ValueError(f"{where}: relative import beyond the top-level package")
    return ".".join(anchor[: len(anchor) - (level - 1)] + ([module] if module else []))


def imported_modules(name: str, root: str | Path = ROOT) -> set[str]:
    """The modules (of any package) that module ``name`` imports, with their parent
    packages; ``from m import y`` counts ``m.y`` when ``y`` is a module below ``root``."""
    path = module_file(name, root)
    if path is None:
        raise ValueError(f"no module {name!r} below {root}")
    stat = path.stat()
    # The package a relative import starts from: the module's own package, or the
    # package itself when the file is its __init__.py.
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for module, names, level in _parsed_imports(str(path), stat.st_mtime_ns, stat.st_size):
        module = _absolute(module, level, here, path)
        found.update(_with_parents(module))
        for alias in names:
            if alias != "*" and module_file(f"{module}.{alias}", root) is not None:
                found.add(f"{module}.{alias}")
    return found


def closure(modules: Iterable[str], root: str | Path = ROOT) -> dict[str, Path]:
    """``modules``, their parent packages and every module of their packages they
    import, transitively: module name -> source file."""
    modules = list(modules)
    packages = {name.split(".")[0] for name in modules}
    todo = [parent for name in modules for parent in _with_parents(name)]
    files: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in files:
            continue
        path = module_file(name, root)
        if path is None:
            if name in modules:
                raise ValueError(f"no module {name!r} below {root}")
            continue  # e.g. a guarded import of an optional module that is not there
        files[name] = path
        todo += [m for m in imported_modules(name, root) if m.split(".")[0] in packages and m not in files]
    return files


def _shown(path: Path, relative_to: Path) -> str:
    try:
        return path.relative_to(relative_to).as_posix()
    except ValueError:
        return path.as_posix()


def source_files(modules: Iterable[str], root: str | Path | None = None,
                 relative_to: str | Path | None = None) -> list[str]:
    """The sorted source files of ``modules`` and of every module of their package
    they import, transitively (see :func:`closure`).

    ``root`` is the folder holding the package (default: the one this module was
    imported from). Paths are relative to ``relative_to`` (default: the working
    directory, where the workflow runs) when they lie below it — ``src/initstudy/...``
    in a checkout — and absolute otherwise (a package installed elsewhere).
    """
    root = Path(ROOT if root is None else root).resolve()
    relative_to = Path(os.getcwd() if relative_to is None else relative_to).resolve()
    return sorted(_shown(path, relative_to) for path in closure(modules, root).values())


def verb_modules(verb: str, root: str | Path | None = None, package: str = PACKAGE) -> list[str]:
    """The modules of ``package`` that ``python -m <package> <verb>`` calls: those
    imported in the body of ``cmd_<verb>`` (``-`` read as ``_``) of ``<package>/cli.py``."""
    root = Path(ROOT if root is None else root)
    cli = module_file(f"{package}.cli", root)
    if cli is None:
        raise ValueError(f"no module {package}.cli below {root}")
    function = f"cmd_{verb.replace('-', '_')}"
    tree = ast.parse(cli.read_bytes(), filename=str(cli))
    bodies = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function]
    if not bodies:
        raise ValueError(f"{cli}: no function {function} (is {verb!r} a verb?)")
    found = set()
    for node in ast.walk(bodies[0]):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module or "", node.level, package, cli)
            submodules = [f"{module}.{a.name}" for a in node.names if module_file(f"{module}.{a.name}", root)]
            found.update(submodules or [module])
    return sorted(m for m in found if m == package or m.startswith(f"{package}."))
