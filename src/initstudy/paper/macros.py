"""The macros of ``variables.tex``: every number and name the paper cites, typeset.

Each group reads tables (the tidy runs table, the analysis tables, the config, the
provenance) and formats values analysis computed; none computes a statistic.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from initstudy.analysis import equivalence, stats
from initstudy.analysis.depth import spread_change
from initstudy.analysis.scheme import ALPHA, MIN_SAMPLES
from initstudy.analysis.settings import setting_columns
from initstudy.analysis.stability import STABLE_FACTOR
from initstudy.analysis.trainability import ALL, DISTORTION_LINEAR
from initstudy.paper.latex import escape_latex, latex_value, macro_name, num, p_cell, percent
from initstudy.study.fields import GRID_DIMENSIONS

#: (column, plural noun) of the grid dimensions counted and listed in macros.
GRID_NOUNS = tuple((field, key.capitalize()) for key, field in GRID_DIMENSIONS.items()
                   if field not in ("depth", "seed"))
#: What a diverged run is in the comparisons, per ``stats.diverged_policy``.
POLICY_TEXT = {
    "chance": r"scored at chance accuracy, $1/C$ for $C$ classes",
    "exclude": "excluded, and with it its seed from every paired comparison it would enter",
}
#: Whether a Holm-corrected pairwise test can reject at all with the study's seeds.
POWER_VERDICT = {
    False: r"with \NumPairedSeeds{} seeds per comparison no pairwise difference can be "
    r"significant after Holm's correction (the smallest attainable adjusted $p$ is \HolmMinP)",
    True: r"\NumPairwiseRejected{} of \NumPairwiseTests{} Holm-corrected pairwise tests "
    r"reject at level \StatsAlpha",
}


def _dash(value: Any, decimals: int) -> str:
    return "--" if pd.isna(value) else num(value, decimals)


def count_macros(runs: pd.DataFrame, seeds: list[int]) -> dict[str, str]:
    """Sizes of the study as it ran: runs (every run trained, a two-stage study's
    selection runs included), seeds (those of ``seeds``, the grid's: the evaluation
    seeds the comparisons are made over), epochs, depths and grid dimensions."""
    depths = sorted(runs["depth"].unique())
    macros = {
        "NumRuns": num(len(runs)),
        "NumSeeds": num(runs.loc[runs["seed"].isin(seeds), "seed"].nunique()),
        "NumEpochs": num(int(runs["epochs_trained"].max())),
        "NumDepths": num(len(depths)),
        "MinDepth": num(int(depths[0])),
        "MaxDepth": num(int(depths[-1])),
        "DepthList": latex_value([int(d) for d in depths]),
        "NumPacks": num(runs["pack_id"].nunique()),
    }
    for column, noun in GRID_NOUNS:
        values = sorted(runs[column].unique())
        macros[macro_name("Num", noun)] = num(len(values))
        macros[macro_name(noun[:-1], "List")] = ", ".join(map(escape_latex, values))
    return macros


def best_macros(best: pd.DataFrame, overview: pd.Series) -> dict[str, str]:
    """``BestInit<Setting>Depth<N>`` (label) and ``...Accuracy`` per cell of the
    ``best`` table, and the initializer best in the most cells."""
    settings = setting_columns(best)
    macros = {}
    for row in best.itertuples(index=False):
        name = macro_name("BestInit", *(getattr(row, c) for c in settings), "Depth", row.depth)
        macros[name] = escape_latex(row.initializer)
        macros[name + "Accuracy"] = percent(row.mean)
    top = overview["most_frequent_best"]
    macros["NumComparisons"] = num(int(overview["best_cells"]))
    macros["MostFrequentBestInit"] = escape_latex(top) if isinstance(top, str) and top else "--"
    macros["MostFrequentBestInitWins"] = num(int(overview["most_frequent_best_wins"]))
    return macros


def divergence_macros(runs: pd.DataFrame) -> dict[str, str]:
    """How many runs diverged, in all and per initializer (``NumDivergedInit<Label>``)."""
    macros = {
        "NumDiverged": num(int(runs["diverged"].sum())),
        "PercentDiverged": percent(runs["diverged"].mean()),
    }
    for label, count in runs.groupby("initializer")["diverged"].sum().items():
        macros[macro_name("NumDivergedInit", label)] = num(int(count))
    return macros


def execution_macros(runs: pd.DataFrame) -> dict[str, str]:
    """Compute time (sum and mean of the runs' wall times), backend and determinism."""
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


def stats_macros(overview: pd.Series, policy: str, alpha: float) -> dict[str, str]:
    """The statistics section's settings and its counts of tests, rejections and effects.

    One interval method for every mean (BCa bootstrap, ``stats.N_RESAMPLES``
    resamples at ``stats.CONFIDENCE``) and the distortion up to which the
    signal-vs-accuracy axis is linear."""
    return {
        "DivergedPolicyName": rf"\texttt{{{policy}}}",
        "DivergedPolicy": POLICY_TEXT[policy],
        "StatsAlpha": num(alpha),
        "StatsConfidence": num(round(100 * stats.CONFIDENCE)),
        "StatsBootstrapResamples": num(stats.N_RESAMPLES),
        "DistortionLinear": num(DISTORTION_LINEAR),
        "NumCells": num(int(overview["cells"])),
        "NumFriedmanTested": num(int(overview["friedman_tested"])),
        "NumFriedmanRejected": num(int(overview["friedman_rejected"])),
        "NumPairwiseTests": num(int(overview["pairwise_tests"])),
        "NumPairwiseRejected": num(int(overview["pairwise_rejected"])),
        "NumUnanimousPairs": num(int(overview["unanimous_pairs"])),
        "NumPairs": num(int(overview["pairs"])),
        "MedianAbsRankBiserial": _dash(overview["median_abs_rank_biserial"], 2),
    }


def power_macros(power: pd.Series) -> dict[str, str]:
    """The smallest p-values the tests can reach with the study's seeds (from the
    non-zero differences the pairs had), the seeds needed, and ``PowerVerdict``, the
    sentence the paper states it in."""
    return {
        "WilcoxonMinP": num(float(power["wilcoxon_min_p"])),
        "WilcoxonSeedsNeeded": num(int(power["wilcoxon_seeds_needed"])),
        "HolmFamilySize": num(int(power["holm_family"])),
        "HolmMinP": num(float(power["holm_min_p"])),
        "HolmSeedsNeeded": num(int(power["holm_seeds_needed"])),
        "FriedmanMinP": _dash(float(power["friedman_min_p"]), 4),  # one initializer: no test, --
        "NumPairedSeeds": num(int(power["n_pairs"])),
        "NumNonzeroMin": num(int(power["n_nonzero_min"])),
        "NumNonzeroMedian": num(float(power["n_nonzero_median"])),
        "NumNonzeroMax": num(int(power["n_nonzero_max"])),
        "NumPairsCanReject": num(int(power["pairs_can_reject"])),
        "NumCompared": num(int(power["n_compared"])),
        "PowerVerdict": POWER_VERDICT[bool(power["holm_can_reject"])],
    }


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def power_effect_macros(effects: pd.DataFrame) -> dict[str, str]:
    """The chance to detect paired effects of the sizes ``d_z`` of the ``power_effects``
    table: ``PowerEffects`` (the sizes), ``PowerDesign`` and ``PowerRealised`` (the
    chances in the same order: the design's, and the mean over the study's comparisons
    with the non-zero differences they had), ``PowerDesign<d>`` etc. one by one, the
    level of Holm's first step and the simulation's size and seed."""
    rows = list(effects.itertuples(index=False))
    macros = {
        "PowerEffects": r"\numlist{" + ";".join(f"{r.d_z:g}" for r in rows) + "}",
        "PowerDesign": _and([percent(r.power_design) for r in rows]),
        "PowerRealised": _and([percent(r.power_mean) for r in rows]),
        "PowerLevel": rf"\num{{{rows[0].level:.2g}}}" if rows else "--",
        "PowerReplicates": num(int(rows[0].replicates)) if rows else "--",
        "PowerSeed": num(int(rows[0].seed)) if rows else "--",
    }
    for r in rows:
        name = macro_name("Dz", f"{r.d_z:g}")
        macros[f"PowerDesign{name}"] = percent(r.power_design)
        macros[f"PowerRealised{name}"] = percent(r.power_mean)
        macros[f"PowerRealisedMin{name}"] = percent(r.power_min)
        macros[f"PowerRealisedMax{name}"] = percent(r.power_max)
    return macros


def depth_macros(depth: pd.DataFrame, summary: pd.DataFrame) -> dict[str, str]:
    """Q1 in numbers: the mean spread over settings at the shallowest and the deepest
    depth (and ``SpreadChange``, the verb that compares them), and how many cells'
    Friedman tests reject at each."""
    macros = {"NumSettings": num(len(depth[setting_columns(depth)].drop_duplicates()))}
    for row in summary.itertuples(index=False):
        macros[f"Spread{row.which}"] = _dash(row.mean_spread, 1)  # no score at that depth: --
        macros[f"NumFriedmanRejected{row.which}"] = num(int(row.friedman_rejected))
    macros["SpreadChange"] = spread_change(summary)
    return macros


def guideline_macros(guideline: pd.DataFrame, config: dict[str, Any]) -> dict[str, str]:
    """How many (activation, depth band) rows of the guideline agree with the textbook,
    disagree, cannot decide, or have no textbook initializer to test; the equivalence
    margin (config ``stats.equivalence_margin``, also in percentage points) and the
    level of the equivalence interval, ``1 - 2 alpha``
    (:func:`initstudy.analysis.equivalence.confidence`)."""
    counts = guideline["decision"].value_counts()
    margin = float(config["stats"]["equivalence_margin"])
    return {
        "NumGuidelineActivations": num(guideline["activation"].nunique()),
        "NumGuidelineRows": num(len(guideline)),
        "NumGuidelineAgree": num(int(counts.get("agree", 0))),
        "NumGuidelineDisagree": num(int(counts.get("disagree", 0))),
        "NumGuidelineUndecided": num(int(counts.get("no decision", 0))),
        "NumGuidelineUntested": num(int(counts.get("not tested", 0) + counts.get("--", 0))),
        "EquivalenceMargin": num(margin),
        "EquivalenceMarginPoints": num(round(100 * margin, 6)),
        "EquivalenceConfidence": num(round(100 * equivalence.confidence(float(config["stats"]["alpha"])), 6)),
    }


def signal_macros(spearman: pd.DataFrame) -> dict[str, str]:
    """Spearman's rho over all runs, its p-value and n, and the range over settings."""
    overall = spearman[spearman["setting"] == ALL].iloc[0]
    per_setting = spearman.loc[spearman["setting"] != ALL, "rho"]
    return {
        "SignalRho": _dash(overall["rho"], 2),
        "SignalRhoP": p_cell(overall["p_value"]),
        "SignalRhoN": num(int(overall["n"])),
        "SignalRhoMin": _dash(per_setting.min(), 2),
        "SignalRhoMax": _dash(per_setting.max(), 2),
    }


def weights_macros(weight_runs: pd.DataFrame) -> dict[str, str]:
    """Which runs the weight histograms show."""
    return {
        "WeightsSeed": num(int(weight_runs["seed"].min())),
        "WeightsDepth": latex_value(sorted(int(d) for d in weight_runs["depth"].unique())),
    }


def theory_macros(stability: pd.DataFrame, width: int, depth: int) -> dict[str, str]:
    """The theory-vs-measurement comparison (the ``theory`` table, one row per curve).

    ``TheoryMeanGap`` bounds the relative gap between what is measured (the variance
    over batch and units) and what the theory predicts (the mean square ``q``): the
    squared mean of ``z`` over a layer's units has expectation at most ``q / width``
    for zero-mean weights.
    """
    compared = stability[(stability["theory"] != "skipped") & (stability["measured"] != "not run")]
    disagree = compared[compared["theory"] != compared["measured"]]
    skipped = stability.loc[stability["theory"] == "skipped", "initializer"].unique()
    listed = [f"{i} ({a})" for i, a in zip(disagree["initializer"], disagree["activation"])]
    return {
        "TheoryWidth": num(width),
        "TheoryDepth": num(depth),
        "TheoryStableFactor": num(STABLE_FACTOR),
        "TheoryMeanGap": percent(1 / width),
        "TheoryNumCompared": num(len(compared)),
        "TheoryNumAgree": num(len(compared) - len(disagree)),
        "TheoryDisagreeList": escape_latex(", ".join(listed) or "none"),
        "TheorySkippedList": escape_latex(", ".join(skipped) or "none"),
    }


def _range(values: pd.Series) -> tuple[str, str]:
    if values.empty:
        return "--", "--"
    return rf"\num{{{values.min():.2g}}}", rf"\num{{{values.max():.2g}}}"


def audit_macros(df: pd.DataFrame) -> dict[str, str]:
    """LaTeX macros the paper cites about an audit table (as :func:`audit` returns it).

    ``AuditChannelsFirst*``: the failed rows whose measured variance is best explained
    by a channels-first fan rule (:func:`best_fit`), their initializers and the range
    of their ``s**2 / sigma**2``.
    """
    counts = df["verdict"].value_counts()
    failed = df[df["verdict"] == "FAIL"]
    channels_first = failed[failed["best_fit"].fillna("").str.contains("channels-first")]
    low, high = _range(channels_first["measured_var"] / channels_first["target_var"])
    statistical = df.dropna(subset=["z"])
    return {
        "AuditNumInitializers": num(df["initializer"].nunique()),
        "AuditNumShapes": num(df["shape"].nunique()),
        "AuditNumRows": num(len(df)),
        **{
            f"AuditNum{v.capitalize()}": num(int(counts.get(v, 0)))
            for v in ("pass", "FAIL", "skip")
        },
        "AuditAlpha": num(ALPHA),
        "AuditMinSamples": num(MIN_SAMPLES),
        "AuditZ": num(statistical["z"].iloc[0], 2) if len(statistical) else "--",
        "AuditCheckAlpha": (
            rf"\num{{{statistical['check_alpha'].iloc[0]:.2g}}}" if len(statistical) else "--"
        ),
        "AuditFailedList": escape_latex(", ".join(failed["initializer"].unique()) or "none"),
        "AuditChannelsFirstRows": num(len(channels_first)),
        "AuditChannelsFirstList": escape_latex(
            ", ".join(channels_first["initializer"].unique()) or "none"
        ),
        "AuditChannelsFirstRatioMin": low,
        "AuditChannelsFirstRatioMax": high,
    }


def _claim_value(value: float) -> str:
    """An effect or interval bound in a macro: three significant digits, ±∞, -- for none."""
    if pd.isna(value):
        return "--"
    if value in (float("inf"), float("-inf")):
        return r"$\infty$" if value > 0 else r"$-\infty$"
    return rf"\num{{{value:.3g}}}"


def claims_macros(claims: pd.DataFrame) -> dict[str, str]:
    """The claims in numbers (the ``claims.csv`` table): how many, how many pass, fail or
    are inconclusive, the level, and the values per sub-claim (seeds, or seeds times the
    levels a sub-claim pools) the tests need and had, and per claim
    (``Claim<Name>...``) its verdict, effect, interval, p, smallest reachable p and n."""
    counts = claims["verdict"].value_counts()
    alphas = sorted(set(claims["alpha"]))
    macros = {
        "NumClaims": num(len(claims)),
        "NumClaimsPass": num(int(counts.get("PASS", 0))),
        "NumClaimsFail": num(int(counts.get("FAIL", 0))),
        "NumClaimsInconclusive": num(int(counts.get("INCONCLUSIVE", 0))),
        "ClaimsAlpha": ", ".join(num(a) for a in alphas),
        "ClaimsConfidence": ", ".join(num(round(100 * (1 - a), 6)) for a in alphas),
        "ClaimsValuesNeeded": num(int(claims["n_needed"].max())),
        "ClaimsMinValues": num(int(claims["n"].min())),
        "ClaimsMaxMinP": p_cell(claims["min_p"].max()),
        "ClaimsNumSubclaims": num(int(claims["n_parts"].sum())),
        # FAIL after Holm's correction: how many claims could reach it with their values
        "NumClaimsFailReachable": num(int((claims["fail_min_p"] <= claims["alpha"]).sum())),
        # registration of the rules (initstudy.analysis.claims.registration)
        "NumClaimsRegistered": num(int((claims["registration"] == "registered").sum())),
        "NumClaimsRegisteredAfterData": num(int((claims["registration"] == "registered after data").sum())),
        "NumClaimsUnregistered": num(int((claims["registration"] == "unregistered").sum())),
    }
    for row in claims.itertuples(index=False):
        name = macro_name("Claim", row.name)
        macros[name + "Verdict"] = row.verdict
        macros[name + "Effect"] = _claim_value(row.effect)
        macros[name + "CiLow"] = _claim_value(row.ci_low)
        macros[name + "CiHigh"] = _claim_value(row.ci_high)
        macros[name + "P"] = p_cell(row.p_value)
        macros[name + "MinP"] = p_cell(row.min_p)
        macros[name + "N"] = num(int(row.n))
        macros[name + "Subclaims"] = num(int(row.n_parts))
        macros[name + "Deciding"] = escape_latex(row.deciding)
        macros[name + "FailMinP"] = p_cell(row.fail_min_p)
        macros[name + "Registration"] = escape_latex(row.registration)
    return macros


def controls_macros(controls: pd.DataFrame) -> dict[str, str]:
    """Each control's numbers (its ``level`` = ``control`` row of
    :data:`initstudy.analysis.controls.CONTROL_COLUMNS`), ``Control<Name>...``: runs,
    seeds, cells, distinct values (its real replicates), the largest test accuracy
    above chance and the margin, in percentage points."""
    macros = {}
    for row in controls[controls["level"] == "control"].itertuples(index=False):
        name = macro_name("Control", row.control)
        cells = controls[(controls["level"] == "cell") & (controls["control"] == row.control)]
        macros.update({
            name + "Runs": num(int(row.n_runs)),
            name + "Seeds": num(int(row.n_seeds)),
            name + "Cells": num(len(cells)),
            name + "Distinct": num(int(row.n_distinct)),
            name + "MaxExcess": "--" if pd.isna(row.max_excess) else num(100 * row.max_excess, 1),
            name + "Margin": num(100 * row.margin, 1),
        })
    return macros
