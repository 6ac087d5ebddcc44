"""Paired comparisons of two initializers over seeds: the Wilcoxon signed-rank test,
its rank-biserial effect size, and Holm's correction for a family of such tests.

Split out of :mod:`initstudy.analysis.stats`, which runs them per cell; the claims'
rules and the power simulation call them too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: Accuracy differences are rounded to this many decimals before ranking, so that
#: float round-off (0.6 - 0.55 vs 0.45 - 0.4) cannot split a true tie (see the
#: warning in ``scipy.stats.wilcoxon``). Test accuracies are multiples of
#: 1 / test-set size, far coarser than 1e-12.
DIFF_DECIMALS = 12


def rank_biserial(diffs: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014, the simple difference formula).

    With the non-zero differences d_i = a_i - b_i ranked by |d_i| (ties: average ranks),
    T+ the rank sum of positive and T- of negative differences:

        r = (T+ - T-) / (T+ + T-) = f - u,

    f and u being the favourable and unfavourable shares of the total rank sum
    n'(n'+1)/2. r lies in [-1, 1]; r > 0 means a tends to beat b. NaN if no d_i != 0.
    """
    nonzero = diffs[diffs != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    t_plus, t_minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    return float((t_plus - t_minus) / (t_plus + t_minus)) if nonzero.size else np.nan


def wilcoxon_pair(a: pd.Series, b: pd.Series, dropped: str = "") -> dict:
    """Wilcoxon signed-rank test of a vs b, paired by index (seed); NaN pairs are dropped.

    d_i = a_i - b_i (rounded to :data:`DIFF_DECIMALS`); zero differences are
    discarded (Wilcoxon 1945; ``zero_method="wilcox"``, done before the call so that
    SciPy can use its exact null distribution when no |d_i| are tied); the statistic
    is min(T+, T-). The p-value is two-sided, from ``scipy.stats.wilcoxon`` with
    method "auto": exact for n <= 50 without ties, exhaustive permutation of the
    signs for n <= 13 with ties (slow: ~0.1 s at n = 10), normal approximation
    otherwise. Returns n_pairs,
    n_nonzero, mean_diff (mean of a - b), statistic, p_value, rank_biserial
    (:func:`rank_biserial`) and reason.
    """
    paired = pd.concat([a, b], axis=1).dropna()
    diffs = np.round((paired.iloc[:, 0] - paired.iloc[:, 1]).to_numpy(dtype=float), DIFF_DECIMALS)
    n_pairs, n_nonzero = diffs.size, int(np.count_nonzero(diffs))
    reason = ""
    if n_pairs == 0:
        reason = f"no seed with a result for both initializers{dropped}"
    elif n_nonzero == 0:
        reason = f"all {n_pairs} differences zero"
    statistic = p_value = np.nan
    if not reason:
        nonzero = diffs[diffs != 0]
        result = stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided", method="auto")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return {
        "n_pairs": n_pairs,
        "n_nonzero": n_nonzero,
        "mean_diff": float(diffs.mean()) if n_pairs else np.nan,
        "statistic": statistic,
        "p_value": p_value,
        "rank_biserial": rank_biserial(diffs),
        "reason": reason,
    }


def holm(p_values) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN entries stay NaN and are not counted.

    With the m finite p-values sorted, p_(1) <= ... <= p_(m):

        p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)),

    and H_(i) is rejected at family-wise level alpha iff p~_(i) <= alpha. Written
    here because SciPy offers only FDR control (``false_discovery_control``: BH/BY)
    and statsmodels, which has Holm, is not a dependency of the project.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = order.size
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted
