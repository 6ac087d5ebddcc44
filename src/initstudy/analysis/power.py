"""What the tests can detect with the seeds the study has: power, and the smallest p.

**Power** (table ``power_effects``, one row per effect size of :data:`EFFECTS`): the
chance that the pairwise test of a cell rejects at Holm's first step, alpha / m for a
cell whose Holm family has m tests, when the per-seed differences of the pair are
normal with standardized mean ``d_z`` (mean difference / sd of the differences). It
is estimated by a stated, seeded simulation: :data:`N_REPLICATES` samples of n normal
differences per (n, d_z), each tested with the exact two-sided Wilcoxon signed-rank
test as :func:`initstudy.analysis.paired.wilcoxon_pair` runs it
(``scipy.stats.wilcoxon``, ``zero_method="wilcox"``, ``method="auto"``: exact here,
normal samples have neither zeros nor ties), the random numbers seeded by
:data:`SEED` and (n, d_z) alone. Monte Carlo standard error: at most
0.5 / sqrt(N_REPLICATES) = 0.0035.

- ``power_design``: with the study's seeds (the most paired seeds of a comparison)
  and its full Holm family k(k-1)/2: what the design can detect;
- ``power_mean``, ``power_min``, ``power_max`` over the study's pairwise comparisons,
  each with the n it really had: the Wilcoxon test drops zero differences (two
  initializers that stall at the same class at a seed tie exactly), so a pair's n is
  its count of non-zero differences (``n_nonzero`` of the ``pairwise`` table), and m
  its cell's Holm family (the pairs with a p-value). A pair without a non-zero
  difference has no test: power 0. ``power_mean`` is the expected share of the
  study's comparisons that would detect an effect of that size.

**Smallest reachable p** (table ``power``, one row): with n non-zero differences the
exact two-sided p-value is at least 2 / 2**n (all n of one sign), and Holm's first
step multiplies the smallest p of a cell by its m; the Friedman test with n blocks
and k treatments has a statistic of at most n(k-1), so p >= the chi-squared (k-1 df)
tail there. The n of the Wilcoxon bounds is the non-zero count, not the seeds.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from initstudy.analysis.stats import CELL, rng_seed

#: Standardized paired effects d_z whose power is reported (Cohen's medium, large, very large).
EFFECTS = (0.5, 1.0, 1.5)
#: Simulated samples per (n, d_z), and the seed of their random numbers.
N_REPLICATES = 20_000
SEED = 22
POWER_COLUMNS = ["n_pairs", "k", "holm_family", "n_nonzero_min", "n_nonzero_median", "n_nonzero_max",
                 "wilcoxon_min_p", "wilcoxon_seeds_needed", "holm_min_p", "holm_seeds_needed", "friedman_min_p",
                 "holm_can_reject", "pairs_can_reject", "n_compared"]
POWER_EFFECT_COLUMNS = ["d_z", "n_seeds", "holm_family", "level", "power_design", "n_compared", "power_mean",
                        "power_min", "power_max", "replicates", "seed"]
#: The tests whose p-values :func:`simulated_p_values` can draw.
TESTS = ("wilcoxon", "t")


def seeds_needed(alpha: float, family: int = 1) -> int:
    """The fewest seeds n at which the exact two-sided signed-rank test can reject at
    ``alpha`` after Holm's correction over ``family`` tests: the smallest n with
    family * 2 / 2**n <= alpha."""
    return max(1, math.ceil(1 + math.log2(family / alpha)))


def wilcoxon_min_p(n: int) -> float:
    """The smallest two-sided p of the exact signed-rank test with n non-zero differences."""
    return min(1.0, 2.0 / 2**n)


def simulated_differences(n: int, d_z: float, replicates: int = N_REPLICATES, seed: int = SEED) -> np.ndarray:
    """``replicates`` x ``n`` paired differences ~ N(d_z, 1), seeded by ``seed``, n and d_z."""
    rng = np.random.default_rng(rng_seed(seed, ("power", int(n), float(d_z))))
    return rng.normal(d_z, 1.0, size=(replicates, n))


@functools.lru_cache(maxsize=256)
def simulated_p_values(n: int, d_z: float, test: str = "wilcoxon", replicates: int = N_REPLICATES,
                       seed: int = SEED) -> np.ndarray:
    """Two-sided p-values of ``replicates`` samples of ``n`` differences ~ N(d_z, 1):
    the exact Wilcoxon signed-rank test as the study runs it, or (``test="t"``, for the
    cross-check with R's ``power.t.test``) the one-sample t-test. The random numbers
    depend on ``seed``, n and d_z only (not on ``test``)."""
    if test not in TESTS:
        raise ValueError(f"test must be one of {list(TESTS)}, got {test!r}")
    diffs = simulated_differences(n, d_z, replicates, seed)
    if test == "t":
        p = scipy_stats.ttest_1samp(diffs, 0.0, axis=1).pvalue
    else:
        p = scipy_stats.wilcoxon(diffs, axis=1, zero_method="wilcox", alternative="two-sided",
                                 method="auto").pvalue
    p = np.asarray(p, dtype=float)
    p.setflags(write=False)
    return p


def power(n: int, d_z: float, level: float, test: str = "wilcoxon", replicates: int = N_REPLICATES,
          seed: int = SEED) -> float:
    """The simulated chance that the test rejects at ``level`` (p <= level) with n
    differences of standardized mean d_z; 0 without a test (n = 0) and, for Wilcoxon,
    where 2 / 2**n > level (no sample can reach it)."""
    if n < 1 or (test == "wilcoxon" and wilcoxon_min_p(n) > level) or (test == "t" and n < 2):
        return 0.0
    return float(np.mean(simulated_p_values(int(n), float(d_z), test, replicates, seed) <= level))


def holm_families(pairwise: pd.DataFrame) -> pd.Series:
    """Per row of ``pairwise``: the size of its cell's Holm family (the cell's pairs
    with a p-value, as :func:`initstudy.analysis.stats.pairwise` corrects them)."""
    tested = pairwise["p_value"].notna().astype(int)
    return tested.groupby([pairwise[c] for c in CELL], sort=False).transform("sum")


def _design(friedman: pd.DataFrame, pairwise: pd.DataFrame, ranks: pd.DataFrame) -> tuple[int, int, int]:
    """The most paired seeds of a comparison, the most initializers of a cell and the
    full Holm family k(k-1)/2 (at least one test)."""
    pairs = pairwise["n_pairs"] if len(pairwise) else ranks["n_blocks"]
    k = int(friedman["k"].max())
    return int(pairs.max()), k, max(1, k * (k - 1) // 2)


def power_table(friedman: pd.DataFrame, pairwise: pd.DataFrame, ranks: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row: the smallest p-values the study's tests can reach (from the non-zero
    differences each pair had), how many comparisons can reject at all, and the seeds
    a design needs."""
    n, k, family = _design(friedman, pairwise, ranks)
    tested = pairwise[pairwise["p_value"].notna()]
    nonzero = pairwise["n_nonzero"].astype(int) if len(pairwise) else pd.Series([0])
    # each tested pair's smallest adjusted p at Holm's first step
    reachable = (holm_families(pairwise)[tested.index] * tested["n_nonzero"].astype(int).map(wilcoxon_min_p)).clip(
        upper=1.0)
    holm_min_p = float(reachable.min()) if len(reachable) else 1.0
    row = {
        "n_pairs": n,
        "k": k,
        "holm_family": family,
        "n_nonzero_min": int(nonzero.min()),
        "n_nonzero_median": float(nonzero.median()),
        "n_nonzero_max": int(nonzero.max()),
        "wilcoxon_min_p": wilcoxon_min_p(int(nonzero.max())),
        "wilcoxon_seeds_needed": seeds_needed(alpha),
        "holm_min_p": holm_min_p,
        "holm_seeds_needed": seeds_needed(alpha, family),
        "friedman_min_p": float(scipy_stats.chi2.sf(n * (k - 1), k - 1)),
        "holm_can_reject": holm_min_p <= alpha,
        "pairs_can_reject": int((reachable <= alpha).sum()),
        "n_compared": len(pairwise),
    }
    return pd.DataFrame([row], columns=POWER_COLUMNS)


def power_effects(friedman: pd.DataFrame, pairwise: pd.DataFrame, ranks: pd.DataFrame, alpha: float,
                  effects: tuple[float, ...] = EFFECTS, replicates: int = N_REPLICATES,
                  seed: int = SEED) -> pd.DataFrame:
    """One row per effect d_z: the power of the design and of the study's comparisons
    as they were (see the module docstring)."""
    n, _, family = _design(friedman, pairwise, ranks)
    families = holm_families(pairwise)
    rows = []
    for d_z in effects:
        per_pair = [power(int(nz), d_z, alpha / m, replicates=replicates, seed=seed) if m else 0.0
                    for nz, m in zip(pairwise["n_nonzero"], families)]
        rows.append({
            "d_z": d_z,
            "n_seeds": n,
            "holm_family": family,
            "level": alpha / family,
            "power_design": power(n, d_z, alpha / family, replicates=replicates, seed=seed),
            "n_compared": len(per_pair),
            "power_mean": float(np.mean(per_pair)) if per_pair else 0.0,
            "power_min": float(np.min(per_pair)) if per_pair else 0.0,
            "power_max": float(np.max(per_pair)) if per_pair else 0.0,
            "replicates": replicates,
            "seed": seed,
        })
    return pd.DataFrame(rows, columns=POWER_EFFECT_COLUMNS)
