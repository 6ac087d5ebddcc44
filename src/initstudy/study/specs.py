"""Initializer specs as the config states them, normalised without Keras.

A *spec* is what the config says about an initializer:

- a Keras name: ``he_normal``;
- a name with arguments: ``{name: random_normal, stddev: 0.01}``;
- a custom class by import path: ``{name: "initstudy.inits.custom:FixedUniform", limit: 0.05}``
  (a ``keras.initializers.Initializer``; importing it runs user code, so configs
  must be trusted);
- a data-dependent scheme (:data:`DATA_DEPENDENT`, LSUV) over a data-free ``base``;
- optionally ``label: my_label`` to name it in paths and figures, and
  ``intended: "variance_scaling scale=2 mode=fan_in"`` to declare, for the audit,
  the scheme a custom class means to draw (metadata: not passed to the class);
- optionally ``bias: SPEC``, the data-free initializer of the hidden layers' biases
  (zeros when absent; ``bias: zeros`` is the same spec). The weight variance can be
  stated directly, as mean-field papers do: ``{name: variance_scaling, scale: 1.76,
  mode: fan_in, distribution: untruncated_normal, bias: {name: random_normal,
  stddev: 0.2236}}`` draws Var(W) = 1.76 / fan_in and Var(b) = 0.05.

:func:`parse` normalises a spec to an :class:`InitSpec` with a stable, path-safe
``label`` (``random_normal-stddev0.01``) and checks everything that needs no Keras:
its shape, labels, a derived seed, and the name and arguments of a Keras built-in
(:mod:`initstudy.study.builtin_initializers`) or a data-dependent scheme, its
``base`` and ``bias`` included, so that a misspelled name or an out-of-range value
stops the workflow while it is parsed, not when a job starts after the cluster's
queue. Only a custom class waits for the job: importing it runs user code and
Keras, so :mod:`initstudy.inits.resolve` imports it and checks its arguments (and
builds every Keras initializer). The split keeps the workflow's parsing free of
Keras and TensorFlow (seconds per Snakemake call).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from initstudy.study import arguments
from initstudy.study.arguments import InitializerError, Integer, Real, Signature
from initstudy.study.builtin_initializers import BUILTINS

#: Data-dependent schemes: name -> their own arguments. Their ``base`` spec (data-free;
#: checked by :func:`parse` as a spec) draws the weights; the trainer then rescales
#: them on data until the variance is within ``tol`` of 1 or after ``max_iter`` tries.
DATA_DEPENDENT: dict[str, Signature] = {
    "lsuv": Signature(defaults={"base": "orthogonal", "tol": 0.1, "max_iter": 10},
                      kinds={"tol": Real(above=0), "max_iter": Integer(at_least=1)}),
}

#: Keys of a spec that describe it rather than configure the class.
METADATA = ("name", "label", "intended")
#: The key of the biases' spec (not an argument of the kernels' class either).
BIAS = "bias"
_LABEL_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclasses.dataclass(frozen=True)
class InitSpec:
    """A normalised initializer spec.

    ``name`` is a Keras built-in, a data-dependent scheme, or ``module:Class``;
    ``kwargs`` are its arguments (sorted, JSON-compatible); ``label`` names it in
    paths, tables and figures.
    """

    name: str
    kwargs: tuple[tuple[str, Any], ...]
    label: str
    intended: str | None = None
    #: The hidden biases' spec; None: zeros.
    bias: "InitSpec | None" = None

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.kwargs)

    @property
    def is_custom(self) -> bool:
        return ":" in self.name

    @property
    def is_data_dependent(self) -> bool:
        return self.name in DATA_DEPENDENT

    @property
    def base(self) -> "InitSpec":
        """The data-free spec that draws the weights (itself unless data-dependent)."""
        if not self.is_data_dependent:
            return self
        return parse(self.arguments["base"], where=f"{self.label}.base")

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, **self.arguments, "label": self.label}
        if self.intended is not None:
            out["intended"] = self.intended
        if self.bias is not None:
            out[BIAS] = self.bias.to_dict()
        return out

    def draws(self) -> dict[str, Any]:
        """What decides the values drawn: the name, the arguments and the biases' spec
        (whose own ``draws``), without the label or the intended scheme, which only
        describe them."""
        out = {"name": self.name, **self.arguments}
        if self.bias is not None:
            out[BIAS] = self.bias.draws()
        return out


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return parse(value).label
    return str(value)


def default_label(name: str, kwargs: dict[str, Any]) -> str:
    """``name-key1value1-key2value2`` with keys sorted; custom classes use their class name."""
    stem = name.split(":")[-1] if ":" in name else name
    parts = [stem] + [f"{k}{_format_value(v)}" for k, v in sorted(kwargs.items())]
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", "-".join(parts))


def parse(spec: Any, where: str = "initializer") -> InitSpec:
    """Normalise a config entry to an :class:`InitSpec`, or raise :class:`InitializerError`
    (for what can be told without Keras; :func:`initstudy.inits.resolve.check` the rest)."""
    if isinstance(spec, InitSpec):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise InitializerError(
            f"{where}: {spec!r} is not an initializer spec; expected a name "
            "or a mapping with a 'name' key"
        )
    kwargs = {k: v for k, v in spec.items() if k not in (*METADATA, BIAS)}
    name = spec["name"]
    if "seed" in kwargs:
        raise InitializerError(
            f"{where}: 'seed' is derived from each run's fields; remove it from the spec"
        )
    signature = _signature(name, where)
    if signature is not None:
        arguments.check(name, signature, kwargs, where)
    if name in DATA_DEPENDENT:
        _parse_data_free(kwargs.get("base", signature.defaults["base"]), f"{where}.base",
                         drawing=f"the weights {name} rescales",
                         example=f"orthogonal (a 'bias' goes on the {name} spec itself)")
    bias = _parse_bias(spec[BIAS], f"{where}.{BIAS}") if spec.get(BIAS) is not None else None
    label = spec.get("label") or default_label(name, kwargs) + (f"-bias-{bias.label}" if bias else "")
    if name in DATA_DEPENDENT:
        kwargs = {**signature.defaults, **kwargs}
    if not isinstance(label, str) or not _LABEL_OK.match(label):
        raise InitializerError(
            f"{where}: label {label!r} must be letters, digits, '_', '.', '+' or '-'"
        )
    return InitSpec(name=name, kwargs=tuple(sorted(kwargs.items())), label=label,
                    intended=spec.get("intended"), bias=bias)


def _signature(name: str, where: str) -> Signature | None:
    """What a built-in or data-dependent scheme takes; None for a custom class, whose
    import and arguments wait for the job (:func:`initstudy.inits.resolve.check`)."""
    if ":" in name:
        return None
    known = {**BUILTINS, **DATA_DEPENDENT}
    if name not in known:
        raise InitializerError(
            f"{where}: unknown initializer {name!r}{arguments.did_you_mean(name, known)}; expected one of "
            f"{', '.join(sorted(known))}, or a custom class as 'package.module:Class'"
        )
    return known[name]


def _parse_data_free(spec: Any, where: str, drawing: str, example: str) -> InitSpec:
    """A spec inside a spec (a ``bias``, a ``base``): data-free, and without biases of
    its own, which the spec around it would ignore (that spec's ``bias`` draws them)."""
    parsed = parse(spec, where)
    if parsed.is_data_dependent or parsed.bias is not None:
        raise InitializerError(f"{where}: {parsed.name!r} cannot draw {drawing}; expected a data-free "
                               f"initializer without a 'bias' of its own, e.g. {example}")
    return parsed


def _parse_bias(spec: Any, where: str) -> InitSpec | None:
    """The biases' spec; zeros (the default) is None."""
    bias = _parse_data_free(spec, where, drawing="biases", example="{name: random_normal, stddev: 0.2}")
    return None if bias.name == "zeros" else bias


def check_shape_support(spec: Any, kernel_ndim: int, where: str = "initializer") -> None:
    """Refuse specs that cannot draw a kernel of this rank (identity needs 2-D)."""
    spec = parse(spec, where).base
    if spec.name == "identity" and kernel_ndim != 2:
        raise InitializerError(
            f"{where}: identity only fits 2-D (Dense) kernels, not {kernel_ndim}-D "
            "convolution kernels; use it with arch 'mlp' only"
        )
