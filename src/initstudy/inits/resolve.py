"""Initializer specs resolved by Keras: the one place where a spec becomes a Keras initializer.

:func:`check` tells whether a spec (:mod:`initstudy.study.specs`) names a Keras
built-in (resolved through the names ``keras.initializers`` exports) or an
importable ``keras.initializers.Initializer`` subclass, and whether that class takes
the spec's arguments; :func:`build` makes the initializer seeded for one layer of
one run; :func:`check_config` checks every spec of a config before anything trains.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import keras

from initstudy.study.config import ConfigError
from initstudy.study.specs import DATA_DEPENDENT, InitializerError, InitSpec, parse

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

#: Arguments that belong to the run, not to the spec.
_RESERVED = {"seed", "input_axes", "output_axes"}


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


def check(spec: Any, where: str = "initializer") -> InitSpec:
    """:func:`~initstudy.study.specs.parse` the spec, then check that Keras can build
    it (its ``base`` too, for a data-dependent scheme); raise :class:`InitializerError`."""
    spec = parse(spec, where)
    if spec.is_data_dependent:
        check(spec.arguments["base"], where=f"{where}.base")
    else:
        _check_arguments(spec.name, _initializer_class(spec.name, where), spec.arguments, where)
    if spec.bias is not None:
        check(spec.bias, where=f"{where}.bias")
    return spec


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


def build_bias(spec: Any, seed: int) -> keras.initializers.Initializer:
    """The initializer of one hidden layer's biases: the spec's ``bias`` (zeros when it
    has none), with ``seed``."""
    bias = parse(spec).bias
    return build(bias, seed) if bias is not None else keras.initializers.Zeros()


def check_config(config: dict[str, Any]) -> None:
    """Check every initializer spec of a config (:func:`initstudy.study.config.check`
    passed) with Keras: ``audit.extra_initializers`` and the grid's. Raises
    :class:`~initstudy.study.config.ConfigError` with the same one-line message."""
    entries = [(f"audit.extra_initializers[{i}]", entry)
               for i, entry in enumerate(config.get("audit", {}).get("extra_initializers", []))]
    entries += [(f"grid.initializers[{i}]", entry) for i, entry in enumerate(config["grid"]["initializers"])]
    for where, entry in entries:
        try:
            check(entry, where)
        except InitializerError as exc:
            raise ConfigError(f"invalid config: {exc}") from None
