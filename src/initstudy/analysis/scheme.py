"""What an initializer spec intends to draw (its *scheme*), without Keras or TensorFlow.

A :class:`Scheme` states, for any kernel shape, the distribution an initializer
means to draw: i.i.d. ``uniform``, ``normal``, ``truncated_normal`` (re-drawn beyond
``CUT`` sigma, Keras' way) or ``clipped_normal`` (set to the bound) with a fixed
spread or with variance scaling ``Var(W) = scale / max(1, n)``, ``n`` = fan_in,
fan_out or their mean (fans as Keras computes them,
:func:`~initstudy.study.fans.keras_fans`); or ``orthogonal``, ``constant``,
``identity``. The audit (:mod:`initstudy.analysis.sampling`) tests draws against it;
the mean-field theory (:mod:`initstudy.analysis.theory`) reads ``sigma_w2 = fan_in *
Var(W)`` from it.

:func:`intended_scheme` finds a spec's scheme in this order: an ``intended`` key of
the spec (``"variance_scaling scale=2 mode=fan_in distribution=normal"``, any Keras
built-in spec or ``clipped_normal stddev=S``); for a custom class, what the class
declares (its ``intended_scheme()`` method, see :mod:`initstudy.inits.custom`),
which the caller reads with Keras and passes in (``class_declaration``); for a
Keras built-in, its name and arguments, with Keras' defaults
(:data:`initstudy.study.builtin_initializers.BUILTINS`) and Keras' meaning of each
name (:func:`builtin_scheme`). As in Keras, ``distribution=normal`` of
``variance_scaling`` means the truncated normal. The ``intended`` key is spec
metadata (:attr:`~initstudy.study.specs.InitSpec.intended`): the trainer ignores
it, the audit reads it.

The audit's two design constants live here too, Keras-free, so that the paper can
cite them: :data:`ALPHA` and :data:`MIN_SAMPLES`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import scipy.stats
import yaml

from initstudy.study.builtin_initializers import BUILTINS
from initstudy.study.fans import CUT, keras_fans
from initstudy.study.specs import InitializerError, InitSpec, parse

#: Family-wise false-alarm probability of one audit table (Bonferroni over its checks).
ALPHA = 0.01
#: Each audit row pools enough draws of its shape for at least this many values.
MIN_SAMPLES = 50_000

RANDOM_FAMILIES = ("uniform", "normal", "truncated_normal", "clipped_normal")

#: Keras' VarianceScaling ``distribution`` -> scheme family (``normal`` is Keras'
#: alias of ``truncated_normal``).
_KERAS_DISTRIBUTION = {
    "uniform": "uniform",
    "truncated_normal": "truncated_normal",
    "normal": "truncated_normal",
    "untruncated_normal": "normal",
}
#: Keras' named variance-scaling schemes -> ``(scale, mode, distribution)``: He et al.
#: (2015), Glorot & Bengio (2010), LeCun et al. (1998).
_NAMED_VARIANCE_SCALING = {
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
}


def interior_law(family: str, mean: float, spread: float):
    """The scipy law of a random family's continuous part.

    ``spread`` is the normal's sigma (before cutting at ``CUT`` sigma) or the
    uniform's half-width. The clipped normal's interior is the truncated normal;
    its remaining mass sits on the two bounds (:func:`atom_mass`).
    """
    if family == "normal":
        return scipy.stats.norm(loc=mean, scale=spread)
    if family == "uniform":
        return scipy.stats.uniform(loc=mean - spread, scale=2 * spread)
    return scipy.stats.truncnorm(-CUT, CUT, loc=mean, scale=spread)


def atom_mass(family: str) -> float:
    """Probability on the bounds ``mean +- CUT sigma``: ``2 (1 - Phi(CUT))`` when clipped."""
    return 2 * float(scipy.stats.norm.sf(CUT)) if family == "clipped_normal" else 0.0


@functools.cache
def unit_moments(family: str) -> tuple[float, float]:
    """``(variance, kurtosis mu4 / sigma**4)`` of a random family at mean 0, spread 1."""
    interior, mass = interior_law(family, 0.0, 1.0), atom_mass(family)
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
    Keras computes them, :func:`~initstudy.study.fans.keras_fans`), the
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
            return self.spread**2 * unit_moments(self.family)[0]
        if self.family == "orthogonal":
            return self.spread**2 / max(math.prod(shape[:-1]), shape[-1])
        raise ValueError(f"{self.text}: the weights are not random, so no variance is intended")

    def spread_at(self, shape) -> float:
        """The family's width for this shape; under variance scaling, the one giving the
        intended variance (Keras: normal sigma = sqrt(v), uniform half-width = sqrt(3 v),
        truncated normal sigma = sqrt(v) / 0.8796)."""
        if self.scale is None:
            return self.spread
        return math.sqrt(self.variance(shape) / unit_moments(self.family)[0])

    def law(self, shape):
        """The scipy law of the continuous part of the draws for this shape."""
        return interior_law(self.family, self.mean, self.spread_at(shape))


def builtin_scheme(spec: InitSpec) -> Scheme:
    """The scheme of a Keras built-in spec, read from its name and arguments (Keras'
    defaults for those it leaves out), as Keras' class of that name draws:

    - ``he_*``, ``glorot_*``, ``lecun_*``: variance scaling with scale 2, 1, 1 over
      fan_in, fan_avg, fan_in; ``*_normal`` is the truncated normal;
    - ``variance_scaling``: its ``scale``, ``mode`` and ``distribution``;
    - ``random_normal``, ``truncated_normal``: ``mean`` and sigma ``stddev``;
      ``random_uniform``: centre and half-width of ``[minval, maxval]``;
    - ``orthogonal``, ``identity``: ``gain``; ``zeros``, ``ones``, ``constant``: the value.

    ``tests/test_audit.py`` holds this against the attributes of Keras' instances.
    """
    name, args = spec.name, {**BUILTINS[spec.name].defaults, **spec.arguments}
    if name == "variance_scaling":
        scale, mode, distribution = args["scale"], args["mode"], args["distribution"]
        return Scheme(_KERAS_DISTRIBUTION[distribution], scale=float(scale), mode=mode)
    if name in _NAMED_VARIANCE_SCALING:
        scale, mode, distribution = _NAMED_VARIANCE_SCALING[name]
        return Scheme(_KERAS_DISTRIBUTION[distribution], scale=scale, mode=mode)
    if name in ("random_normal", "truncated_normal"):
        family = "normal" if name == "random_normal" else "truncated_normal"
        return Scheme(family, mean=float(args["mean"]), spread=float(args["stddev"]))
    if name == "random_uniform":
        low, high = float(args["minval"]), float(args["maxval"])
        return Scheme("uniform", mean=(low + high) / 2, spread=(high - low) / 2)
    if name in ("orthogonal", "identity"):
        return Scheme(name, spread=float(args["gain"]))
    if name == "constant":
        return Scheme("constant", mean=float(args["value"]))
    if name in ("zeros", "ones"):
        return Scheme("constant", mean=0.0 if name == "zeros" else 1.0)
    raise InitializerError(f"{spec.label}: no scheme known for the Keras built-in {name!r}")


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
    """The scheme a declaration names: a Keras built-in spec, or ``clipped_normal``
    (``stddev``, ``mean``)."""
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
    return builtin_scheme(parsed)


def _clipped_normal(stddev: float, mean: float = 0.0) -> Scheme:
    return Scheme("clipped_normal", mean=float(mean), spread=float(stddev))


def intended_scheme(
    spec: Any, class_declaration: Callable[[InitSpec], Any] | None = None
) -> Scheme | None:
    """The scheme a spec intends (None when nothing declares one); see the module doc.

    ``class_declaration(spec)`` reads what a custom class declares (a declaration as
    :func:`scheme_of_declared` takes it, or None); reading it imports the class, and
    with it Keras, so the caller passes it in:
    :func:`initstudy.analysis.sampling.class_declaration`. Without it, the scheme of a
    custom class that its spec does not declare is not known here: InitializerError.
    A data-dependent spec intends no scheme ex ante: InitializerError too.
    """
    parsed = parse(spec)
    if parsed.is_data_dependent:
        raise InitializerError(
            f"{parsed.label}: data-dependent ({parsed.name}); its weights are rescaled on "
            f"data after drawing with base {parsed.base.label!r}"
        )
    if parsed.intended is not None:
        return scheme_of_declared(parsed.intended)
    if not parsed.is_custom:
        return builtin_scheme(parsed)
    if class_declaration is None:
        raise InitializerError(
            f"{parsed.label}: custom class {parsed.name}; what it declares is read from the "
            "class (with Keras): pass class_declaration"
        )
    declared = class_declaration(parsed)
    return None if declared is None else scheme_of_declared(declared)
