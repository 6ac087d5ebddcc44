"""The paper's generated text: LaTeX macros for every cited number, and its tables.

``variables.tex`` defines one ``\\newcommand`` per number or name the paper cites;
macro names are built from the data by :func:`macro_name` (letters only, digits
spelt out: ``BestInitReluDepthFifty``), and each is defined exactly once. The
tables are pandas ``Styler.to_latex`` output (booktabs rules, numbers in siunitx
``\\num``). Accuracies are reported in percent. Everything here is a function of
the tidy table, the config and one record's provenance.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from initstudy import config as study_config
from initstudy import figures, initializers
from initstudy.atomic import write_text

_ONES = (
    "Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen "
    "Fourteen Fifteen Sixteen Seventeen Eighteen Nineteen"
).split()
_TENS = "_ _ Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()
_SCALES = ((10**9, "Billion"), (10**6, "Million"), (1000, "Thousand"), (100, "Hundred"))
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
#: (column, plural noun) of the grid dimensions counted and listed in macros.
GRID_COLUMNS = (
    ("dataset", "Datasets"),
    ("arch", "Architectures"),
    ("activation", "Activations"),
    ("optimizer", "Optimizers"),
    ("initializer", "Initializers"),
)


def number_words(n: int) -> str:
    """``50`` -> ``Fifty``, ``128`` -> ``OneHundredTwentyEight`` (CamelCase, n >= 0)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (_ONES[n % 10] if n % 10 else "")
    size, word = next((size, word) for size, word in _SCALES if n >= size)
    rest = n % size
    return number_words(n // size) + word + (number_words(rest) if rest else "")


def _digits_word(digits: str) -> str:
    """A run of digits in words; with a leading zero (``01``) digit by digit."""
    if len(digits) > 1 and digits.startswith("0"):
        return "".join(_ONES[int(d)] for d in digits)
    return number_words(int(digits))


def macro_name(*parts: Any) -> str:
    """A LaTeX macro name (letters only) from labels: words capitalised, digits spelt.

    ``macro_name("BestInit", "relu", "Depth", 50)`` -> ``BestInitReluDepthFifty``;
    a decimal point between digits becomes ``Point``; other characters separate words.
    """
    text = " ".join(str(p) for p in parts)
    text = re.sub(r"(?<=\d)\.(?=\d)", " Point ", text)
    words = re.findall(r"[A-Za-z]+|\d+", text)
    name = "".join(_digits_word(w) if w.isdigit() else w[0].upper() + w[1:] for w in words)
    if not name:
        raise ValueError(f"no macro name can be made from {parts!r}")
    return name


def escape_latex(text: Any) -> str:
    """``text`` with LaTeX's special characters escaped (``he_normal`` -> ``he\\_normal``)."""
    return re.sub(r"[\\&%$#_{}~^]", lambda m: _LATEX_SPECIALS[m.group()], str(text))


def num(value: float, decimals: int | None = None) -> str:
    """``\\num{...}``: integers as they are, floats with ``decimals`` places (or ``%g``)."""
    if decimals is not None:
        return rf"\num{{{value:.{decimals}f}}}"
    if isinstance(value, int) or float(value).is_integer():
        return rf"\num{{{int(value)}}}"
    return rf"\num{{{value:g}}}"


def percent(fraction: float) -> str:
    """A fraction as ``\\qty{..}{\\percent}`` with one decimal."""
    return rf"\qty{{{100 * fraction:.1f}}}{{\percent}}"


def latex_value(value: Any) -> str:
    """Any config value as LaTeX: numbers in ``\\num``/``\\numlist``, text escaped."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return num(value)
    if isinstance(value, dict):
        return "; ".join(f"{escape_latex(k)}: {latex_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return r"\numlist{" + ";".join(f"{v:g}" for v in value) + "}"
        return ", ".join(latex_value(v) for v in value)
    return escape_latex(value)


def per_run(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run (the run-level columns repeat on each epoch row)."""
    return tidy.drop_duplicates("run_id").reset_index(drop=True)


def merge_macros(*groups: dict[str, str]) -> dict[str, str]:
    """Join macro groups; a name defined twice, or not letters only, is an error."""
    merged: dict[str, str] = {}
    for group in groups:
        for name, body in group.items():
            if not re.fullmatch(r"[A-Za-z]+", name):
                raise ValueError(f"macro name {name!r} must be letters only")
            if name in merged:
                raise ValueError(f"macro \\{name} defined twice ({merged[name]!r}, {body!r})")
            merged[name] = body
    return merged


def count_macros(tidy: pd.DataFrame) -> dict[str, str]:
    """Sizes of the study as it ran: runs, seeds, epochs, depths and grid dimensions."""
    runs = per_run(tidy)
    depths = sorted(runs["depth"].unique())
    macros = {
        "NumRuns": num(len(runs)),
        "NumSeeds": num(runs["seed"].nunique()),
        "NumEpochs": num(int(tidy["epoch"].max())),
        "NumDepths": num(len(depths)),
        "MinDepth": num(int(depths[0])),
        "MaxDepth": num(int(depths[-1])),
        "DepthList": latex_value([int(d) for d in depths]),
        "NumPacks": num(runs["pack_id"].nunique()),
    }
    for column, noun in GRID_COLUMNS:
        values = sorted(runs[column].unique())
        macros[macro_name("Num", noun)] = num(len(values))
        macros[macro_name(noun[:-1], "List")] = ", ".join(map(escape_latex, values))
    return macros


def best_initializers(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per setting and depth, the initializer with the highest mean test accuracy.

    Columns: the setting columns, ``depth``, ``initializer``, ``test_accuracy`` (the
    mean over seeds with a finite test accuracy). Ties go to the first label in
    sorted order; settings where no run has a finite test accuracy are left out.
    """
    keys = [*figures.setting_columns(tidy), "depth"]
    means = per_run(tidy).groupby([*keys, "initializer"])["test_accuracy"].mean().dropna()
    best = means.loc[means.groupby(level=keys).idxmax()]
    return best.reset_index()


def best_macros(tidy: pd.DataFrame) -> dict[str, str]:
    """``BestInit<Setting>Depth<N>`` (label) and ``...Accuracy``, and a summary of wins."""
    best = best_initializers(tidy)
    settings = figures.setting_columns(tidy)
    macros = {}
    for row in best.itertuples(index=False):
        name = macro_name("BestInit", *(getattr(row, c) for c in settings), "Depth", row.depth)
        macros[name] = escape_latex(row.initializer)
        macros[name + "Accuracy"] = percent(row.test_accuracy)
    wins = best["initializer"].value_counts()
    top = sorted(wins[wins == wins.max()].index)[0] if len(wins) else None
    macros["NumComparisons"] = num(len(best))
    macros["MostFrequentBestInit"] = escape_latex(top) if top else "--"
    macros["MostFrequentBestInitWins"] = num(int(wins[top]) if top else 0)
    return macros


def divergence_macros(tidy: pd.DataFrame) -> dict[str, str]:
    """How many runs diverged, in all and per initializer (``NumDivergedInit<Label>``)."""
    runs = per_run(tidy)
    macros = {
        "NumDiverged": num(int(runs["diverged"].sum())),
        "PercentDiverged": percent(runs["diverged"].mean()),
    }
    for label, count in runs.groupby("initializer")["diverged"].sum().items():
        macros[macro_name("NumDivergedInit", label)] = num(int(count))
    return macros


def execution_macros(tidy: pd.DataFrame) -> dict[str, str]:
    """Compute time (sum and mean of the runs' wall times), backend and determinism."""
    runs = per_run(tidy)
    wall = runs["wall_time_s"]
    return {
        "TotalComputeHours": rf"\qty{{{wall.sum() / 3600:.2f}}}{{\hour}}",
        "MeanRunSeconds": rf"\qty{{{wall.mean():.1f}}}{{\second}}",
        "KerasBackend": ", ".join(map(escape_latex, sorted(runs["keras_backend"].unique()))),
        "NumDeterministicRuns": num(int(runs["deterministic"].sum())),
    }


def training_macros(config: dict[str, Any]) -> dict[str, str]:
    """``Training<Key>`` (and ``Training<Key><Subkey>`` for mappings) from the config."""
    macros = {}
    for key, value in config["training"].items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                macros[macro_name("Training", key, sub)] = latex_value(subvalue)
        else:
            macros[macro_name("Training", key)] = latex_value(value)
    return macros


def method_macros() -> dict[str, str]:
    """The figures' statistical settings: CI level and number of bootstrap resamples."""
    return {"CILevel": num(figures.CI_LEVEL), "NumBootstrap": num(figures.N_BOOT)}


def provenance_macros(provenance: dict[str, Any]) -> dict[str, str]:
    """Git commit, versions (``Version<Package>``), host and hardware of the record."""
    commit = str(provenance["git_commit"])
    head, dash, dirty = commit.partition("-")
    macros = {
        "GitCommit": rf"\texttt{{{escape_latex(commit)}}}",
        "GitCommitShort": rf"\texttt{{{escape_latex(head[:12] + dash + dirty)}}}",
        "VersionPython": escape_latex(provenance["python"]),
        "VersionInitstudy": escape_latex(provenance["initstudy"]),
        "HardwareHost": escape_latex(provenance["host"]),
        "HardwarePlatform": escape_latex(provenance["platform"]),
        "HardwareCpu": escape_latex(provenance["cpu"]),
        "HardwareDevices": latex_value(provenance["devices"]) or "none",
        "ProvenanceCreated": escape_latex(provenance["created"]),
    }
    for package, version in sorted(provenance["packages"].items()):
        macros[macro_name("Version", package)] = escape_latex(version)
    return macros


def variables(tidy: pd.DataFrame, config: dict[str, Any], provenance: dict[str, Any]) -> str:
    """The text of ``variables.tex``: every macro, once, in a fixed order."""
    macros = merge_macros(
        count_macros(tidy),
        best_macros(tidy),
        divergence_macros(tidy),
        execution_macros(tidy),
        training_macros(config),
        method_macros(),
        provenance_macros(provenance),
    )
    lines = ["% Generated by initstudy.report from the run table; do not edit."]
    lines += [f"\\newcommand{{\\{name}}}{{{body}}}" for name, body in macros.items()]
    return "\n".join(lines) + "\n"


def _sparsify(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Blank a cell that repeats the row above along with every cell left of it."""
    cells = frame[columns].astype(object)
    same = cells.eq(cells.shift()).cummin(axis=1)
    return frame.assign(**{c: frame[c].mask(same[c], "") for c in columns})


def _accuracy_cell(cell: tuple[float, float, int]) -> str:
    """``mean ± sd`` in percent, ``--`` without data; ``†n`` when n seeds diverged."""
    mean, sd, diverged = cell
    if math.isnan(mean):
        text = "--"
    elif math.isnan(sd):
        text = num(100 * mean, 1)
    else:
        text = rf"\num{{{100 * mean:.1f} \pm {100 * sd:.1f}}}"
    return text + (rf"\,\dag{{}}{diverged}" if diverged else "")


def results_frame(tidy: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cells ``(mean, sd, n diverged)`` of final test accuracy over seeds, and the means.

    Rows are settings and initializers, columns depths; mean and sd cover the runs
    with a finite test accuracy.
    """
    settings = figures.setting_columns(tidy)
    stats = per_run(tidy).groupby([*settings, "initializer", "depth"]).agg(
        mean=("test_accuracy", "mean"), sd=("test_accuracy", "std"), diverged=("diverged", "sum")
    )
    cells = pd.Series(list(stats.itertuples(index=False, name=None)), index=stats.index)
    return cells.unstack("depth"), stats["mean"].unstack("depth")


def _bold_best(means: pd.DataFrame, settings: list[str]) -> pd.DataFrame:
    """CSS that bolds the highest mean per setting and depth (every one of a tie)."""
    best = means.eq(means.groupby(level=settings).transform("max"))
    return best.replace({True: "font-weight: bold;", False: ""})


def results_table(tidy: pd.DataFrame) -> str:
    """Mean ± sd final test accuracy (%) per setting × initializer (rows) × depth (columns)."""
    settings = figures.setting_columns(tidy)
    cells, means = results_frame(tidy)
    css = _bold_best(means, settings)
    header = [c.capitalize() for c in [*settings, "initializer"]]
    frame = _sparsify(cells.reset_index().set_axis([*header, *cells.columns], axis=1), header)
    frame.columns = pd.MultiIndex.from_tuples(
        [("", h) for h in header] + [("Depth", str(d)) for d in cells.columns]
    )
    styler = (
        frame.style.hide(axis="index")
        .format(escape="latex", subset=frame.columns[: len(header)])
        .format(_accuracy_cell, subset=frame.columns[len(header):])
        .apply(lambda _: css.to_numpy(), axis=None, subset=frame.columns[len(header):])
    )
    return styler.to_latex(
        hrules=True,
        multicol_align="c",
        convert_css=True,
        column_format="l" * len(header) + "c" * len(cells.columns),
    )


def grid_table(config: dict[str, Any]) -> str:
    """The study grid and training settings of the config, one row per setting
    (learning rates only of the optimizers in the grid)."""
    grid = dict(config["grid"])
    grid["initializers"] = [initializers.parse(s).label for s in grid["initializers"]]
    training = dict(config["training"])
    rates = training.get("learning_rate", {})
    training["learning_rate"] = {k: rates[k] for k in grid["optimizers"] if k in rates}
    rows = [("Grid", key, value) for key, value in grid.items()]
    rows += [("Training", key, value) for key, value in training.items()]
    frame = pd.DataFrame(
        [(part, escape_latex(key.replace("_", " ").capitalize()), latex_value(value))
         for part, key, value in rows],
        columns=["Part", "Setting", "Values"],
    )
    frame = _sparsify(frame, ["Part"])
    return frame.style.hide(axis="index").to_latex(
        hrules=True, column_format=r"@{}ll>{\raggedright\arraybackslash}p{0.6\linewidth}@{}"
    )


def software_table(provenance: dict[str, Any]) -> str:
    """Python, initstudy and every recorded package with its version (a longtable)."""
    rows = [("Python", provenance["python"]), ("initstudy", provenance["initstudy"])]
    rows += sorted(provenance["packages"].items(), key=lambda kv: kv[0].lower())
    frame = pd.DataFrame(rows, columns=["Software", "Version"])
    return frame.style.hide(axis="index").format(escape="latex").to_latex(
        hrules=True,
        environment="longtable",
        column_format=r"@{}l>{\raggedright\arraybackslash}p{0.6\linewidth}@{}",
        caption="Software versions recorded with the runs.",
        label="tab:software",
    )


def load_provenance(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The provenance dict, from a record (path or dict) or a provenance dict itself."""
    if not isinstance(source, dict):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    return source.get("provenance", source)


def main(
    tidy_path: str | Path,
    config_path: str | Path,
    provenance: str | Path | dict[str, Any],
    out_dir: str | Path,
) -> list[Path]:
    """Write ``variables.tex`` and ``tables/{grid,software,results}.tex`` into ``out_dir``.

    The config is read with :func:`initstudy.config.load`, so its defaults are filled
    in (the paper cites every training setting, given or not).
    """
    tidy = pd.read_parquet(tidy_path)
    config = study_config.load(config_path)
    provenance = load_provenance(provenance)
    out_dir = Path(out_dir)
    outputs = {
        out_dir / "variables.tex": variables(tidy, config, provenance),
        out_dir / "tables" / "grid.tex": grid_table(config),
        out_dir / "tables" / "software.tex": software_table(provenance),
        out_dir / "tables" / "results.tex": results_table(tidy),
    }
    for path, text in outputs.items():
        write_text(path, text)
    return list(outputs)
