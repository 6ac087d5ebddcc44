"""What the tests can detect with the seeds the study has.

n is the most pairs a Wilcoxon test had (the most complete seeds of a cell when there
is no pair), k the most initializers of a cell (the family counts at least one test).

- Wilcoxon: with n pairs the exact two-sided p-value is at least 2 / 2**n (all n
  differences of one sign); Holm multiplies the smallest p of a cell's
  m = k(k-1)/2 pairs by m.
- Friedman: with n blocks and k treatments the statistic is at most n(k-1) (every
  block ranks the treatments alike), so p >= the chi-squared (k-1 df) tail at n(k-1).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats as scipy_stats

POWER_COLUMNS = ["n_pairs", "k", "holm_family", "wilcoxon_min_p", "wilcoxon_seeds_needed", "holm_min_p",
                 "holm_seeds_needed", "friedman_min_p", "holm_can_reject"]


def seeds_needed(alpha: float, family: int = 1) -> int:
    """The fewest seeds n at which the exact two-sided signed-rank test can reject at
    ``alpha`` after Holm's correction over ``family`` tests: the smallest n with
    family * 2 / 2**n <= alpha."""
    return max(1, math.ceil(1 + math.log2(family / alpha)))


def power_table(friedman: pd.DataFrame, pairwise: pd.DataFrame, ranks: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row: the smallest p-values the study's tests can reach, and the seeds needed."""
    pairs = pairwise["n_pairs"] if len(pairwise) else ranks["n_blocks"]
    n = int(pairs.max())
    k = int(friedman["k"].max())
    family = max(1, k * (k - 1) // 2)
    min_p = 2.0 / 2**n
    row = {
        "n_pairs": n,
        "k": k,
        "holm_family": family,
        "wilcoxon_min_p": min_p,
        "wilcoxon_seeds_needed": seeds_needed(alpha),
        "holm_min_p": min(1.0, family * min_p),
        "holm_seeds_needed": seeds_needed(alpha, family),
        "friedman_min_p": float(scipy_stats.chi2.sf(n * (k - 1), k - 1)),
        "holm_can_reject": family * min_p <= alpha,
    }
    return pd.DataFrame([row], columns=POWER_COLUMNS)
