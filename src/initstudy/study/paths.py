"""Where the study's outputs live (relative to the working directory the workflow runs
in): the folders of its runs, and each artifact's path as :mod:`initstudy.study.catalog`
names it. The CLI's defaults and the workflow's rules read them from here."""

from __future__ import annotations

from initstudy.study import catalog

RESULTS = catalog.RESULTS
#: The runs' records: ``<RUNS_ROOT>/<dataset>/.../s<seed>/record-<identity hash>.json``.
RUNS_ROOT = f"{RESULTS}/runs"
CHECKPOINTS = f"{RESULTS}/checkpoints"
#: One manifest per pack of pending runs (the input of its train job) and its done marker.
PACKS_DIR = f"{RESULTS}/packs"
RESOLVED_CONFIG = catalog.path("config", "resolved_config")
PROVENANCE = catalog.path("provenance", "provenance")
#: The tidy tables: name -> path.
TABLES = catalog.paths("tidy")
#: The tidy tables the study's analysis reads (the Jacobian spectra are for claims).
ANALYZED_TABLES = ("runs", "history", "signal", "weights")
#: The learning-rate choice and the runs the comparisons take (``initstudy tune``).
TUNING = catalog.paths("tuning")
#: The two-stage protocol's checkpoint: each cell and initializer's chosen rate.
SELECTION = catalog.path("selection", "selection")
STATS_DIR = catalog.STATS_DIR
AUDIT = catalog.path("audit", "audit")
ANALYSIS_DIR = catalog.ANALYSIS_DIR
ANALYSIS_TABLES = catalog.names("analysis")
THEORY_TABLES = catalog.names("theory")
STATS_TABLES = catalog.names("stats")
GENERATED = catalog.GENERATED
FIGURES_DIR = catalog.FIGURES_DIR
LATEX_TABLES_DIR = catalog.LATEX_TABLES_DIR
#: The generated LaTeX tables (``<LATEX_TABLES_DIR>/<name>.tex``) of :mod:`initstudy.paper.typeset`.
LATEX_TABLES = tuple(a.stem for a in catalog.of_kind("typeset") if a.path.startswith(LATEX_TABLES_DIR))
PAPER_PDF = catalog.path("paper", "paper")
#: The claims: one study config per claim below CLAIM_CONFIGS (``<name>.yaml``, with a
#: ``claim`` section); each claim's tidy tables, verdict and figure tables in its folder.
CLAIM_CONFIGS = "config/claims"
CLAIMS_DIR = catalog.CLAIMS_DIR
CLAIMS_TABLE = catalog.path("claims_table", "claims")
#: The file name of a claim's verdict, in its folder.
CLAIM_VERDICT = catalog.path("claim", "verdict").rsplit("/", 1)[-1]
#: The registered claim rules (``initstudy register``; committed with the configs).
CLAIM_REGISTRY = "config/registry.yaml"
#: The main study's control check (``initstudy check-controls --out``).
CONTROLS = catalog.path("controls", "controls")
#: The control studies: one study config per control below CONTROL_CONFIGS
#: (``<name>.yaml``, with a ``control`` section); each one's tables and check in its folder.
CONTROL_CONFIGS = "config/controls"
#: The file name of a control study's check, in its folder.
CONTROL_CHECK = catalog.path("control", "control").rsplit("/", 1)[-1]
#: The archive of what the study publishes (``initstudy publish``).
PUBLISHED = catalog.path("publish", "published")
#: What ``initstudy typeset-claims`` writes below GENERATED: the claims' macros, their
#: table and the generated part of the claims section (which paper/sections/claims.tex
#: reads when it exists).
CLAIMS_GENERATED = tuple(a.path.removeprefix(f"{GENERATED}/") for a in catalog.of_kind("typeset_claims"))
#: What ``initstudy typeset-controls`` writes below GENERATED: the paper's controls part.
CONTROLS_GENERATED = tuple(a.path.removeprefix(f"{GENERATED}/") for a in catalog.of_kind("typeset_controls"))


def claim_dir(name: str) -> str:
    """The folder of claim ``name``'s tables and verdict."""
    return catalog.claim_path(catalog.CLAIM_DIR, name)


def claim_config(name: str) -> str:
    """Claim ``name``'s config file."""
    return f"{CLAIM_CONFIGS}/{name}.yaml"


def claim_tables(name: str) -> dict[str, str]:
    """Claim ``name``'s tidy tables: name -> path, as :data:`TABLES` for the study."""
    return {a.name: catalog.claim_path(a.path, name) for a in catalog.of_kind("claim_tidy")}


def claim_selection(name: str) -> str:
    """A two-stage claim's choice of rates (as :data:`SELECTION` for the study)."""
    return catalog.claim_path(catalog.of_kind("claim_selection")[0].path, name)


def claim_figure_tables(name: str, statistic: str) -> dict[str, str]:
    """The tables claim ``name`` writes for its figure (its statistic's), name -> path;
    empty for a statistic without a figure."""
    figure = catalog.CLAIM_FIGURES.get(statistic)
    return {table: f"{claim_dir(name)}/{table}.csv" for table in (figure.draws if figure else ())}


def claim_figure(name: str) -> str:
    """Claim ``name``'s figure (every claim statistic's figure has this path template)."""
    return catalog.claim_path(catalog.CLAIM_FIGURE, name)


def control_dir(name: str) -> str:
    """The folder of control study ``name``'s tables and check."""
    return catalog.control_path(catalog.CONTROL_DIR, name)


def control_config(name: str) -> str:
    """Control study ``name``'s config file."""
    return f"{CONTROL_CONFIGS}/{name}.yaml"


def control_tables(name: str) -> dict[str, str]:
    """Control study ``name``'s tidy tables: name -> path, as :data:`TABLES` for the study."""
    return {a.name: catalog.control_path(a.path, name) for a in catalog.of_kind("control_tidy")}


def control_check(name: str) -> str:
    """Control study ``name``'s check table."""
    return catalog.control_path(catalog.path("control", "control"), name)


def control_provenance(name: str) -> str:
    """The provenance of control study ``name``'s records."""
    return catalog.control_path(catalog.path("control_provenance", "provenance"), name)
