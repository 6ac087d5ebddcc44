"""Is a signal profile stable? The verdict, the measured profiles, theory beside measurement.

A profile is the pre-activation variance ``q_1..q_L`` of an MLP's layers at init,
predicted by mean-field theory (:mod:`initstudy.analysis.theory`) or measured by the
trainer (``results/signal.parquet``, epoch 0). It is *stable* when every value is
finite and ``max q <= STABLE_FACTOR * min q`` (:func:`profile_verdict`).
:func:`stability_table` sets the verdicts of theory and measurement side by side,
one row per curve (:data:`CURVE`).

This module imports neither Keras nor a dataset, so that the paper can cite
:data:`STABLE_FACTOR` and typeset the table by :data:`CURVE` without either.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: A profile ``q_1..q_L`` is *stable* when ``max q / min q`` stays within this factor.
STABLE_FACTOR = 10.0
#: The columns that name one curve of the figure and one row of the stability table.
CURVE = ["dataset", "activation", "initializer"]


def profile_verdict(q, factor: float = STABLE_FACTOR) -> str:
    """``stable``, ``vanishes``, ``explodes`` or ``no signal`` for a profile ``q_1..q_L``.

    ``no signal``: every ``q_l`` is 0 (an all-zero kernel). ``stable``: every value is
    finite and ``max q <= factor * min q``. Otherwise ``explodes`` when a value is not
    finite (overflow) or ``q_L >= q_1``, else ``vanishes`` (``q`` reaching 0 included).
    """
    q = np.asarray(q, dtype=np.float64)
    if np.all(q == 0):
        return "no signal"
    if not np.all(np.isfinite(q)):
        return "explodes"
    if q.min() > 0 and q.max() <= factor * q.min():
        return "stable"
    return "vanishes" if q[-1] < q[0] else "explodes"


def measured_profiles(signal: pd.DataFrame) -> pd.DataFrame:
    """Measured pre-activation variance of the MLPs at init, per curve and layer.

    ``signal`` is the tidy signal table (:mod:`initstudy.tables.build`); its epoch-0 rows
    hold ``preactivation_var = mean(z**2) - mean(z)**2`` over the probe batch and the
    layer's units, before any update. At layer ``l`` the runs of every depth
    ``>= l``, seed and optimizer pool, since their first ``l`` kernels are drawn
    alike. Columns: the curve, ``layer``, ``median``, ``low`` and ``high`` (the range
    over runs) and ``runs``. A null variance (not finite when measured) counts as
    ``inf``.
    """
    init = signal[(signal["epoch"] == 0) & (signal["arch"] == "mlp")]
    variance = init["preactivation_var"].astype("float64").fillna(np.inf)
    grouped = init.assign(variance=variance).groupby([*CURVE, "layer"], sort=False)
    summary = grouped["variance"].agg(median="median", low="min", high="max", runs="size")
    return summary.reset_index().astype({c: object for c in CURVE})


def _ratio(q: np.ndarray) -> float:
    """``q_L / q_1``; ``nan`` when ``q_1`` is 0 or not finite."""
    return float(q[-1] / q[0]) if 0 < q[0] < math.inf else math.nan


def _profiles(frame: pd.DataFrame, column: str) -> dict[tuple, np.ndarray]:
    """``{curve: values of column by layer}``."""
    ordered = frame.sort_values("layer")
    return {key: g[column].to_numpy() for key, g in ordered.groupby(CURVE, sort=False)}


def stability_table(
    predicted: pd.DataFrame,
    measured: pd.DataFrame,
    skipped: dict[str, str],
    curves: list[tuple[str, str, str]],
    factor: float = STABLE_FACTOR,
) -> pd.DataFrame:
    """One row per curve ``(dataset, activation, initializer)``: theory and measurement.

    ``theory`` and ``measured`` are :func:`profile_verdict` of the predicted ``q_l``
    and of the median over runs of the measured variance (``skipped`` or ``not run``
    when there is none); ``*_ratio`` is ``q_L / q_1``; ``layers`` the deepest layer
    measured; ``note`` why the theory skips an initializer.
    """
    theory, medians = _profiles(predicted, "predicted"), _profiles(measured, "median")
    rows = []
    for curve in curves:
        q, m = theory.get(curve), medians.get(curve)
        rows.append(
            {
                **dict(zip(CURVE, curve)),
                "theory": "skipped" if q is None else profile_verdict(q, factor),
                "theory_ratio": math.nan if q is None else _ratio(q),
                "measured": "not run" if m is None else profile_verdict(m, factor),
                "measured_ratio": math.nan if m is None else _ratio(m),
                "layers": 0 if m is None else len(m),
                "note": skipped.get(curve[2], ""),
            }
        )
    return pd.DataFrame(rows)
