"""Mean and confidence interval of every group of a long table, one method for all.

Every interval of a mean in the study, in a table or drawn as a band or an error bar,
is :func:`initstudy.analysis.stats.bootstrap_mean`: scipy's BCa bootstrap with
:data:`~initstudy.analysis.stats.N_RESAMPLES` resamples at
:data:`~initstudy.analysis.stats.CONFIDENCE`, seeded per group by the group's key.
The one other kind, the interval of a paired mean difference judged against the
guideline's equivalence margin, is the paired t interval of
:mod:`initstudy.analysis.equivalence`.
"""

from __future__ import annotations

import pandas as pd

from initstudy.analysis import stats

INTERVAL_COLUMNS = ["n", "mean", "ci_low", "ci_high", "ci_method", "reason"]


def mean_intervals(frame: pd.DataFrame, by: list[str], value: str, seed: int = 0,
                   n_resamples: int = stats.N_RESAMPLES) -> pd.DataFrame:
    """Per group of ``by``: n, mean, CI of ``value`` over the group's rows (NaN dropped)."""
    rows = []
    for key, group in frame.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)),
                     **stats.bootstrap_mean(group[value].to_numpy(float), n_resamples,
                                            stats.rng_seed(seed, (value, *key)))})
    return pd.DataFrame(rows, columns=[*by, *INTERVAL_COLUMNS])
