"""Audit initializers: do their draws follow the scheme they intend?

For each initializer spec and each representative kernel shape, the audit draws
weights (pooling several seeds when a shape is small, so that every row has at
least ``min_samples`` values) and tests them against the *intended scheme*:

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

The intended scheme (:class:`Scheme`) comes from, in this order: an ``intended``
key of the spec (``"variance_scaling scale=2 mode=fan_in distribution=normal"``,
any Keras built-in spec or ``clipped_normal stddev=S``); the class's
``intended_scheme()`` method (see :mod:`initstudy.inits.custom`); the
Keras class and configuration of a built-in. As in Keras, ``distribution=normal``
of ``variance_scaling`` means the truncated normal. Without a declaration the
audit reports the measured variance and the variance-scaling rule it matches best
(``best_fit``, also given for every variance-scaling row).

The ``intended`` key is spec metadata (:attr:`InitSpec.intended`): the trainer
ignores it, the audit reads it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.stats
import yaml

from initstudy.core.atomic import write_text
from initstudy.inits.custom import CUT, channels_first_fans, keras_fans
from initstudy.inits.resolve import build
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

RANDOM_FAMILIES = ("uniform", "normal", "truncated_normal", "clipped_normal")
#: Family-wise false-alarm probability of one audit table (Bonferroni over its checks).
ALPHA = 0.01
#: Each row pools enough draws of its shape for at least this many values.
MIN_SAMPLES = 50_000
#: The bias shape audited for a spec with a ``bias`` (one layer of 128 units); as in
#: Keras, a 1-D shape's fans are its length.
BIAS_SHAPES: tuple[tuple[int, ...], ...] = ((128,),)

COLUMNS = [
    "initializer", "shape", "kind", "fan_in", "fan_out", "intended", "n", "n_draws",
    "target_mean", "mean", "mean_tol", "target_var", "measured_var", "var_rel_err",
    "var_tol", "ks_stat", "ks_p", "check_alpha", "z", "ortho_dev", "ortho_tol",
    "const_dev", "best_fit", "verdict", "failed", "reason",
]  # fmt: skip

#: Keras' VarianceScaling ``distribution`` -> scheme family.
_KERAS_DISTRIBUTION = {
    "uniform": "uniform",
    "truncated_normal": "truncated_normal",
    "untruncated_normal": "normal",
}


def _interior_law(family: str, mean: float, spread: float):
    """The scipy law of a random family's continuous part.

    ``spread`` is the normal's sigma (before cutting at ``CUT`` sigma) or the
    uniform's half-width. The clipped normal's interior is the truncated normal;
    its remaining mass sits on the two bounds (:func:`_atom_mass`).
    """
    if family == "normal":
        return scipy.stats.norm(loc=mean, scale=spread)
    if family == "uniform":
        return scipy.stats.uniform(loc=mean - spread, scale=2 * spread)
    return scipy.stats.truncnorm(-CUT, CUT, loc=mean, scale=spread)


def _atom_mass(family: str) -> float:
    """Probability on the bounds ``mean +- CUT sigma``: ``2 (1 - Phi(CUT))`` when clipped."""
    return 2 * float(scipy.stats.norm.sf(CUT)) if family == "clipped_normal" else 0.0


@functools.cache
def _unit_moments(family: str) -> tuple[float, float]:
    """``(variance, kurtosis mu4 / sigma**4)`` of a random family at mean 0, spread 1."""
    interior, mass = _interior_law(family, 0.0, 1.0), _atom_mass(family)
    m2 = (1 - mass) * interior.moment(2) + mass * CUT**2
    m4 = (1 - mass) * interior.moment(4) + mass * CUT**4
    return float(m2), float(m4 / m2**2)


@dataclasses.dataclass(frozen=True)
class Scheme:
    """What an initializer means to draw, for any kernel shape.

    ``family``: ``uniform``, ``normal``, ``truncated_normal`` (re-drawn beyond
    ``CUT`` sigma, Keras' way) or ``clipped_normal`` (set to the bound), all
    i.i.d.; or ``orthogonal``, ``constant``, ``identity``.
    ``mean``: centre of a random family; the value of ``constant``.
    ``spread``: a fixed width: the normal's sigma before cutting, the uniform's
    half-width; the gain of ``orthogonal`` and ``identity``.
    ``scale``, ``mode``: variance scaling instead of a fixed spread:
    ``Var(W) = scale / max(1, n)``, ``n`` = fan_in, fan_out or their mean (fans as
    Keras computes them, :func:`~initstudy.inits.custom.keras_fans`), the
    spread chosen so that the family has that variance (Keras' recipe).
    """

    family: str
    mean: float = 0.0
    spread: float | None = None
    scale: float | None = None
    mode: str | None = None

    @property
    def is_random(self) -> bool:
        return self.family in RANDOM_FAMILIES

    @property
    def text(self) -> str:
        if self.family == "constant":
            return f"constant {self.mean:g}"
        if self.family in ("orthogonal", "identity"):
            return f"{self.family} gain={self.spread:g}"
        if self.scale is not None:
            return f"{self.family} Var={self.scale:g}/{self.mode}"
        width = "halfwidth" if self.family == "uniform" else "sigma"
        centre = f" mean={self.mean:g}" if self.mean else ""
        return f"{self.family}{centre} {width}={self.spread:g}"

    def variance(self, shape) -> float:
        """The intended ``Var(W)`` for this kernel shape.

        Variance scaling: ``scale / max(1, n)``. Fixed spread: the family's variance
        (``spread**2`` times 1, 1/3, 0.7737 or 0.9205 for normal, uniform, truncated,
        clipped). Orthogonal: the mean square ``gain**2 / max(rows, cols)`` of a
        ``(prod(shape[:-1]), shape[-1])`` matrix with orthonormal rows or columns.
        """
        if self.is_random and self.scale is not None:
            fan_in, fan_out = keras_fans(shape)
            n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
            return self.scale / max(1.0, n[self.mode])
        if self.is_random:
            return self.spread**2 * _unit_moments(self.family)[0]
        if self.family == "orthogonal":
            return self.spread**2 / max(math.prod(shape[:-1]), shape[-1])
        raise ValueError(f"{self.text}: the weights are not random, so no variance is intended")

    def spread_at(self, shape) -> float:
        """The family's width for this shape; under variance scaling, the one giving the
        intended variance (Keras: normal sigma = sqrt(v), uniform half-width = sqrt(3 v),
        truncated normal sigma = sqrt(v) / 0.8796)."""
        if self.scale is None:
            return self.spread
        return math.sqrt(self.variance(shape) / _unit_moments(self.family)[0])

    def law(self, shape):
        """The scipy law of the continuous part of the draws for this shape."""
        return _interior_law(self.family, self.mean, self.spread_at(shape))


def _clipped_normal(stddev: float, mean: float = 0.0) -> Scheme:
    return Scheme("clipped_normal", mean=float(mean), spread=float(stddev))


def _declared_spec(declared: Any) -> dict[str, Any]:
    """``"name key=value ..."`` (values read as YAML scalars) or a mapping -> a mapping."""
    if not isinstance(declared, str):
        return dict(declared)
    name, *pairs = declared.split()
    spec: dict[str, Any] = {"name": name}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InitializerError(f"intended {declared!r}: expected key=value, got {pair!r}")
        spec[key] = yaml.safe_load(value)
    return spec


def scheme_of_declared(declared: Any) -> Scheme:
    """The scheme a declaration names: a Keras built-in spec, or ``clipped_normal``."""
    spec = _declared_spec(declared)
    if spec["name"] == "clipped_normal":
        arguments = {k: v for k, v in spec.items() if k != "name"}
        try:
            return _clipped_normal(**arguments)
        except TypeError as exc:
            raise InitializerError(f"intended {declared!r}: {exc}") from None
    parsed = parse(spec, where=f"intended {declared!r}")
    if parsed.is_custom or parsed.is_data_dependent:
        raise InitializerError(
            f"intended {declared!r}: name a Keras built-in or clipped_normal, not {parsed.name}"
        )
    return _scheme_of_instance(build(parsed, seed=0))


def _scheme_of_instance(init: keras.initializers.Initializer) -> Scheme | None:
    """The scheme a built initializer declares, or its Keras class implies (None: unknown)."""
    declare = getattr(init, "intended_scheme", None)
    if callable(declare):
        return scheme_of_declared(declare())
    inits = keras.initializers
    if isinstance(init, inits.VarianceScaling):
        family = _KERAS_DISTRIBUTION[init.distribution]
        return Scheme(family, scale=float(init.scale), mode=init.mode)
    if isinstance(init, inits.RandomNormal):
        return Scheme("normal", mean=float(init.mean), spread=float(init.stddev))
    if isinstance(init, inits.TruncatedNormal):
        return Scheme("truncated_normal", mean=float(init.mean), spread=float(init.stddev))
    if isinstance(init, inits.RandomUniform):
        low, high = float(init.minval), float(init.maxval)
        return Scheme("uniform", mean=(low + high) / 2, spread=(high - low) / 2)
    if isinstance(init, (inits.Orthogonal, inits.Identity)):
        family = "orthogonal" if isinstance(init, inits.Orthogonal) else "identity"
        return Scheme(family, spread=float(init.gain))
    if isinstance(init, inits.Zeros):
        return Scheme("constant", mean=0.0)
    if isinstance(init, inits.Ones):
        return Scheme("constant", mean=1.0)
    if isinstance(init, inits.Constant):
        return Scheme("constant", mean=float(init.value))
    return None


def intended_scheme(spec: Any) -> Scheme | None:
    """The scheme a spec intends (None when nothing declares one); see the module doc."""
    parsed = parse(spec)
    declared = parsed.intended
    if parsed.is_data_dependent:
        raise InitializerError(
            f"{parsed.label}: data-dependent ({parsed.name}); its weights are rescaled on "
            f"data after drawing with base {parsed.base.label!r}"
        )
    if declared is not None:
        return scheme_of_declared(declared)
    return _scheme_of_instance(build(parsed, seed=0))


def best_fit(measured_var: float, shape) -> str:
    """The variance-scaling rule ``scale / n`` closest (in log ratio) to a measured variance.

    Candidates: scale 1 or 2 over fan_in, fan_out, fan_avg, with fans computed the
    Keras way and, for convolution kernels, as if channels-first
    (:func:`~initstudy.inits.custom.channels_first_fans`).
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
    _, kurtosis = _unit_moments(scheme.family)
    law, mass = scheme.law(shape), _atom_mass(scheme.family)
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
        scheme = intended_scheme(spec)
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


def audited_specs(config: dict[str, Any]) -> list:
    """The grid's initializers, then ``audit.extra_initializers`` whose labels are new.

    The extras (by default the examples of :mod:`initstudy.inits.custom`) are
    audited whatever the grid trains, so the table always shows a known bug caught.
    """
    specs = list(config["grid"]["initializers"])
    labels = {parse(spec).label for spec in specs}
    for spec in config.get("audit", {}).get("extra_initializers", []):
        if parse(spec, where="audit.extra_initializers").label not in labels:
            specs.append(spec)
            labels.add(parse(spec).label)
    return specs


def main(config_path: str | Path, out_csv: str | Path) -> pd.DataFrame:
    """Audit the config's initializers (:func:`audited_specs`); write the CSV atomically."""
    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    try:
        specs = audited_specs(config)
    except (KeyError, TypeError):
        raise InitializerError(f"{config_path}: no grid.initializers list to audit") from None
    df = audit(specs)
    write_text(out_csv, df.to_csv(index=False))
    return df
