"""Audit initializers: draw from Keras and judge the draws against the intended scheme.

For each initializer spec and each representative kernel shape, the audit draws
weights (pooling several seeds when a shape is small, so that every row has at
least ``min_samples`` values) and tests them against the scheme the spec intends
(:func:`initstudy.analysis.scheme.intended_scheme`):

- random schemes (uniform, normal, truncated normal, clipped normal): the mean,
  the variance and a Kolmogorov-Smirnov test against the exact distribution
  (plus, for the clipped normal, a binomial test of the mass at the bounds);
- orthogonal: ``max |Gram - gain**2 I|`` after reshaping to 2-D as Keras does;
- zeros, ones, constant, identity: exact equality.

Statistical tolerances follow from the sample size ``n``: the sample mean has
standard error ``sigma / sqrt(n)``; the sample variance ``s**2`` has
``Var(s**2) = (mu4 - sigma**4) / n``, i.e. a relative standard error
``sqrt((kurtosis - 1) / n)``. Every statistical check of one audit shares a
Bonferroni-corrected level ``check_alpha = alpha / (number of checks)``, so
``alpha`` bounds the probability that a correct initializer fails anywhere in the
table; tolerances are ``z * SE`` with ``z = Phi^-1(1 - check_alpha / 2)``.

Without a declared scheme the audit reports the measured variance and the
variance-scaling rule it matches best (``best_fit``, also given for every
variance-scaling row). This module draws with Keras (:func:`initstudy.inits.resolve.build`);
what a spec intends is :mod:`initstudy.analysis.scheme`'s, Keras-free.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.stats

from initstudy.analysis.scheme import (
    ALPHA,
    MIN_SAMPLES,
    Scheme,
    atom_mass,
    intended_scheme,
    unit_moments,
)
from initstudy.inits.resolve import KERAS_BUILTINS, build
from initstudy.study.builtin_initializers import BUILTINS
from initstudy.study.fans import CUT, channels_first_fans, keras_fans
from initstudy.study.specs import InitializerError, InitSpec, check_shape_support, parse

#: Dense (64,64), (256,32), (32,256); Conv1D (5,16,32); Conv2D (3,3,16,32), (5,5,3,64).
DEFAULT_SHAPES: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (256, 32),
    (32, 256),
    (5, 16, 32),
    (3, 3, 16, 32),
    (5, 5, 3, 64),
)
#: The bias shape audited for a spec with a ``bias`` (one layer of 128 units); as in
#: Keras, a 1-D shape's fans are its length.
BIAS_SHAPES: tuple[tuple[int, ...], ...] = ((128,),)

COLUMNS = [
    "initializer", "shape", "kind", "fan_in", "fan_out", "intended", "n", "n_draws",
    "target_mean", "mean", "mean_tol", "target_var", "measured_var", "var_rel_err",
    "var_tol", "ks_stat", "ks_p", "check_alpha", "z", "ortho_dev", "ortho_tol",
    "const_dev", "best_fit", "verdict", "failed", "reason",
]  # fmt: skip

#: Keras' built-in classes -> their names in a spec (``HeNormal`` -> ``he_normal``).
_BUILTIN_NAMES = {cls: name for name, cls in KERAS_BUILTINS.items()}


def class_declaration(spec: InitSpec) -> Any:
    """What a custom class declares it draws, as :func:`~initstudy.analysis.scheme.scheme_of_declared`
    takes it: the result of its ``intended_scheme()`` method; else, for a subclass of a
    Keras built-in class, that built-in with the instance's configuration; else None.

    Builds the class (:func:`~initstudy.inits.resolve.build`, seed 0), so Keras and the
    class's module are imported.
    """
    init = build(spec, seed=0)
    declare = getattr(init, "intended_scheme", None)
    if callable(declare):
        return declare()
    for cls in type(init).__mro__:
        if cls in _BUILTIN_NAMES:
            name, config = _BUILTIN_NAMES[cls], init.get_config()
            return {"name": name, **{k: config[k] for k in BUILTINS[name].defaults if k in config}}
    return None


def best_fit(measured_var: float, shape) -> str:
    """The variance-scaling rule ``scale / n`` closest (in log ratio) to a measured variance.

    Candidates: scale 1 or 2 over fan_in, fan_out, fan_avg, with fans computed the
    Keras way and, for convolution kernels, as if channels-first
    (:func:`~initstudy.study.fans.channels_first_fans`).
    """
    rules = [("", keras_fans)] + (
        [(" channels-first", channels_first_fans)] if len(shape) > 2 else []
    )
    candidates = []
    for layout, rule in rules:
        fan_in, fan_out = rule(shape)
        for mode, n in (
            ("fan_in", fan_in),
            ("fan_out", fan_out),
            ("fan_avg", (fan_in + fan_out) / 2),
        ):
            for scale in (1, 2):
                candidates.append((f"{scale}/{mode}{layout}", scale / max(1.0, n)))
    name, var = min(candidates, key=lambda c: abs(math.log(measured_var / c[1])))
    return f"{name} (x{measured_var / var:.3g})"


def _kind(shape) -> str:
    return {1: "bias", 2: "dense"}.get(len(shape), f"conv{len(shape) - 2}d")


def _draw(spec: InitSpec, shape, n_draws: int, seed: int) -> np.ndarray:
    """``n_draws`` kernels of ``shape`` from seeds ``seed, seed + 1, ...``, stacked."""
    draws = [build(spec, seed + i)(shape=shape) for i in range(n_draws)]
    return np.stack([keras.ops.convert_to_numpy(d) for d in draws])


def _random_stats(draws: np.ndarray, scheme: Scheme, shape) -> dict[str, Any]:
    """Mean, variance and distribution tests of i.i.d. draws; p-values in ``_p``."""
    x = draws.astype(np.float64).ravel()
    n, target_var = x.size, scheme.variance(shape)
    _, kurtosis = unit_moments(scheme.family)
    law, mass = scheme.law(shape), atom_mass(scheme.family)
    mean_se, var_se = math.sqrt(target_var / n), math.sqrt((kurtosis - 1) / n)
    measured_var = float(x.var(ddof=1))
    rel_err = measured_var / target_var - 1
    bound = CUT * scheme.spread_at(shape) * (1 - 1e-6)  # float32 rounding of the bound
    on_bounds = np.abs(x - scheme.mean) >= bound if mass else np.zeros(n, bool)
    ks = scipy.stats.kstest(x[~on_bounds], law.cdf)
    p = {
        "mean": 2 * scipy.stats.norm.sf(abs(x.mean() - scheme.mean) / mean_se),
        "var": 2 * scipy.stats.norm.sf(abs(rel_err) / var_se),
        "ks": ks.pvalue,
    }
    atoms = {}
    if mass:
        p["atoms"] = scipy.stats.binomtest(int(on_bounds.sum()), n, mass).pvalue
        atoms = {"_atom_frac": on_bounds.mean(), "_atom_mass": mass}
    return {
        "target_mean": scheme.mean, "mean": float(x.mean()), "target_var": target_var,
        "measured_var": measured_var, "var_rel_err": rel_err, "ks_stat": ks.statistic,
        "ks_p": ks.pvalue, "best_fit": best_fit(measured_var, shape) if scheme.scale else "",
        "_se": (mean_se, var_se), "_p": p, **atoms,
    }  # fmt: skip


def _gram_deviation(draws: np.ndarray, gain: float) -> float:
    """``max |G - gain**2 I|`` over draws, ``G`` the smaller Gram matrix of the 2-D reshape."""
    worst = 0.0
    for kernel in draws:
        matrix = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
        if matrix.shape[0] < matrix.shape[1]:
            matrix = matrix.T
        gram = matrix.T @ matrix
        worst = max(worst, float(np.abs(gram - gain**2 * np.eye(len(gram))).max()))
    return worst


def _exact_stats(draws: np.ndarray, scheme: Scheme, shape) -> dict[str, Any]:
    """Orthogonality within float32 rounding, or exact equality for constant/identity.

    The orthogonality tolerance ``gain**2 * m * eps32`` (``m`` the longer side of the
    2-D reshape) is the first-order rounding bound of a length-``m`` float32 dot
    product (Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, 3.1).
    """
    if scheme.family == "orthogonal":
        rows = math.prod(shape[:-1])
        tol = scheme.spread**2 * max(rows, shape[-1]) * float(np.finfo(np.float32).eps)
        return {
            "target_var": scheme.variance(shape),
            "measured_var": float(draws.astype(np.float64).var(ddof=1)),
            "ortho_dev": _gram_deviation(draws, scheme.spread),
            "ortho_tol": tol,
        }
    if scheme.family == "identity":
        expected = np.float32(scheme.spread) * np.eye(*shape, dtype=np.float32)
    else:
        expected = np.full(shape, scheme.mean, dtype=np.float32)
    return {"const_dev": float(np.abs(draws - expected).max())}


def _measure(spec: Any, shape: tuple[int, ...], min_samples: int, seed: int,
             label: str | None = None) -> dict[str, Any]:
    """One audit row before judging: what was drawn, the statistics and their p-values
    (``label`` names the row, by default the spec's label)."""
    parsed = parse(spec)
    fan_in, fan_out = keras_fans(shape) if len(shape) > 1 else (shape[0], shape[0])
    row = dict.fromkeys(COLUMNS, np.nan) | {
        "initializer": label or parsed.label, "shape": str(shape), "kind": _kind(shape),
        "fan_in": fan_in, "fan_out": fan_out, "intended": "", "reason": "", "best_fit": "",
        "_p": {},
    }  # fmt: skip
    try:
        scheme = intended_scheme(spec, class_declaration)
        check_shape_support(parsed, len(shape), where=parsed.label)
    except InitializerError as exc:
        return row | {"verdict": "skip", "failed": "", "reason": str(exc)}
    n_draws = max(1, math.ceil(min_samples / math.prod(shape)))
    row |= {"intended": scheme.text if scheme else "(undeclared)", "n_draws": n_draws}
    draws = _draw(parsed, shape, n_draws, seed)
    row["n"] = draws.size
    if scheme is None:
        measured_var = float(draws.astype(np.float64).var(ddof=1))
        fit = best_fit(measured_var, shape)
        reason = (
            "no intended scheme: declare intended_scheme() on the class or "
            f"'intended' in the spec; measured variance matches {fit}"
        )
        return row | {
            "measured_var": measured_var,
            "mean": float(draws.mean()),
            "best_fit": fit,
            "verdict": "skip",
            "failed": "",
            "reason": reason,
        }
    stats = _random_stats if scheme.is_random else _exact_stats
    return row | stats(draws, scheme, shape)


_REASONS = {
    "mean": "mean {mean:.3g} is off {target_mean:g} by more than {mean_tol:.2g}",
    "var": "variance {measured_var:.3g} is {var_ratio:.3g}x the target {target_var:.3g} "
    "(rel. err {var_rel_err:+.3f} beyond +-{var_tol:.3f})",
    "ks": "KS p={ks_p:.2g} < {check_alpha:.2g}: draws do not follow {intended}",
    "atoms": "mass on the clip bounds {_atom_frac:.4f}, expected {_atom_mass:.4f}",
    "ortho": "max|Gram - gain^2 I| = {ortho_dev:.2g} > {ortho_tol:.2g}",
    "exact": "max|W - expected| = {const_dev:.2g}, expected exactly 0",
}


def _judge(row: dict[str, Any], check_alpha: float) -> dict[str, Any]:
    """Tolerances at the shared level ``check_alpha``, the verdict and its reasons."""
    if row["verdict"] == "skip":
        return {k: row[k] for k in COLUMNS}
    z = float(scipy.stats.norm.isf(check_alpha / 2))
    failed = [name for name, p in row["_p"].items() if p < check_alpha]
    if "_se" in row:
        mean_se, var_se = row["_se"]
        row |= {"mean_tol": z * mean_se, "var_tol": z * var_se, "check_alpha": check_alpha, "z": z}
    failed += ["ortho"] * bool(row["ortho_dev"] > row["ortho_tol"])
    failed += ["exact"] * bool(row["const_dev"] > 0)
    values = row | {"var_ratio": row["var_rel_err"] + 1}
    reason = "; ".join(_REASONS[name].format(**values) for name in failed)
    return {k: row[k] for k in COLUMNS} | {
        "verdict": "FAIL" if failed else "pass",
        "failed": ",".join(failed),
        "reason": reason,
    }


def audit(
    specs: list,
    shapes: list[tuple[int, ...]] | None = None,
    min_samples: int = MIN_SAMPLES,
    alpha: float = ALPHA,
    seed: int = 0,
) -> pd.DataFrame:
    """Audit every spec on every kernel shape, and the biases' spec of a spec that has
    one on :data:`BIAS_SHAPES` (rows ``<label>/bias``); one row per (initializer, shape).

    ``min_samples``: each row pools ``ceil(min_samples / size)`` draws (seeds
    ``seed, seed + 1, ...``). ``alpha``: family-wise false-alarm probability of the
    whole table (Bonferroni over all statistical checks). Columns: :data:`COLUMNS`;
    ``verdict`` is ``pass``, ``FAIL`` or ``skip`` (data-dependent spec, shape not
    supported, or no intended scheme), ``failed`` names the failed checks (``mean``,
    ``var``, ``ks``, ``atoms``, ``ortho``, ``exact``) and ``reason`` says why when not
    ``pass``.
    """
    shapes = [tuple(s) for s in (shapes or DEFAULT_SHAPES)]
    rows = [_measure(spec, shape, min_samples, seed) for spec in specs for shape in shapes]
    biased = [parse(spec) for spec in specs if parse(spec).bias is not None]
    rows += [_measure(spec.bias, shape, min_samples, seed, label=f"{spec.label}/bias")
             for spec in biased for shape in BIAS_SHAPES]
    n_checks = sum(len(row["_p"]) for row in rows)
    check_alpha = alpha / max(1, n_checks)
    return pd.DataFrame([_judge(row, check_alpha) for row in rows], columns=COLUMNS)
