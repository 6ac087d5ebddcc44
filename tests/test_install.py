"""The package installed as a user installs it (not the checkout's editable install)
works from any folder; provenance reads the commit of the working directory."""

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import REPO, TINY
from workflow_copy import copy_paths

#: What `pip install .` builds from (copied, so that the build's egg-info and build/
#: folders land in tmp_path, never in the checkout others are editing).
BUILT_FROM = ["pyproject.toml", "README.md", "src"]


def clean_env(**extra) -> dict:
    """The environment without anything pointing Python at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE")}
    return {**env, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "TF_ENABLE_ONEDNN_OPTS": "0", **extra}


def run(args, cwd, timeout=300):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def data_files(package: Path) -> set[str]:
    """The package's files that are not Python source (what package-data must carry)."""
    return {p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh venv with initstudy installed from a wheel of the checkout (no network:
    the wheel is built by this venv's setuptools, without build isolation), and this
    venv's dependencies made visible by a .pth line listing its site-packages. Lines of
    a .pth file only extend sys.path: the .pth files in the directory they add are not
    processed, so this venv's editable install of initstudy does not come along."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    copy_paths(BUILT_FROM, source)
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "wheels",
                source], cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheel, = (tmp / "wheels").glob("initstudy-*.whl")

    venv = tmp / "venv"
    proc = run([sys.executable, "-m", "venv", venv], cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    python = venv / "bin" / "python"
    proc = run([python, "-m", "pip", "install", "--no-deps", wheel], cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "project_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return python, site


@pytest.mark.slow
def test_the_installed_package_validates_a_config_from_another_folder(fresh_venv, tmp_path):
    python, site = fresh_venv
    elsewhere = tmp_path / "elsewhere"  # no checkout, no src/ here or above
    elsewhere.mkdir()

    # the import resolves to the fresh venv; the checkout's src/ is not on the path (the
    # project venv's site-packages is, for the dependencies, without its .pth files)
    probe = textwrap.dedent(f"""
        import sys, initstudy
        from importlib import resources
        print(initstudy.__file__)
        assert not any(p.startswith({str(REPO / "src")!r}) for p in sys.path), sys.path
        assert not any("editable" in repr(finder).lower() for finder in sys.meta_path), sys.meta_path
        for name in ("schemas/config.schema.yaml", "schemas/record.schema.json"):
            assert resources.files("initstudy").joinpath(name).read_text()
        import jsonschema, yaml  # the dependencies, from the project's venv
    """)
    proc = run([python, "-c", probe], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = Path(proc.stdout.strip())
    print(f"initstudy.__file__ = {installed}")
    assert installed == site / "initstudy" / "__init__.py"

    # package-data carries every file the package holds besides its Python code
    assert data_files(REPO / "src" / "initstudy") <= data_files(installed.parent)

    (elsewhere / "config.yaml").write_text(yaml.safe_dump(TINY))
    proc = run([python, "-m", "initstudy", "validate", "config.yaml"], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "config.yaml: valid; 1 runs in 1 training jobs"

    bad = {**TINY, "grid": {**TINY["grid"], "depths": [2, 500]}}
    (elsewhere / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = run([venv_script(python, "initstudy"), "validate", "bad.yaml"], cwd=elsewhere)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("initstudy validate: error: invalid config: "
                                   "grid.depths[1]: 500 is greater than the maximum of 200"), proc.stderr[-3000:]
    assert sorted(elsewhere.iterdir()) == [elsewhere / "bad.yaml", elsewhere / "config.yaml"]  # nothing written


def venv_script(python: Path, name: str) -> Path:
    """The console script `name` the install put beside the venv's python."""
    return python.parent / name


# -- provenance: the commit of the working directory ------------------------------------


def git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main",
                           *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.fixture
def no_repo_above(tmp_path, monkeypatch):
    """Git stops looking for a repository at tmp_path (whatever holds the tmp folder)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return tmp_path


def test_git_commit_outside_a_work_tree_says_so(no_repo_above, monkeypatch):
    from initstudy.core import provenance

    outside = no_repo_above / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert provenance.git_commit() == provenance.NO_GIT
    assert provenance.git_commit(outside) == provenance.NO_GIT


def test_git_commit_inside_a_repository_is_head(no_repo_above, monkeypatch):
    from initstudy.core import provenance

    repo = no_repo_above / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "a.txt").write_text("one\n")
    git("add", "a.txt", cwd=repo)
    git("commit", "-q", "-m", "first", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")  # the working directory, anywhere in the work tree
    assert provenance.git_commit() == head and len(head) == 40
    (repo / "untracked.txt").write_text("not tracked: still clean\n")
    assert provenance.git_commit() == head
    (repo / "a.txt").write_text("two\n")
    assert provenance.git_commit() == f"{head}-dirty"
