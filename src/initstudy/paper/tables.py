"""The paper's LaTeX tables, typeset from the study's tables (pandas ``Styler.to_latex``,
booktabs rules, numbers in siunitx ``\\num``; accuracies in percent)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from initstudy.analysis.settings import setting_columns
from initstudy.analysis.stability import CURVE
from initstudy.study import specs as initializers
from initstudy.paper.latex import breakable, escape_latex, latex_value, num, p_cell, sparsify

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


def depth_columns(cells: pd.DataFrame, settings: list[str]) -> tuple[pd.DataFrame, str]:
    """``cells`` (rows: the settings' columns, then initializer; one column per depth) as
    the frame of a table by depth: label columns capitalized and sparse, the depths under
    one "Depth" header; and its LaTeX column format."""
    header = [c.capitalize() for c in [*settings, "initializer"]]
    frame = sparsify(cells.reset_index().set_axis([*header, *cells.columns], axis=1), header)
    frame.columns = pd.MultiIndex.from_tuples(
        [("", h) for h in header] + [("Depth", str(d)) for d in cells.columns]
    )
    return frame, "l" * len(header) + "c" * len(cells.columns)


def results_table(accuracy: pd.DataFrame) -> str:
    """Mean ± sd final score (%) per setting × initializer (rows) × depth (columns), the
    best of each cell in bold (the ``accuracy`` analysis table)."""
    settings = setting_columns(accuracy)
    keys = [*settings, "initializer", "depth"]
    indexed = accuracy.set_index(keys)
    cells = pd.Series(list(zip(indexed["mean"], indexed["sd"], indexed["n_diverged"])),
                      index=indexed.index).unstack("depth")
    css = indexed["best"].unstack("depth").fillna(False).replace({True: "font-weight: bold;", False: ""})
    frame, column_format = depth_columns(cells, settings)
    labels = len(settings) + 1
    styler = (
        frame.style.hide(axis="index")
        .format(escape="latex", subset=frame.columns[:labels])
        .format(_accuracy_cell, subset=frame.columns[labels:])
        .apply(lambda _: css.to_numpy(), axis=None, subset=frame.columns[labels:])
    )
    return styler.to_latex(hrules=True, multicol_align="c", convert_css=True, column_format=column_format)


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
    frame = sparsify(frame, ["Part"])
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


def depth_table(frame: pd.DataFrame) -> str:
    """The Friedman test and the accuracy spread per setting and depth (booktabs)."""
    settings = setting_columns(frame)
    header = [c.capitalize() for c in settings]
    out = pd.DataFrame({h: frame[c].map(escape_latex) for h, c in zip(header, settings)})
    out = sparsify(out, header)
    out["Depth"] = frame["depth"].map(num)
    out[r"$\chi^2_F$"] = frame["statistic"].map(lambda v: "--" if pd.isna(v) else num(v, 2))
    out["$p$"] = frame["p_value"].map(p_cell)
    out["Spread (pp)"] = frame["spread"].map(lambda v: "--" if pd.isna(v) else num(v, 1))
    out["Best"] = frame["best"].map(lambda v: "--" if pd.isna(v) else escape_latex(v))
    return out.style.hide(axis="index").to_latex(
        hrules=True, column_format="l" * len(header) + "rrrrl"
    )


def _points(value: float) -> str:
    """An accuracy difference in percentage points, one decimal; -- for none."""
    return "--" if pd.isna(value) else num(100 * value, 1)


def guideline_table(frame: pd.DataFrame) -> str:
    """The empirical guideline (:mod:`initstudy.analysis.guideline`): per activation and
    depth band, the best initializer and the textbook's with their mean scores (%), the
    paired difference textbook minus rival in the band's worst cell with its
    ``(1 - 2 alpha)`` interval (percentage points), in how many cells the textbook
    initializer is equivalent within the margin / beaten significantly, and the decision."""
    def label(value) -> str:
        return "--" if pd.isna(value) or not value else breakable(escape_latex(value))

    def textbook(row) -> str:
        if not pd.isna(row.textbook_initializer):
            return breakable(escape_latex(row.textbook_initializer))
        return "--" if row.textbook == "--" else f"no {row.textbook}"

    def difference(row) -> str:
        if pd.isna(row.mean_diff):
            return "--"
        return rf"{_points(row.mean_diff)}\newline [{_points(row.ci_low)}, {_points(row.ci_high)}]"

    def counts(row) -> str:
        if pd.isna(row.textbook_initializer):
            return "--"
        return f"{row.textbook_equivalent}/{row.textbook_beaten} of {row.n_cells}"

    def mean(value) -> str:
        return "--" if pd.isna(value) else num(100 * value, 1)

    out = pd.DataFrame({
        ("", "Activation"): sparsify(frame[["activation"]].map(escape_latex), ["activation"])["activation"],
        ("", "Depths"): frame["depths"].map(escape_latex),
        ("Best", "initializer"): frame["best"].map(label),
        ("Best", r"\%"): frame["best_mean"].map(mean),
        ("Textbook", "initializer"): [textbook(r) for r in frame.itertuples()],
        ("Textbook", r"\%"): frame["textbook_mean"].map(mean),
        ("Textbook", r"$-$ rival (pp)"): [difference(r) for r in frame.itertuples()],
        ("Cells", "equiv./beaten"): [counts(r) for r in frame.itertuples()],
        ("", "Decision"): frame["decision"],
    })
    ragged = r">{\raggedright\arraybackslash}p{%s}"
    return out.style.hide(axis="index").to_latex(
        hrules=True, multicol_align="c",
        column_format="ll" + ragged % "0.9in" + "r" + ragged % "0.9in" + "r" + ragged % "0.8in" + "cl",
    )


def signal_table(frame: pd.DataFrame) -> str:
    """Spearman's rho, p and n per setting and over all runs (booktabs)."""
    header = frame["columns"].iloc[0].capitalize()
    out = pd.DataFrame({
        header: frame["setting"].map(escape_latex),
        "$n$": frame["n"].map(num),
        r"$\rho$": frame["rho"].map(lambda v: "--" if pd.isna(v) else num(v, 2)),
        "$p$": frame["p_value"].map(p_cell),
    })
    return out.style.hide(axis="index").to_latex(hrules=True, column_format="lrrr")


_KINDS = {"dense": "Dense", "conv1d": "Conv1D", "conv2d": "Conv2D"}


def _cell(row) -> str:
    """A verdict for the table: ``pass``, ``skip``, or FAIL with the variance ratio or the
    failed checks."""
    if row.verdict != "FAIL":
        return row.verdict
    failed = row.failed.split(",")
    detail = (
        rf"$\times${row.measured_var / row.target_var:.2g}" if "var" in failed else row.failed
    )
    return rf"\textbf{{FAIL}} {detail}"


def audit_table(df: pd.DataFrame) -> str:
    """The verdicts as a booktabs ``tabular``: one row per initializer, one column per
    kernel shape (grouped by layer kind); a FAIL cell gives the variance ratio
    ``s**2 / sigma**2`` when the variance check failed, else the failed checks.

    Needs the LaTeX packages ``booktabs`` and ``array``; the CSV has every column.
    """
    cells = df.assign(cell=[_cell(row) for row in df.itertuples()])
    matrix = cells.pivot(index="initializer", columns="shape", values="cell")
    matrix = matrix.loc[df["initializer"].unique(), df["shape"].unique()]
    kinds = df.drop_duplicates("shape").set_index("shape")["kind"]
    matrix.columns = pd.MultiIndex.from_tuples(
        [(_KINDS[kinds[shape]], r"$\times$".join(shape.strip("()").split(", ")))
         for shape in matrix.columns]
    )  # fmt: skip
    matrix.index.name, matrix.columns.names = None, ["", "Initializer"]
    styler = matrix.style.format_index(breakable, escape="latex", axis=0)
    return styler.to_latex(
        hrules=True,
        multicol_align="c",
        column_format=r">{\raggedright\arraybackslash}p{1.45in}" + "l" * matrix.shape[1],
    )


def _ratio_tex(value: float) -> str:
    if math.isnan(value):
        return "--"
    return r"$\infty$" if math.isinf(value) else rf"\num{{{value:.2g}}}"


def theory_table(table: pd.DataFrame) -> str:
    """The stability table as a booktabs ``tabular``: dataset shown when there are
    several, repeated keys left blank, the ``note`` column only when a note exists.

    Needs the LaTeX packages ``booktabs``, ``array`` and ``siunitx``.
    """
    keys = CURVE if table["dataset"].nunique() > 1 else CURVE[1:]
    columns = {key: ("", key.capitalize()) for key in keys} | {
        "theory_ratio": ("Theory", r"$q_L/q_1$"),
        "theory": ("Theory", "verdict"),
        "measured_ratio": ("Measured", r"$q_L/q_1$"),
        "measured": ("Measured", "verdict"),
    }
    table = table.assign(note=table["note"].astype(object).fillna(""))  # all empty: read as float NaN
    if table["note"].astype(bool).any():
        columns["note"] = ("", "Why no theory")
    frame = sparsify(table, keys[:-1])[list(columns)].set_axis(pd.MultiIndex.from_tuples(columns.values()), axis=1)
    ratios = [columns["theory_ratio"], columns["measured_ratio"]]
    styler = (
        frame.style.hide(axis="index")
        .format(escape="latex")
        .format(breakable, subset=[columns["initializer"]], escape="latex")
        .format(_ratio_tex, subset=ratios)
    )
    ragged = r">{{\raggedright\arraybackslash}}p{{{}}}"
    note = [ragged.format("1.5in")] if "note" in columns else []
    formats = ["l"] * (len(keys) - 1) + [ragged.format("1.25in"), "r", "l", "r", "l"] + note
    return styler.to_latex(hrules=True, multicol_align="c", column_format="".join(formats))




def _claim_number(value: float) -> str:
    """An effect or bound for the claims table: three significant digits, ±∞, -- for none."""
    if pd.isna(value):
        return "--"
    if math.isinf(value):
        return r"$\infty$" if value > 0 else r"$-\infty$"
    return rf"\num{{{value:.3g}}}"


def claims_table(claims: pd.DataFrame) -> str:
    """The claims, one row each (the ``claims.csv`` table): name and source, the hypothesis
    with the sub-claim that decided it, its effect with the (1 - alpha) interval below,
    the conjunction's p, the smallest p the test could reach with the claim's n seeds
    (and n) and the smallest Holm-adjusted p a FAIL could reach, and the verdict
    (booktabs; needs ``array`` and ``siunitx``). A claim whose rules were registered
    after its data, or are not registered as they stand, says so under its name."""
    def claim(row) -> str:
        source = escape_latex(row.source_paper) + (f", {escape_latex(row.source_figure)}"
                                                  if isinstance(row.source_figure, str) and row.source_figure else "")
        mark = "" if row.registration == "registered" else rf"\newline {{\scriptsize\itshape {row.registration}}}"
        return rf"\texttt{{{breakable(escape_latex(row.name))}}}\newline {{\scriptsize {source}}}{mark}"

    def hypothesis(row) -> str:
        return (rf"{escape_latex(row.hypothesis)}\newline {{\scriptsize decided by: "
                rf"{escape_latex(row.statement)}}}")

    def effect(row) -> str:
        return rf"{_claim_number(row.effect)}\newline [{_claim_number(row.ci_low)}, {_claim_number(row.ci_high)}]"

    out = pd.DataFrame({
        "Claim": [claim(r) for r in claims.itertuples()],
        "Hypothesis": [hypothesis(r) for r in claims.itertuples()],
        "Effect [CI]": [effect(r) for r in claims.itertuples()],
        "$p$": claims["p_value"].map(p_cell),
        "min $p$ ($n$)": [rf"{p_cell(p)} ({num(int(n))})\newline {{\scriptsize FAIL {p_cell(f)}}}"
                          for p, n, f in zip(claims["min_p"], claims["n"], claims["fail_min_p"])],
        "Verdict": claims["verdict"].map(lambda v: rf"\textbf{{{v}}}" if v != "INCONCLUSIVE" else v),
    })
    ragged = r">{\raggedright\arraybackslash}p{%s}"
    return out.style.hide(axis="index").to_latex(
        hrules=True, column_format=ragged % "0.9in" + ragged % "2.05in" + ragged % "0.95in" + "r"
        + ragged % "0.75in" + "l")
