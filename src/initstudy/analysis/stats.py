"""Statistics of the study: which initializer wins, by how much, and how sure we are.

Input is ``runs.parquet``, one row per run. A *cell* is one ``(dataset, arch, activation, optimizer, depth)``; inside a
cell the initializers are the treatments and the seeds are the blocks: runs with
the same seed share data order and split, so every comparison is paired by seed.

:func:`compute_all` returns five tables, each with a ``diverged_policy`` column and a
``reason`` column (``""`` when the row's numbers are valid, otherwise why they are
NaN, in words):

``friedman``    one row per cell: Friedman test across initializers, seeds as blocks.
``pairwise``    one row per cell and pair of initializers: Wilcoxon signed-rank test
                paired by seed, Holm-adjusted within the cell, rank-biserial effect size.
``bootstrap``   one row per cell and initializer: mean final test accuracy, 95 % CI.
``ranks``       one row per cell and initializer: mean Friedman rank (1 = best).
``divergence``  one row per cell and initializer: divergence rate, 95 % Wilson CI.

Diverged runs (``diverged_policy``):

``"chance"``    the run scores chance accuracy, ``1 / num_classes``;
``"exclude"``   the run is dropped. A paired analysis uses only the seeds at which
                every compared initializer has a result: Friedman and the ranks drop
                the seed for the whole cell, a Wilcoxon test drops it for that pair
                only (so each pair keeps every seed both of its initializers have).

Runs that did not diverge but have no ``test_accuracy`` (NaN) are missing data under
either policy and are dropped the same way. Divergence rates count every run.
"""

from __future__ import annotations

import itertools
import json
import warnings
import zlib

import numpy as np
import pandas as pd
from scipy import stats

from initstudy.analysis.paired import holm, wilcoxon_pair
from initstudy.study import fields

CELL = list(fields.CELL)
REQUIRED = [*CELL, "initializer", "seed", "test_accuracy", "diverged", "num_classes"]
POLICIES = ("chance", "exclude")
#: Level of every confidence interval (bootstrap and Wilson).
CONFIDENCE = 0.95

FRIEDMAN_COLUMNS = [
    *CELL,
    "diverged_policy",
    "k",
    "n_blocks",
    "statistic",
    "p_value",
    "reject",
    "mean_ranks",
    "reason",
]
PAIRWISE_COLUMNS = [
    *CELL,
    "diverged_policy",
    "initializer_a",
    "initializer_b",
    "n_pairs",
    "n_nonzero",
    "mean_diff",
    "statistic",
    "p_value",
    "p_holm",
    "reject",
    "rank_biserial",
    "reason",
]
BOOTSTRAP_COLUMNS = [
    *CELL,
    "diverged_policy",
    "initializer",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "ci_method",
    "reason",
]
RANKS_COLUMNS = [*CELL, "diverged_policy", "initializer", "n_blocks", "mean_rank", "reason"]
DIVERGENCE_COLUMNS = [
    *CELL,
    "diverged_policy",
    "initializer",
    "n_runs",
    "n_diverged",
    "rate",
    "ci_low",
    "ci_high",
    "reason",
]


# --------------------------------------------------------------------------- input


#: Bootstrap resamples of every CI (scipy.stats.bootstrap's default).
N_RESAMPLES = 9999


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; expected columns {columns}")


def _validate(final: pd.DataFrame, diverged_policy: str, alpha: float) -> None:
    """ValueError naming the bad argument, column or run; nothing is returned."""
    if diverged_policy not in POLICIES:
        raise ValueError(f"diverged_policy must be one of {list(POLICIES)}, got {diverged_policy!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    _require_columns(final, REQUIRED, "final results")
    empty = [c for c in CELL if final[c].isna().any()]
    if empty:
        raise ValueError(f"column(s) {empty} are empty for some runs; every run needs its whole cell {CELL}")
    if not final["diverged"].isin([True, False]).all():
        raise ValueError("column 'diverged' must be True or False for every run")
    if (final["num_classes"] < 2).any():
        raise ValueError("column 'num_classes' must be at least 2 for every run")
    key = [*CELL, "initializer", "seed"]
    duplicated = final.duplicated(key, keep=False)
    if duplicated.any():
        first = final.loc[duplicated, key].iloc[0].to_dict()
        raise ValueError(f"final results must have one row per run; several rows for {first}")


def scored(final: pd.DataFrame, diverged_policy: str) -> pd.DataFrame:
    """``final`` plus ``score``: the accuracy that enters comparisons (NaN = no result).

    chance: diverged runs score ``1 / num_classes``; exclude: they score NaN.
    """
    diverged = final["diverged"].astype(bool)
    replacement = 1.0 / final["num_classes"] if diverged_policy == "chance" else np.nan
    score = final["test_accuracy"].astype(float).where(~diverged, replacement)
    return final.assign(diverged=diverged, score=score)


def _dropped(runs: pd.DataFrame, diverged_policy: str) -> str:
    """Parenthetical saying which of ``runs`` have no score, e.g. ' (3 diverged runs excluded)'."""
    parts = []
    n_excluded = int(runs["diverged"].sum()) if diverged_policy == "exclude" else 0
    if n_excluded:
        parts.append(f"{n_excluded} diverged run(s) excluded")
    n_missing = int((~runs["diverged"] & runs["test_accuracy"].isna()).sum())
    if n_missing:
        parts.append(f"{n_missing} run(s) without test_accuracy dropped")
    return f" ({'; '.join(parts)})" if parts else ""


def _blocks(cell: pd.DataFrame) -> pd.DataFrame:
    """Seeds × initializers table of scores; a seed lacking any score is a NaN row."""
    return cell.pivot(index="seed", columns="initializer", values="score").sort_index(axis=1)


# --------------------------------------------------------------------- Friedman


def mean_ranks(blocks: pd.DataFrame) -> pd.Series:
    """Mean rank of each initializer (column) over the seed blocks (rows).

    Within a block the best accuracy gets rank 1 and tied accuracies share the
    average of the ranks they span (``scipy.stats.rankdata``, method "average");
    the mean rank of initializer j is R_j / n over the n blocks (Demšar 2006, §3.2.2).
    """
    ranks = stats.rankdata(-blocks.to_numpy(dtype=float), axis=1)
    return pd.Series(ranks.mean(axis=0), index=blocks.columns)


def friedman(blocks: pd.DataFrame, alpha: float = 0.05, dropped: str = "") -> dict:
    """Friedman test of the initializers (columns) with seeds (rows) as blocks.

    Only complete rows are used. ``scipy.stats.friedmanchisquare`` computes
    (Friedman 1937; Conover 1999, §5.8; Demšar 2006, eq. 2 with the tie correction)

        chi2_F = [12 / (n k (k+1)) * sum_j R_j**2 - 3 n (k+1)] / C,
        C = 1 - sum over tie groups (t**3 - t) / (n k (k**2 - 1)),

    with R_j the rank sum of treatment j over n blocks, referred to chi-squared with
    k - 1 degrees of freedom. Returns k, n_blocks, statistic, p_value, reject
    (p_value <= alpha), mean_ranks (JSON object, initializer -> mean rank, "" when
    there is no block) and reason; ``dropped`` (from :func:`_dropped`) is appended
    to reasons about missing seeds.
    """
    complete = blocks.dropna()
    k, n = complete.shape[1], complete.shape[0]
    reason = _friedman_reason(complete, dropped)
    statistic = p_value = np.nan
    if not reason:
        result = stats.friedmanchisquare(*(complete[c].to_numpy() for c in complete.columns))
        statistic, p_value = float(result.statistic), float(result.pvalue)
    ranks = json.dumps(mean_ranks(complete).to_dict()) if n else ""
    return {
        "k": k,
        "n_blocks": n,
        "statistic": statistic,
        "p_value": p_value,
        "reject": _reject(p_value, alpha),
        "mean_ranks": ranks,
        "reason": reason,
    }


def _friedman_reason(complete: pd.DataFrame, dropped: str) -> str:
    k, n = complete.shape[1], complete.shape[0]
    if k < 3:
        return f"only {k} initializer(s); the Friedman test needs at least 3"
    if n == 0:
        return f"no seed with a result for every initializer{dropped}"
    if n == 1:
        return f"only 1 seed with a result for every initializer{dropped}; the Friedman test needs at least 2"
    if (complete.nunique(axis=1) == 1).all():
        return "all initializers tied within every seed"
    return ""


# --------------------------------------------------------------------- pairwise


def pairwise(blocks: pd.DataFrame, runs: pd.DataFrame, diverged_policy: str, alpha: float) -> list[dict]:
    """:func:`wilcoxon_pair` for every pair of initializers (a < b by label) in one cell.

    The Holm family is the cell's pairs that have a p-value; ``reject`` is
    p_holm <= alpha (NA where there is no p-value).
    """
    rows = []
    for a, b in itertools.combinations(blocks.columns, 2):
        pair_runs = runs[runs["initializer"].isin([a, b])]
        row = wilcoxon_pair(blocks[a], blocks[b], _dropped(pair_runs, diverged_policy))
        rows.append({"initializer_a": a, "initializer_b": b, **row})
    adjusted = holm([row["p_value"] for row in rows])
    for row, p_holm in zip(rows, adjusted):
        row["p_holm"] = p_holm
        row["reject"] = _reject(p_holm, alpha)
    return rows


def _reject(p_value: float, alpha: float):
    """True/False for a p-value, NA when there is none (the row's reason says why)."""
    return bool(p_value <= alpha) if np.isfinite(p_value) else pd.NA


# -------------------------------------------------------- per-initializer summaries


def bootstrap_mean(scores: np.ndarray, n_resamples: int, rng_seed, dropped: str = "") -> dict:
    """Mean of ``scores`` (NaN = no result, dropped) with a 95 % bootstrap CI.

    ``scipy.stats.bootstrap`` with the BCa interval (bias-corrected and accelerated;
    Efron 1987; Efron & Tibshirani 1993, ch. 14). When BCa is undefined (its
    bias-correction or acceleration is not finite, SciPy then returns NaN with a
    DegenerateDataWarning) the percentile interval of the same resampling scheme is
    used instead, and ``ci_method`` says which one a row has. Fewer than 2 results or
    identical results give NaN bounds and a reason. ``rng_seed`` is anything
    ``numpy.random.default_rng`` accepts; both methods draw the same resamples.
    Returns n, mean, ci_low, ci_high, ci_method, reason.
    """
    values = scores[np.isfinite(scores)]
    n = values.size
    row = {
        "n": n,
        "mean": float(values.mean()) if n else np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "ci_method": "",
        "reason": "",
    }
    if n == 0:
        row["reason"] = f"no result{dropped}"
    elif n == 1:
        row["reason"] = f"only 1 result{dropped}; a bootstrap CI needs at least 2"
    elif np.all(values == values[0]):
        row["reason"] = f"all {n} results equal ({values[0]:.6g}); the bootstrap distribution is degenerate"
    else:
        row.update(_bootstrap_ci(values, n_resamples, rng_seed))
    return row


def _bootstrap_ci(values: np.ndarray, n_resamples: int, rng_seed) -> dict:
    for method in ("BCa", "percentile"):
        rng = np.random.default_rng(rng_seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = stats.bootstrap(
                (values,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=CONFIDENCE,
                method=method,
                rng=rng,
            ).confidence_interval
        if np.isfinite(ci.low) and np.isfinite(ci.high):
            break
    return {"ci_low": float(ci.low), "ci_high": float(ci.high), "ci_method": method}


def divergence(diverged: pd.Series) -> dict:
    """Share of diverged runs with its 95 % Wilson score interval.

    ``scipy.stats.binomtest(x, n).proportion_ci(method="wilson")`` (Wilson 1927;
    Newcombe 1998, method 3), for x diverged out of n runs, p^ = x / n, z = 1.95996:

        (p^ + z**2/(2n) ± z sqrt(p^(1 - p^)/n + z**2/(4 n**2))) / (1 + z**2/n).
    """
    n, x = int(diverged.size), int(diverged.sum())
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return {
        "n_runs": n,
        "n_diverged": x,
        "rate": x / n,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "reason": "",
    }


def rng_seed(seed: int, key: tuple) -> list[int]:
    """Bootstrap seed of one (cell, initializer): a function of ``seed`` and the key only,
    so a row's CI does not change when other cells are added or removed."""
    return [seed, zlib.crc32("|".join(map(str, key)).encode())]


# ------------------------------------------------------------------------- tables


def compute_all(
    final: pd.DataFrame,
    diverged_policy: str = "chance",
    alpha: float = 0.05,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """All tables of the study from one row per run (see the module docstring).

    ``alpha`` is the level of ``reject`` (Friedman p-value, Holm-adjusted pairwise
    p-value); ``n_resamples`` and ``seed`` drive the bootstrap. Raises ValueError for
    a bad policy, alpha, missing column or duplicated run.
    """
    _validate(final, diverged_policy, alpha)
    scores = scored(final, diverged_policy)
    out = {"friedman": [], "pairwise": [], "bootstrap": [], "ranks": [], "divergence": []}
    for cell_key, runs in scores.groupby(CELL, sort=True):
        cell = {**dict(zip(CELL, cell_key)), "diverged_policy": diverged_policy}
        blocks, dropped = _blocks(runs), _dropped(runs, diverged_policy)
        out["friedman"].append({**cell, **friedman(blocks, alpha, dropped)})
        out["pairwise"] += [{**cell, **row} for row in pairwise(blocks, runs, diverged_policy, alpha)]
        out["ranks"] += [{**cell, **row} for row in _rank_rows(blocks, dropped)]
        for init, init_runs in runs.groupby("initializer", sort=True):
            cell_init = {**cell, "initializer": init}
            scores = init_runs["score"].to_numpy(float)
            key_seed = rng_seed(seed, (*cell_key, init))
            dropped = _dropped(init_runs, diverged_policy)
            out["bootstrap"].append({**cell_init, **bootstrap_mean(scores, n_resamples, key_seed, dropped)})
            out["divergence"].append({**cell_init, **divergence(init_runs["diverged"])})
    columns = {
        "friedman": FRIEDMAN_COLUMNS,
        "pairwise": PAIRWISE_COLUMNS,
        "bootstrap": BOOTSTRAP_COLUMNS,
        "ranks": RANKS_COLUMNS,
        "divergence": DIVERGENCE_COLUMNS,
    }
    return {name: _table(rows, columns[name]) for name, rows in out.items()}


def _rank_rows(blocks: pd.DataFrame, dropped: str) -> list[dict]:
    """Mean rank per initializer over the seeds complete for the whole cell (as Friedman)."""
    complete = blocks.dropna()
    if len(complete):
        ranks, reason = mean_ranks(complete), ""
    else:
        ranks = pd.Series(np.nan, index=blocks.columns)
        reason = f"no seed with a result for every initializer{dropped}"
    return [
        {"initializer": init, "n_blocks": len(complete), "mean_rank": float(rank), "reason": reason}
        for init, rank in ranks.items()
    ]


def _table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=columns)
    if "reject" in columns:
        table["reject"] = table["reject"].astype("boolean")
    return table
