"""Equivalence of two initializers within a margin: the interval every "agree" rests on.

"Not significantly different" is not "equivalent": with few seeds a test rarely
rejects, whatever the truth. Equivalence is shown instead with Schuirmann's (1987)
two one-sided tests (TOST) at level alpha on the paired differences
``d_s = a_s - b_s`` of the seeds both initializers have a score at: a and b are
equivalent within the margin Delta when the two-sided ``(1 - 2 alpha)`` confidence
interval of the mean difference lies inside ``(-Delta, Delta)``; each bound is a
one-sided test at level alpha.

The interval is the paired t interval (Student; what R's
``t.test(a, b, paired = TRUE, conf.level = 1 - 2 * alpha)`` gives), from
``scipy.stats.ttest_1samp(d, 0).confidence_interval(1 - 2 alpha)``:

    mean(d) ± t_{1 - alpha, n - 1} · sd(d) / sqrt(n).

It is the method of this kind of interval (a paired mean difference judged against a
margin); intervals of a single mean are the BCa bootstrap of
:mod:`initstudy.analysis.intervals`. With fewer than two pairs there is no interval;
when every difference is the same (``sd = 0``, e.g. two initializers stalled at the
same class at every seed) the interval is that one value. Differences are rounded to
:data:`initstudy.analysis.paired.DIFF_DECIMALS`, as the Wilcoxon tests round them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from initstudy.analysis.paired import DIFF_DECIMALS

INTERVAL_KEYS = ("n", "mean_diff", "ci_low", "ci_high")


def confidence(alpha: float) -> float:
    """The level of the interval of a TOST at ``alpha``: ``1 - 2 alpha``."""
    return 1.0 - 2.0 * alpha


def paired_interval(a: pd.Series, b: pd.Series, alpha: float) -> dict:
    """n, mean and ``(1 - 2 alpha)`` paired t interval of ``a - b`` (aligned by index,
    NaN pairs dropped); NaN mean/bounds without a pair, NaN bounds with one."""
    paired = pd.concat([a, b], axis=1).dropna()
    diffs = np.round((paired.iloc[:, 0] - paired.iloc[:, 1]).to_numpy(dtype=float), DIFF_DECIMALS)
    n = int(diffs.size)
    row = {"n": n, "mean_diff": float(diffs.mean()) if n else np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n >= 2:
        with warnings.catch_warnings():  # sd = 0: SciPy warns, the interval is the one value
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = scipy_stats.ttest_1samp(diffs, 0.0).confidence_interval(confidence_level=confidence(alpha))
        low, high = float(ci.low), float(ci.high)
        if not (np.isfinite(low) and np.isfinite(high)):  # sd = 0
            low = high = float(diffs.mean())
        row.update(ci_low=low, ci_high=high)
    return row


def within(ci_low: float, ci_high: float, margin: float) -> bool:
    """TOST: the interval lies inside ``(-margin, margin)`` (False without an interval)."""
    return bool(np.isfinite(ci_low) and np.isfinite(ci_high) and -margin < ci_low and ci_high < margin)


def not_worse(ci_low: float, margin: float) -> bool:
    """The lower one-sided test of TOST alone: ``a`` is at most ``margin`` worse than
    ``b`` (the interval's lower bound above ``-margin``; False without an interval)."""
    return bool(np.isfinite(ci_low) and -margin < ci_low)
