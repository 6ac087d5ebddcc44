"""Pennington, Schoenholz & Ganguli (2017), *Resurrecting the sigmoid in deep learning
through dynamical isometry*, Figs. 1 and 3: at initialization, the singular values of a
deep network's input-output Jacobian stay concentrated (dynamical isometry) for tanh
networks at the edge of chaos with orthogonal weights, whatever the depth; with
Gaussian weights their spread grows with depth, and with ReLU it grows whatever the
weights.

The statistic of a run is the *spread* of its Jacobian spectrum at init: the standard
deviation of ``ln s`` over the non-zero singular values ``s`` of ``J = d h_L / d a_1``
at each probe example, averaged over the examples
(:class:`initstudy.train.observers.JacobianSpectra`,
:func:`initstudy.train.jacobian.spectrum_summary`; 0 for an isometry). A combination
(activation and initializer) *grows* by the spread at its deepest depth minus the spread
at its shallowest, one value per seed.

Parts, one sub-claim per combination named in the parameters:

``isometry_flat``  the growth of each ``isometric`` combination (tanh, orthogonal, at
                   criticality) stays within a margin of 0;
``spread_grows``   the growth of each ``spreading`` combination (tanh Gaussian, ReLU
                   orthogonal or Gaussian) exceeds a margin.

Combinations are ``activation/initializer`` strings (``tanh/orthogonal_critical``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register
from initstudy.train.jacobian import RANK_RTOL, spectrum_summary

PARAMS = {"isometric": [], "spreading": []}
GROWTH = "std of ln s at the deepest depth - at the shallowest"


def spreads(tables) -> pd.DataFrame:
    """Per run: ``spread`` (mean over probe examples of the std of ln s of the non-zero
    singular values) with its cell, initializer and seed."""
    jacobian = tables.jacobian
    if jacobian is None or jacobian.empty:
        raise ClaimError("claim.statistic: pennington2017 reads the Jacobian spectra at init, and the study "
                         "recorded none; set training.jacobian_inputs (e.g. 4) in its config")
    keys = ["run_id", *common.cells(jacobian), "initializer", "seed"]
    rows = []
    for key, run in jacobian.groupby(keys, sort=True):
        per_input = [spectrum_summary(group.sort_values("index")["singular_value"].to_numpy())["std_log_s"]
                     for _, group in run.groupby("input")]
        rows.append({**dict(zip(keys, key)), "spread": float(np.mean(per_input))})
    return pd.DataFrame(rows, columns=[*keys, "spread"])


def _combination(frame: pd.DataFrame) -> pd.Series:
    return frame["activation"].astype(str) + "/" + frame["initializer"].astype(str)


def _growth(frame: pd.DataFrame, combinations: list[str], key: str) -> pd.DataFrame:
    """Per combination and seed: the spread at the deepest depth minus at the shallowest."""
    frame = frame.assign(combination=_combination(frame))
    missing = sorted(set(combinations) - set(frame["combination"]))
    if missing:
        raise ClaimError(f"claim.params.{key}: combination(s) {missing} not in the study; it has "
                         f"{sorted(frame['combination'].unique())}")
    chosen = frame[frame["combination"].isin(combinations)]
    if chosen["depth"].nunique() < 2:
        raise ClaimError(f"claim.params.{key}: growth with depth needs two depths or more; the study has "
                         f"{sorted(chosen['depth'].unique())}")
    shallow, deep = chosen["depth"].min(), chosen["depth"].max()
    cell = [c for c in common.cells(chosen) if c not in ("depth", "optimizer")]
    by = [*cell, "initializer", "combination", "seed"]
    at = {d: chosen[chosen["depth"] == d].groupby(by, sort=True)["spread"].mean() for d in (shallow, deep)}
    growth = (at[deep] - at[shallow]).rename("value").reset_index()
    return growth.assign(subclaim=growth["combination"] + f" (d{shallow} to d{deep})")


@register("pennington2017", parts={
    "isometry_flat": GROWTH,
    "spread_grows": GROWTH,
}, params=PARAMS)
def pennington2017(tables, params) -> pd.DataFrame:
    measured = spreads(tables)
    parts = []
    for part, key in (("isometry_flat", "isometric"), ("spread_grows", "spreading")):
        if params[key]:
            parts.append(_growth(measured, list(params[key]), key).assign(part=part))
    if not parts:
        raise ClaimError("claim.params: name the combinations to test in 'isometric' and 'spreading' "
                         "(e.g. tanh/orthogonal_critical)")
    return pd.concat(parts, ignore_index=True)


@figure_tables("pennington2017")
def pennington2017_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``spread``: mean and CI over seeds of the spread per combination and depth, with
    ``role`` (isometric, spreading or other); ``spectra``: at the deepest depth, the
    singular values of every seed and probe example per combination, with ``resolved``
    (numerically non-zero, as the spread counts them: :data:`~initstudy.train.jacobian.RANK_RTOL`)."""
    measured = spreads(tables)
    measured = measured.assign(combination=_combination(measured))
    role = {c: "isometric" for c in params["isometric"]} | {c: "spreading" for c in params["spreading"]}
    spread = common.intervals(measured, ["combination", "depth"], "spread")
    spread["role"] = spread["combination"].map(role).fillna("other")
    jacobian = tables.jacobian.assign(combination=_combination(tables.jacobian))
    deepest = jacobian[jacobian["depth"] == jacobian["depth"].max()]
    largest = deepest.groupby(["run_id", "input"])["singular_value"].transform("max")
    spectra = deepest.assign(resolved=deepest["singular_value"] > RANK_RTOL * largest)
    spectra = spectra[["combination", "depth", "seed", "input", "index", "singular_value", "resolved"]]
    spectra = spectra.reset_index(drop=True)
    return {"spread": spread, "spectra": spectra}
