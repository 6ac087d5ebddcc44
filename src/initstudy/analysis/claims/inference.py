"""The one-sample tests a claim's decision rule may name, each with its power statement.

A claim's statistic gives one value per seed (the *block*): an accuracy above
chance, a per-layer variance ratio, a gradient ratio. A rule tests the mean of those
values against a boundary θ (the claim's minimum effect, or the edges of an
equivalence margin) with a two-sided test at level α, and reports the
(1 − α) confidence interval that the same test gives by inversion, so that
"p ≤ α" and "the interval excludes θ" are one statement.

``sign_flip``  The exact one-sample randomization test of the mean (Fisher 1935,
               §21, Darwin's *Zea mays*; Pitman 1937): under H0 the values x_i − θ
               are symmetric about 0, so each of the 2**n sign patterns is equally
               likely; p is the share of patterns whose |Σ ±(x_i − θ)| is at least
               the observed |Σ (x_i − θ)|. It assumes symmetry only, and stays exact
               when every value is equal (a network stuck at one class gives the same
               accuracy at every seed, where a t-test is undefined). The smallest p it
               can return with n seeds is 2 / 2**n (all differences of one sign):
               6 seeds reach 1/32 ≤ 0.05, 5 seeds cannot (1/16). Its interval is the
               set of θ it does not reject (bisection on θ); at n = 6 and α = 0.05 it
               is the range of the values.
``t``          Student's one-sample t-test (``scipy.stats.ttest_1samp``) and its
               t interval. It assumes normal values; any p > 0 is reachable with
               n ≥ 2, but it is undefined when the values do not vary.

Both are cross-checked in the tests against independent implementations (R's
``t.test``, ``scipy.stats.permutation_test``) and published worked examples.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np
from scipy import stats

#: Values a sign-flip test enumerates at most (2**n patterns, n values each).
MAX_SIGN_FLIP_N = 20
#: Bisection steps of a sign-flip interval bound (each halves the bracket).
BISECTION_STEPS = 60
TEST_COLUMNS = ["n", "estimate", "ci_low", "ci_high", "p_value", "min_p", "reason"]


def _signs(n: int) -> np.ndarray:
    """Every pattern of n signs, (2**n, n)."""
    return np.array(list(itertools.product((1.0, -1.0), repeat=n)))


def _tolerance(values: np.ndarray) -> float:
    """Sums closer than this are ties (float round-off, not a difference)."""
    return 1e-12 * max(1.0, float(np.max(np.abs(values)))) * values.size


def sign_flip_p(values, null: float = 0.0) -> float:
    """Two-sided exact p-value of the sign-flip test of H0: the values are symmetric
    about ``null``. Every pattern is enumerated (n ≤ :data:`MAX_SIGN_FLIP_N`); sums
    within :func:`_tolerance` of the observed one count as at least as extreme."""
    x = np.asarray(values, dtype=float) - null
    if x.size > MAX_SIGN_FLIP_N:
        raise ValueError(f"sign_flip enumerates 2**n patterns; n = {x.size} > {MAX_SIGN_FLIP_N}")
    observed = abs(x.sum())
    sums = np.abs(_signs(x.size) @ x)
    return float(np.mean(sums >= observed - _tolerance(x)))


def sign_flip_min_p(n: int) -> float:
    """The smallest two-sided p the sign-flip test can return with n values: 2 / 2**n."""
    return min(1.0, 2.0 / 2**n) if n >= 1 else 1.0


def t_min_p(n: int) -> float:
    """The smallest p a one-sample t-test can return with n values: it approaches 0 as
    the values' spread shrinks (n ≥ 2); with fewer than 2 there is no test (1)."""
    return 0.0 if n >= 2 else 1.0


def _bound(p_of: Callable[[float], float], rejected: float, accepted: float, alpha: float) -> float:
    """The edge between a rejected and an accepted θ, by bisection; returns the accepted
    side (the interval is closed)."""
    for _ in range(BISECTION_STEPS):
        middle = (rejected + accepted) / 2
        if middle in (rejected, accepted):
            break
        if p_of(middle) > alpha:
            accepted = middle
        else:
            rejected = middle
    return accepted


def sign_flip_interval(values, alpha: float) -> tuple[float, float]:
    """The (1 − alpha) interval of the sign-flip test: the θ it does not reject.

    For θ below the smallest value every difference is positive and p is the minimum,
    2 / 2**n, so with that minimum ≤ alpha the interval lies within the values' range
    and each bound is found by bisection between the range's end and the mean (where
    p = 1). With the minimum above alpha nothing is ever rejected: (−∞, ∞).
    """
    x = np.asarray(values, dtype=float)
    if sign_flip_min_p(x.size) > alpha:
        return -math.inf, math.inf
    low, high, mean = float(x.min()), float(x.max()), float(x.mean())
    if low == high:
        return low, high

    def p_of(theta: float) -> float:
        return sign_flip_p(x, theta)

    below = low - (high - low) * 1e-6
    above = high + (high - low) * 1e-6
    return _bound(p_of, below, mean, alpha), _bound(p_of, above, mean, alpha)


def sign_flip(values, null: float, alpha: float) -> dict:
    """The sign-flip test of the values' mean against ``null`` (see the module)."""
    x = np.asarray(values, dtype=float)
    n = x.size
    row = {"n": n, "estimate": float(x.mean()) if n else math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "p_value": math.nan, "min_p": sign_flip_min_p(n), "reason": ""}
    if n == 0:
        row["reason"] = "no value"
    elif n > MAX_SIGN_FLIP_N:
        row["reason"] = f"{n} values: more than the {MAX_SIGN_FLIP_N} the exact sign-flip test enumerates"
    else:
        row["p_value"] = sign_flip_p(x, null)
        row["ci_low"], row["ci_high"] = sign_flip_interval(x, alpha)
    return row


def t_test(values, null: float, alpha: float) -> dict:
    """Student's one-sample t-test of the values' mean against ``null``, two-sided, and
    its (1 − alpha) t interval (``scipy.stats.ttest_1samp``)."""
    x = np.asarray(values, dtype=float)
    n = x.size
    row = {"n": n, "estimate": float(x.mean()) if n else math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "p_value": math.nan, "min_p": t_min_p(n), "reason": ""}
    if n < 2:
        row["reason"] = f"{n} value(s); a t-test needs at least 2"
    elif np.ptp(x) <= _tolerance(x):
        row["reason"] = f"all {n} values equal ({x[0]:.6g}); the t-test is undefined without variance"
    else:
        result = stats.ttest_1samp(x, popmean=null)
        ci = result.confidence_interval(confidence_level=1 - alpha)
        row.update(p_value=float(result.pvalue), ci_low=float(ci.low), ci_high=float(ci.high))
    return row


#: Test name (a rule's ``test``) -> the test: (values, null, alpha) -> dict of :data:`TEST_COLUMNS`.
TESTS: dict[str, Callable[..., dict]] = {"sign_flip": sign_flip, "t": t_test}
#: Test name -> its smallest reachable p with n values.
MIN_P: dict[str, Callable[[int], float]] = {"sign_flip": sign_flip_min_p, "t": t_min_p}
#: Test name -> how the paper names it.
TEST_NAMES = {"sign_flip": "exact sign-flip (randomization) test", "t": "one-sample t-test"}

