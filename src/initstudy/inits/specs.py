"""Initializer specs: the one place where a config entry becomes a Keras initializer.

A *spec* is what the config says about an initializer:

- a Keras name: ``he_normal``;
- a name with arguments: ``{name: random_normal, stddev: 0.01}``;
- a custom class by import path: ``{name: "initstudy.inits.custom:FixedUniform", limit: 0.05}``
  (the class is a ``keras.initializers.Initializer``; importing it runs user code,
  so configs must be trusted);
- optionally ``label: my_label`` to name it in paths and figures, and
  ``intended: "variance_scaling scale=2 mode=fan_in"`` to declare, for the audit,
  the scheme a custom class means to draw (metadata: not passed to the class).

Every spec normalises to an :class:`InitSpec` with a stable, path-safe ``label``
(``random_normal-stddev0.01``), and :func:`build` turns it into a Keras initializer
seeded for one layer of one run. Data-dependent schemes (LSUV) are declared in
``DATA_DEPENDENT`` and resolved to their data-free ``base`` here; the trainer
applies the data-dependent step after the model is built.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from typing import Any

import keras

#: What ``keras.initializers`` exports that draws no network's weights: STFT fills a
#: spectrogram layer's kernel with a fixed Fourier basis.
NOT_WEIGHT_SCHEMES = {"stft"}


def _keras_builtins() -> dict[str, type[keras.initializers.Initializer]]:
    """Keras' built-in initializers by the snake_case names ``keras.initializers``
    exports for them (``he_normal`` -> ``HeNormal``, as ``keras.initializers.get``
    resolves them), less :data:`NOT_WEIGHT_SCHEMES`."""
    return {name: obj for name, obj in vars(keras.initializers).items()
            if name.islower() and isinstance(obj, type) and issubclass(obj, keras.initializers.Initializer)
            and name not in NOT_WEIGHT_SCHEMES}


#: The config's built-in names -> classes. Identity only fits 2-D kernels (Dense);
#: :func:`check_shape_support` says so before any job runs.
KERAS_BUILTINS = _keras_builtins()

#: Data-dependent schemes: name -> (defaults of their own arguments). Their
#: ``base`` spec draws the weights; the trainer then rescales them on data.
DATA_DEPENDENT: dict[str, dict[str, Any]] = {
    "lsuv": {"base": "orthogonal", "tol": 0.1, "max_iter": 10},
}

#: Keys of a spec that describe it rather than configure the class.
METADATA = ("name", "label", "intended")
#: Arguments that belong to the run, not to the spec.
_RESERVED = {"seed", "input_axes", "output_axes"}
_LABEL_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class InitializerError(ValueError):
    """A spec that cannot become an initializer; the message names what and why."""


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


def import_class(path: str, where: str = "initializer") -> type:
    """Import ``package.module:Class`` (runs that module's code: trusted configs only)."""
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitializerError(
            f"{where}: cannot import module {module_name!r} of custom initializer "
            f"{path!r} ({exc}); expected an importable 'package.module:Class'"
        ) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, keras.initializers.Initializer)):
        raise InitializerError(
            f"{where}: {path!r} is not a keras.initializers.Initializer subclass "
            f"(module {module_name!r} has no such class)"
        )
    return cls


def _initializer_class(name: str, where: str) -> type | None:
    if name in KERAS_BUILTINS:
        return KERAS_BUILTINS[name]
    if ":" in name:
        return import_class(name, where)
    if name in DATA_DEPENDENT:
        return None
    known = ", ".join(sorted([*KERAS_BUILTINS, *DATA_DEPENDENT]))
    raise InitializerError(
        f"{where}: unknown initializer {name!r}; expected one of {known}, "
        "or a custom class as 'package.module:Class'"
    )


def _check_arguments(name: str, cls: type | None, kwargs: dict[str, Any], where: str) -> None:
    if cls is None:
        allowed = set(DATA_DEPENDENT[name])
    else:
        params = inspect.signature(cls.__init__).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()) and len(params) <= 3:
            allowed = set()  # Zeros/Ones take no arguments of their own
        else:
            allowed = {p for p in params if p != "self"} - _RESERVED
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "no arguments"
        raise InitializerError(
            f"{where}: {name} got unknown argument(s) {', '.join(map(repr, unknown))}; "
            f"expected {expected}"
        )


def parse(spec: Any, where: str = "initializer") -> InitSpec:
    """Normalise a config entry to an :class:`InitSpec`, or raise :class:`InitializerError`."""
    if isinstance(spec, InitSpec):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise InitializerError(
            f"{where}: {spec!r} is not an initializer spec; expected a name "
            "or a mapping with a 'name' key"
        )
    kwargs = {k: v for k, v in spec.items() if k not in METADATA}
    name = spec["name"]
    if "seed" in kwargs:
        raise InitializerError(
            f"{where}: 'seed' is derived from each run's fields; remove it from the spec"
        )
    cls = _initializer_class(name, where)
    _check_arguments(name, cls, kwargs, where)
    label = spec.get("label") or default_label(name, kwargs)
    if name in DATA_DEPENDENT:
        kwargs = {**DATA_DEPENDENT[name], **kwargs}
        parse(kwargs["base"], where=f"{where}.base")
    if not isinstance(label, str) or not _LABEL_OK.match(label):
        raise InitializerError(
            f"{where}: label {label!r} must be letters, digits, '_', '.', '+' or '-'"
        )
    return InitSpec(name=name, kwargs=tuple(sorted(kwargs.items())), label=label,
                    intended=spec.get("intended"))


def accepts_seed(cls: type) -> bool:
    return "seed" in inspect.signature(cls.__init__).parameters


def build(spec: Any, seed: int) -> keras.initializers.Initializer:
    """A Keras initializer for one layer: the spec's class, its arguments, and ``seed``.

    A data-dependent spec builds its ``base``. The same ``(spec, seed)`` always draws
    the same values for the same shape (Keras initializers with an integer seed are
    deterministic), which is what makes a packed member equal its solo run.
    """
    spec = parse(spec).base
    cls = _initializer_class(spec.name, spec.label)
    kwargs = spec.arguments
    if accepts_seed(cls):
        kwargs["seed"] = int(seed)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InitializerError(f"{spec.label}: {spec.name}({kwargs}) failed: {exc}") from None


def check_shape_support(spec: Any, kernel_ndim: int, where: str = "initializer") -> None:
    """Refuse specs that cannot draw a kernel of this rank (identity needs 2-D)."""
    spec = parse(spec, where).base
    if spec.name == "identity" and kernel_ndim != 2:
        raise InitializerError(
            f"{where}: identity only fits 2-D (Dense) kernels, not {kernel_ndim}-D "
            "convolution kernels; use it with arch 'mlp' only"
        )
