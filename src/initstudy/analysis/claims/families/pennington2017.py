"""Pennington, Schoenholz & Ganguli (2017), *Resurrecting the sigmoid in deep learning
through dynamical isometry* (arXiv:1711.04735), Figs. 1 and 3 and §2-3: on the critical
line chi_1 = 1, the variance of the squared singular values of a deep network's Jacobian
at initialization grows linearly in depth, by ``k_D + v_W`` per layer
(:mod:`initstudy.analysis.free_probability`): ``k_D`` set by the fixed point ``q*``
(for tanh it vanishes as ``q* -> 0``: dynamical isometry), ``v_W`` 0 for orthogonal
weights and 1 for Gaussian ones, and ``k_D = 1`` for ReLU at every ``q*`` (no ReLU
network is isometric).

The statistic of a run is its *spread* ``V``: the normalized variance ``var(s**2) /
mean(s**2)**2`` of the squared singular values ``s**2`` of ``J = d h_L / d a_1`` (every
value, zeros included: they are eigenvalues of ``J J^T`` as the theory counts them) at
each probe example, averaged over the examples
(:class:`initstudy.train.observers.JacobianSpectra`). It is the paper's
``sigma^2_{JJ^T}`` (on the critical line ``mean(s**2)`` is 1), the quantity free
probability predicts exactly as the width grows, and unlike the spread of ``ln s`` it does
not hang on the numerically unresolvable small end of a deep product. A combination
(``activation/initializer``) has, per seed, a *slope*: ``(V(deepest) - V(shallowest)) /
(deepest - shallowest)``, the growth of ``V`` per layer.

Parts, one value per seed:

``free_probability``  per combination of ``predicted`` (``{weights: orthogonal|gaussian,
                      q_star: q}``): the measured slope over the theory's, minus 1;
                      the claim: 0 within a margin (set by the finite width's
                      corrections, of order depth / width);
``gaussian_steeper``  for the pair ``compared`` (orthogonal, Gaussian), paired by seed
                      (the same data split and probe examples): the Gaussian
                      combination's slope minus the orthogonal one's; the theory: 1
                      (``v_W``); the claim: above a margin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis import free_probability
from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register
from initstudy.train.jacobian import RANK_RTOL

PARAMS = {"predicted": {}, "compared": []}
SLOPE = "slope of V = var(s^2) / mean(s^2)^2 per layer"
PARTS = {
    "free_probability": f"{SLOPE} / free probability's - 1",
    "gaussian_steeper": f"{SLOPE}: Gaussian - orthogonal",
}


def normalized_variance(singular_values: np.ndarray) -> float:
    """``var(s**2) / mean(s**2)**2`` of one spectrum (population variance; 0 for an isometry)."""
    s2 = np.asarray(singular_values, dtype=np.float64) ** 2
    mean = s2.mean()
    if not mean > 0:
        raise ClaimError("a Jacobian spectrum is all zeros: its spread is undefined")
    return float(s2.var() / mean**2)


def spreads(tables) -> pd.DataFrame:
    """Per run: ``spread`` (the mean over probe examples of :func:`normalized_variance`)
    with its cell, initializer, ``combination`` and seed."""
    jacobian = tables.jacobian
    if jacobian is None or jacobian.empty:
        raise ClaimError("claim.statistic: pennington2017 reads the Jacobian spectra at init, and the study "
                         "recorded none; set training.jacobian_inputs (e.g. 4) in its config")
    keys = ["run_id", *common.cells(jacobian), "initializer", "seed"]
    per_input = (jacobian.groupby([*keys, "input"], sort=True)["singular_value"]
                 .agg(normalized_variance).rename("spread").reset_index())
    measured = per_input.groupby(keys, sort=True)["spread"].mean().reset_index()
    return measured.assign(combination=_combination(measured))


def _combination(frame: pd.DataFrame) -> pd.Series:
    return frame["activation"].astype(str) + "/" + frame["initializer"].astype(str)


def _predicted(params) -> dict[str, float]:
    """Combination -> free probability's slope per layer, from ``predicted``."""
    slopes = {}
    for combination, spec in dict(params["predicted"]).items():
        where = f"claim.params.predicted.{combination}"
        if not isinstance(spec, dict) or set(spec) != {"weights", "q_star"}:
            raise ClaimError(f"{where}: {spec!r}; expected {{weights: orthogonal|gaussian, q_star: q}}")
        if spec["weights"] not in free_probability.WEIGHT_VARIANCE:
            raise ClaimError(f"{where}.weights: {spec['weights']!r}; expected one of "
                             f"{', '.join(free_probability.WEIGHT_VARIANCE)}")
        if not float(spec["q_star"]) > 0:
            raise ClaimError(f"{where}.q_star: {spec['q_star']!r}; expected a positive fixed point")
        slopes[combination] = free_probability.layer_slope(combination.split("/")[0], float(spec["q_star"]),
                                                           spec["weights"])
    return slopes


def _slopes(measured: pd.DataFrame, combinations: list[str], key: str) -> pd.DataFrame:
    """Per combination and seed: ``slope``, the growth of the spread per layer from the
    shallowest depth to the deepest."""
    missing = sorted(set(combinations) - set(measured["combination"]))
    if missing:
        raise ClaimError(f"claim.params.{key}: combination(s) {missing} not in the study; it has "
                         f"{sorted(measured['combination'].unique())}")
    chosen = measured[measured["combination"].isin(combinations)]
    if chosen["depth"].nunique() < 2:
        raise ClaimError(f"claim.params.{key}: growth with depth needs two depths or more; the study has "
                         f"{sorted(chosen['depth'].unique())}")
    shallow, deep = int(chosen["depth"].min()), int(chosen["depth"].max())
    cell = [c for c in common.cells(chosen) if c not in ("depth", "optimizer")]
    by = [*cell, "initializer", "combination", "seed"]
    at = {d: chosen[chosen["depth"] == d].groupby(by, sort=True)["spread"].mean() for d in (shallow, deep)}
    slope = ((at[deep] - at[shallow]) / (deep - shallow)).rename("slope").reset_index()
    return slope.assign(span=f"d{shallow} to d{deep}")


def _free_probability(measured: pd.DataFrame, params) -> pd.DataFrame:
    predicted = _predicted(params)
    slopes = _slopes(measured, list(predicted), "predicted")
    value = slopes["slope"] / slopes["combination"].map(predicted) - 1.0
    return slopes.assign(value=value, subclaim=slopes["combination"] + " (" + slopes["span"] + ")")


def _gaussian_steeper(measured: pd.DataFrame, params) -> pd.DataFrame:
    compared = list(params["compared"])
    if len(compared) != 2:
        raise ClaimError(f"claim.params.compared: {compared!r}; expected [orthogonal combination, Gaussian "
                         "combination]")
    slopes = _slopes(measured, compared, "compared")
    cell = [c for c in common.cells(slopes) if c != "activation"]
    wide = slopes.pivot_table(index=[*cell, "seed"], columns="combination", values="slope").dropna()
    orthogonal, gaussian = compared
    out = (wide[gaussian] - wide[orthogonal]).rename("value").reset_index()
    span = slopes["span"].iloc[0]
    return out.assign(activation=orthogonal.split("/")[0], initializer=f"{gaussian.split('/')[1]} - "
                      f"{orthogonal.split('/')[1]}", subclaim=f"{gaussian} - {orthogonal} ({span})")


@register("pennington2017", parts=PARTS, params=PARAMS)
def pennington2017(tables, params) -> pd.DataFrame:
    measured = spreads(tables)
    parts = []
    if params["predicted"]:
        parts.append(_free_probability(measured, params).assign(part="free_probability"))
    if params["compared"]:
        parts.append(_gaussian_steeper(measured, params).assign(part="gaussian_steeper"))
    if not parts:
        raise ClaimError("claim.params: name the combinations to test in 'predicted' and/or 'compared' "
                         "(e.g. tanh/orthogonal_critical)")
    frame = pd.concat(parts, ignore_index=True)
    return frame.drop(columns=[c for c in ("slope", "span", "combination") if c in frame.columns])


@figure_tables("pennington2017")
def pennington2017_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``spread``: mean and CI over seeds of the spread ``V`` per combination and depth,
    with ``role`` (predicted, the combinations with a free-probability prediction, or
    other) and ``predicted``, free probability's ``V`` at that depth (NaN for the others);
    ``spectra``: at the deepest depth, the squared singular values of every seed and probe
    example per predicted combination over their mean (``s2_relative``, whose normalized
    variance is the spread), the numerically zero ones left out (``s`` at most
    :data:`~initstudy.train.jacobian.RANK_RTOL` times the largest: a ReLU layer's exact
    zeros and float64's floor; they weigh nothing in the spread)."""
    measured = spreads(tables)
    spread = common.intervals(measured, ["combination", "depth"], "spread")
    predicted = dict(params["predicted"])
    _predicted(params)  # the same checks as the verdict's
    spread["role"] = np.where(spread["combination"].isin(list(predicted)), "predicted", "other")
    spread["predicted"] = [
        free_probability.predicted_variance(c.split("/")[0], float(predicted[c]["q_star"]), predicted[c]["weights"],
                                            int(d)) if c in predicted else np.nan
        for c, d in zip(spread["combination"], spread["depth"])]
    jacobian = tables.jacobian.assign(combination=_combination(tables.jacobian))
    deepest = jacobian[(jacobian["depth"] == jacobian["depth"].max()) & jacobian["combination"].isin(list(predicted))]
    s2 = deepest["singular_value"].astype(float) ** 2
    relative = s2 / s2.groupby([deepest["run_id"], deepest["input"]]).transform("mean")
    largest = deepest.groupby(["run_id", "input"])["singular_value"].transform("max")
    spectra = deepest.assign(s2_relative=relative)
    spectra = spectra[deepest["singular_value"] > RANK_RTOL * largest]
    spectra = spectra[["combination", "depth", "seed", "input", "index", "s2_relative"]].reset_index(drop=True)
    return {"spread": spread, "spectra": spectra}
