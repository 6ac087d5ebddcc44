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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from initstudy.study import config as study_config
from initstudy import figures
from initstudy.inits import specs as initializers
from initstudy.analysis import stats
from initstudy.core.atomic import write_text

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
    """The figures' settings: CI level, number of bootstrap resamples, and the
    distortion up to which the signal-vs-accuracy axis is linear."""
    return {
        "CILevel": num(figures.CI_LEVEL),
        "NumBootstrap": num(figures.N_BOOT),
        "DistortionLinear": num(figures.DISTORTION_LINEAR),
    }


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


@dataclass(frozen=True)
class Tables:
    """Everything the generated text is a function of: the tidy tables, the stats
    tables (name -> frame, see :data:`STATS_TABLES`), the config and the provenance."""

    tidy: pd.DataFrame
    signal: pd.DataFrame
    weights: pd.DataFrame
    stats: dict[str, pd.DataFrame]
    config: dict[str, Any]
    provenance: dict[str, Any]

    @property
    def policy(self) -> str:
        return diverged_policy(self.stats)


def variables(tables: Tables) -> str:
    """The text of ``variables.tex``: every macro, once, in a fixed order."""
    macros = merge_macros(
        count_macros(tables.tidy),
        best_macros(tables.tidy),
        divergence_macros(tables.tidy),
        execution_macros(tables.tidy),
        training_macros(tables.config),
        method_macros(),
        provenance_macros(tables.provenance),
        stats_macros(tables.stats, tables.config["stats"]["alpha"]),
        power_macros(tables.stats, tables.config["stats"]["alpha"]),
        depth_macros(depth_frame(tables.stats)),
        guideline_macros(guideline_frame(tables.stats)),
        signal_macros(signal_frame(tables.signal, tables.tidy, tables.policy)),
        weights_macros(tables.tidy, tables.weights),
    )
    lines = ["% Generated by initstudy.report from the study's tables; do not edit."]
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


# ------------------------------------------------------------------ statistics

#: The stats tables the paper reads (``results/stats/<name>.csv``).
STATS_TABLES = ("friedman", "pairwise", "bootstrap", "ranks", "divergence")
#: What a diverged run is in the comparisons, per ``stats.diverged_policy``.
POLICY_TEXT = {
    "chance": r"scored at chance accuracy, $1/C$ for $C$ classes",
    "exclude": "excluded, and with it its seed from every paired comparison it would enter",
}


#: Whether a Holm-corrected pairwise test can reject at all with the study's seeds.
POWER_VERDICT = {
    True: r"with \NumPairedSeeds{} seeds per comparison no pairwise difference can be "
    r"significant after Holm's correction (the smallest attainable adjusted $p$ is \HolmMinP)",
    False: r"\NumPairwiseRejected{} of \NumPairwiseTests{} Holm-corrected pairwise tests "
    r"reject at level \StatsAlpha",
}


def bootstrap_resamples() -> int:
    """Resamples of the stats' bootstrap CIs (``stats.N_RESAMPLES``, what the ``stats`` verb uses)."""
    return stats.N_RESAMPLES


def diverged_policy(tables: dict[str, pd.DataFrame]) -> str:
    """The one diverged-run policy the stats tables were computed with."""
    policies = set(tables["bootstrap"]["diverged_policy"])
    if len(policies) != 1:
        raise ValueError(f"the stats tables mix diverged policies {sorted(policies)}")
    return policies.pop()


def seeds_needed(alpha: float, family: int = 1) -> int:
    """The fewest seeds n at which the exact two-sided signed-rank test can reject at
    ``alpha`` after Holm's correction over ``family`` tests: the smallest n with
    family * 2 / 2**n <= alpha (all n differences of one sign give p = 2 / 2**n)."""
    return max(1, math.ceil(1 + math.log2(family / alpha)))


def power_macros(tables: dict[str, pd.DataFrame], alpha: float) -> dict[str, str]:
    """What the tests can detect with the seeds the study has, and ``PowerVerdict``,
    the sentence the paper states it in. n is the most pairs a Wilcoxon test had (the
    most complete seeds of a cell when there is no pair), k the most initializers of a
    cell (the family counts at least one test).

    Wilcoxon: with n pairs the exact two-sided p-value is at least 2 / 2**n; Holm
    multiplies the smallest p of a cell's m = k(k-1)/2 pairs by m. Friedman: with n
    blocks and k treatments the statistic is at most n(k-1) (every block ranks the
    treatments alike), so p >= the chi-squared (k-1 df) tail at n(k-1).
    """
    pairwise, friedman = tables["pairwise"], tables["friedman"]
    pairs = pairwise["n_pairs"] if len(pairwise) else tables["ranks"]["n_blocks"]
    n = int(pairs.max())
    k = int(friedman["k"].max())
    family = max(1, k * (k - 1) // 2)
    min_p = 2.0 / 2**n
    return {
        "WilcoxonMinP": num(min_p),
        "WilcoxonSeedsNeeded": num(seeds_needed(alpha)),
        "HolmFamilySize": num(family),
        "HolmMinP": num(min(1.0, family * min_p)),
        "HolmSeedsNeeded": num(seeds_needed(alpha, family)),
        "FriedmanMinP": num(float(scipy_stats.chi2.sf(n * (k - 1), k - 1)), 4),
        "NumPairedSeeds": num(n),
        "PowerVerdict": POWER_VERDICT[family * min_p > alpha],
    }


def stats_macros(tables: dict[str, pd.DataFrame], alpha: float) -> dict[str, str]:
    """The statistics section's settings and its counts of tests, rejections and effects."""
    policy = diverged_policy(tables)
    friedman, pairwise = tables["friedman"], tables["pairwise"]
    tested = pairwise.dropna(subset=["p_value"])
    effect = pairwise["rank_biserial"].abs()
    return {
        "DivergedPolicyName": rf"\texttt{{{policy}}}",
        "DivergedPolicy": POLICY_TEXT[policy],
        "StatsAlpha": num(alpha),
        "StatsConfidence": num(round(100 * stats.CONFIDENCE)),
        "StatsBootstrapResamples": num(bootstrap_resamples()),
        "NumCells": num(len(friedman)),
        "NumFriedmanTested": num(int(friedman["p_value"].notna().sum())),
        "NumFriedmanRejected": num(int(friedman["reject"].fillna(False).sum())),
        "NumPairwiseTests": num(len(tested)),
        "NumPairwiseRejected": num(int(tested["reject"].fillna(False).sum())),
        "NumUnanimousPairs": num(int((effect == 1).sum())),
        "NumPairs": num(len(pairwise)),
        "MedianAbsRankBiserial": num(float(effect.median()), 2) if effect.notna().any() else "--",
    }


def _p_cell(p: float) -> str:
    """A p-value for a table: three significant digits, ``--`` when there is none."""
    return "--" if pd.isna(p) else rf"\num{{{p:.3g}}}"


def depth_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per cell: the Friedman test and the spread of mean test accuracy across
    initializers (best minus worst bootstrap mean, in percentage points), with the best.

    Columns: the setting columns, ``depth``, ``statistic``, ``p_value``, ``reject``,
    ``best``, ``spread``.
    """
    keys = [*figures.setting_columns(tables["friedman"]), "depth"]
    means = tables["bootstrap"].dropna(subset=["mean"])
    by_cell = means.groupby(keys)["mean"]
    best = means.loc[by_cell.idxmax(), [*keys, "initializer"]].rename(columns={"initializer": "best"})
    spread = (100 * (by_cell.max() - by_cell.min())).rename("spread").reset_index()
    friedman = tables["friedman"][[*keys, "statistic", "p_value", "reject"]]
    return friedman.merge(best, on=keys, how="left").merge(spread, on=keys, how="left")


def depth_macros(frame: pd.DataFrame) -> dict[str, str]:
    """Q1 in numbers: the mean spread over settings at the shallowest and the deepest
    depth (and ``SpreadChange``, the verb that compares them), and how many cells'
    Friedman tests reject at each."""
    settings = [c for c in figures.SETTING_COLUMNS if c in frame.columns]
    macros = {"NumSettings": num(len(frame[settings].drop_duplicates()))}
    spreads = {}
    for which, depth in (("MinDepth", frame["depth"].min()), ("MaxDepth", frame["depth"].max())):
        at = frame[frame["depth"] == depth]
        spreads[which] = round(float(at["spread"].mean()), 1)
        macros[f"Spread{which}"] = num(spreads[which], 1)
        macros[f"NumFriedmanRejected{which}"] = num(int(at["reject"].fillna(False).sum()))
    change = np.sign(spreads["MaxDepth"] - spreads["MinDepth"])
    macros["SpreadChange"] = {1: "grows", -1: "shrinks"}.get(change, "stays the same")
    return macros


def depth_table(frame: pd.DataFrame) -> str:
    """The Friedman test and the accuracy spread per setting and depth (booktabs)."""
    settings = [c for c in figures.SETTING_COLUMNS if c in frame.columns]
    header = [c.capitalize() for c in settings]
    out = pd.DataFrame({h: frame[c].map(escape_latex) for h, c in zip(header, settings)})
    out = _sparsify(out, header)
    out["Depth"] = frame["depth"].map(num)
    out[r"$\chi^2_F$"] = frame["statistic"].map(lambda v: "--" if pd.isna(v) else num(v, 2))
    out["$p$"] = frame["p_value"].map(_p_cell)
    out["Spread (pp)"] = frame["spread"].map(lambda v: "--" if pd.isna(v) else num(v, 1))
    out["Highest mean"] = frame["best"].map(lambda v: "--" if pd.isna(v) else escape_latex(v))
    return out.style.hide(axis="index").to_latex(
        hrules=True, column_format="l" * len(header) + "rrrrl"
    )


# ---------------------------------------------------------------- guideline

#: The textbook initializer family per activation (Glorot & Bengio 2010 for
#: symmetric saturating units; He et al. 2015 for rectifiers; Klambauer et al.
#: 2017 for SELU). Activations without a textbook rule are absent.
TEXTBOOK = {
    "tanh": "glorot",
    "sigmoid": "glorot",
    "linear": "glorot",
    "relu": "he",
    "leaky_relu": "he",
    "selu": "lecun",
}
FAMILY_NAMES = {"glorot": "Glorot", "he": "He", "lecun": "LeCun"}
GUIDELINE_COLUMNS = [
    "activation", "textbook", "best", "best_rank", "runner_up", "runner_up_rank", "n_cells",
    "wins_runner_up", "wins_others", "pairs_others", "marked", "agreement",
]


def family(label: str) -> str | None:
    """The textbook family of an initializer label (``he_normal`` -> ``he``), or None."""
    match = re.match(r"(glorot|he|lecun)_(normal|uniform)(?![a-z_])", label)
    return match.group(1) if match else None


def significant_wins(pairs: pd.DataFrame, initializer: str) -> pd.DataFrame:
    """The rows of ``pairwise`` in which ``initializer`` beats the other one significantly
    (Holm-corrected rejection and a positive mean difference in its favour), with the
    loser in a column ``other``."""
    as_a = pairs[(pairs["initializer_a"] == initializer) & (pairs["mean_diff"] > 0)]
    as_b = pairs[(pairs["initializer_b"] == initializer) & (pairs["mean_diff"] < 0)]
    wins = pd.concat([as_a.assign(other=as_a["initializer_b"]), as_b.assign(other=as_b["initializer_a"])])
    return wins[wins["reject"].fillna(False).astype(bool)]


def guideline_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per activation, the empirical best initializer(s) beside the textbook family.

    The best have the lowest mean rank over the activation's cells that have ranks
    (:func:`figures.mean_rank_over_cells`; ties within 1e-9 all listed), the runner-up
    the next lowest. ``wins_runner_up``: cells in which the (first) best beats the
    runner-up significantly; ``wins_others``: (cell, other initializer) pairs it beats
    significantly, of ``pairs_others``; ``marked``: it beats the runner-up in every
    cell. ``agreement`` is agree / disagree, "not tested" when the grid has no
    initializer of the textbook family, "--" without a textbook rule.
    """
    rows = []
    for activation, ranks in tables["ranks"].groupby("activation"):
        means = figures.mean_rank_over_cells(ranks, []).dropna().sort_values(kind="stable")
        if means.empty:
            continue
        best = list(means.index[np.isclose(means, means.iloc[0], rtol=0, atol=1e-9)])
        rest = means.drop(best)
        runner_up = rest.index[0] if len(rest) else None
        pairs = tables["pairwise"][tables["pairwise"]["activation"] == activation]
        pairs = pairs[(pairs["initializer_a"] == best[0]) | (pairs["initializer_b"] == best[0])]
        wins = significant_wins(pairs, best[0])
        n_cells = len(ranks.dropna(subset=["mean_rank"]).drop_duplicates(stats.CELL))
        textbook = TEXTBOOK.get(activation)
        tested = [label for label in means.index if family(label) == textbook]
        if textbook is None:
            agreement = "--"
        elif not tested:
            agreement = "not tested"
        else:
            agreement = "agree" if any(family(b) == textbook for b in best) else "disagree"
        rows.append({
            "activation": activation,
            "textbook": FAMILY_NAMES.get(textbook, "--"),
            "best": best,
            "best_rank": means.iloc[0],
            "runner_up": runner_up,
            "runner_up_rank": rest.iloc[0] if len(rest) else np.nan,
            "n_cells": n_cells,
            "wins_runner_up": int((wins["other"] == runner_up).sum()),
            "wins_others": len(wins),
            "pairs_others": len(pairs),
            "marked": runner_up is not None and int((wins["other"] == runner_up).sum()) == n_cells,
            "agreement": agreement,
        })
    return pd.DataFrame(rows, columns=GUIDELINE_COLUMNS)


def guideline_macros(frame: pd.DataFrame) -> dict[str, str]:
    """How many activations' empirical best agrees with the textbook, and how many are
    significantly ahead of their runner-up in every cell."""
    counts = frame["agreement"].value_counts()
    return {
        "NumGuidelineActivations": num(len(frame)),
        "NumGuidelineAgree": num(int(counts.get("agree", 0))),
        "NumGuidelineDisagree": num(int(counts.get("disagree", 0))),
        "NumGuidelineUntested": num(int(counts.get("not tested", 0) + counts.get("--", 0))),
        "NumGuidelineMarked": num(int(frame["marked"].sum())),
    }


def guideline_table(frame: pd.DataFrame) -> str:
    """The empirical guideline: per activation, textbook family, best and runner-up by
    mean rank, significant wins and agreement (booktabs; * = :func:`guideline_frame`'s
    ``marked``)."""
    def best(row) -> str:
        return ", ".join(map(escape_latex, row.best)) + (r"\textsuperscript{*}" if row.marked else "")

    def runner_up(row) -> str:
        return "--" if row.runner_up is None else escape_latex(row.runner_up)

    out = pd.DataFrame({
        ("", "Activation"): frame["activation"].map(escape_latex),
        ("", "Textbook"): frame["textbook"],
        ("Best", "initializer"): [best(r) for r in frame.itertuples()],
        ("Best", "rank"): frame["best_rank"].map(lambda v: num(v, 2)),
        ("Runner-up", "initializer"): [runner_up(r) for r in frame.itertuples()],
        ("Runner-up", "rank"): frame["runner_up_rank"].map(lambda v: "--" if pd.isna(v) else num(v, 2)),
        ("Significant wins", "vs runner-up"): [
            f"{r.wins_runner_up}/{r.n_cells}" if r.runner_up else "--" for r in frame.itertuples()
        ],
        ("Significant wins", "vs all"): [f"{r.wins_others}/{r.pairs_others}" for r in frame.itertuples()],
        ("", "Agreement"): frame["agreement"],
    })
    return out.style.hide(axis="index").to_latex(hrules=True, multicol_align="c", column_format="lllrlrccl")


# ------------------------------------------------------------------- signal

def signal_frame(signal: pd.DataFrame, tidy: pd.DataFrame, policy: str) -> pd.DataFrame:
    """Q3: Spearman's rho of the signal's distortion at initialization and the final
    score (:func:`figures.spearman`), per setting and over all runs (setting "all")."""
    runs = figures.signal_trainability(signal, tidy, policy)
    settings = figures.setting_columns(runs)
    rows = [{"setting": title, **figures.spearman(figures.select(runs, key))}
            for key, title in figures.settings(runs)]
    rows.append({"setting": "all", **figures.spearman(runs)})
    return pd.DataFrame(rows).assign(columns=", ".join(settings))


def signal_macros(frame: pd.DataFrame) -> dict[str, str]:
    """Spearman's rho over all runs, its p-value and n, and the range over settings."""
    overall = frame.iloc[-1]
    per_setting = frame.iloc[:-1]["rho"]

    def rho(v):
        return "--" if pd.isna(v) else num(v, 2)

    return {
        "SignalRho": rho(overall["rho"]),
        "SignalRhoP": _p_cell(overall["p_value"]),
        "SignalRhoN": num(int(overall["n"])),
        "SignalRhoMin": rho(per_setting.min()),
        "SignalRhoMax": rho(per_setting.max()),
    }


def signal_table(frame: pd.DataFrame) -> str:
    """Spearman's rho, p and n per setting and over all runs (booktabs)."""
    header = frame["columns"].iloc[0].capitalize()
    out = pd.DataFrame({
        header: frame["setting"].map(escape_latex),
        "$n$": frame["n"].map(num),
        r"$\rho$": frame["rho"].map(lambda v: "--" if pd.isna(v) else num(v, 2)),
        "$p$": frame["p_value"].map(_p_cell),
    })
    return out.style.hide(axis="index").to_latex(hrules=True, column_format="lrrr")


def weights_macros(tidy: pd.DataFrame, weights: pd.DataFrame) -> dict[str, str]:
    """Which runs the weight histograms show (:func:`figures.weight_runs`)."""
    chosen = figures.weight_runs(tidy, weights)
    return {
        "WeightsSeed": num(int(chosen["seed"].min())),
        "WeightsDepth": latex_value(sorted(int(d) for d in chosen["depth"].unique())),
    }


def load_provenance(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The provenance dict, from a record (path or dict) or a provenance dict itself."""
    if not isinstance(source, dict):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    return source.get("provenance", source)


def load(
    tidy_path: str | Path,
    config_path: str | Path,
    provenance: str | Path | dict[str, Any],
    signal_path: str | Path,
    weights_path: str | Path,
    stats_dir: str | Path,
) -> Tables:
    """Read every input of the generated text. The config is read with
    :func:`initstudy.study.config.load`, so its defaults are filled in (the paper cites every
    training setting, given or not)."""
    return Tables(
        tidy=pd.read_parquet(tidy_path),
        signal=pd.read_parquet(signal_path),
        weights=pd.read_parquet(weights_path),
        stats={name: figures.read_table(Path(stats_dir) / f"{name}.csv") for name in STATS_TABLES},
        config=study_config.load(config_path),
        provenance=load_provenance(provenance),
    )


def main(
    tidy_path: str | Path,
    config_path: str | Path,
    provenance: str | Path | dict[str, Any],
    out_dir: str | Path,
    signal_path: str | Path = "results/signal.parquet",
    weights_path: str | Path = "results/weights.parquet",
    stats_dir: str | Path = "results/stats",
) -> list[Path]:
    """Write ``variables.tex`` and ``tables/*.tex`` into ``out_dir`` (the defaults of the
    last three are the workflow's paths, which the ``report`` verb does not pass)."""
    tables = load(tidy_path, config_path, provenance, signal_path, weights_path, stats_dir)
    out_dir = Path(out_dir)
    outputs = {
        out_dir / "variables.tex": variables(tables),
        out_dir / "tables" / "grid.tex": grid_table(tables.config),
        out_dir / "tables" / "software.tex": software_table(tables.provenance),
        out_dir / "tables" / "results.tex": results_table(tables.tidy),
        out_dir / "tables" / "depth.tex": depth_table(depth_frame(tables.stats)),
        out_dir / "tables" / "guideline.tex": guideline_table(guideline_frame(tables.stats)),
        out_dir / "tables" / "signal.tex": signal_table(signal_frame(tables.signal, tables.tidy, tables.policy)),
    }
    for path, text in outputs.items():
        write_text(path, text)
    return list(outputs)
