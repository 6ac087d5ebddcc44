"""Initializer specs resolved by Keras: the one place where a spec becomes a Keras initializer.

:func:`~initstudy.study.specs.parse` has already checked, without Keras, the name
and arguments of every built-in and data-dependent spec (against
:mod:`initstudy.study.builtin_initializers`). What waits for Keras is a custom
class: :func:`check` imports ``package.module:Class``, checks that it is a
``keras.initializers.Initializer`` that takes the spec's arguments, and checks
their values against the kinds the class declares in ``argument_ranges`` (a
mapping argument -> :class:`~initstudy.study.arguments.Real`, ``Integer`` or
``Choice``; see :mod:`initstudy.inits.custom`). :func:`build` makes the
initializer seeded for one layer of one run; :func:`check_config` checks every
spec of a config before anything trains.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import keras

from initstudy.study import arguments
from initstudy.study.builtin_initializers import BUILTINS, RESERVED
from initstudy.study.config import ConfigError
from initstudy.study.specs import InitializerError, InitSpec, parse

#: The config's built-in names -> Keras' classes, as ``keras.initializers`` exports them
#: (``he_normal`` -> ``HeNormal``). Identity only fits 2-D kernels (Dense):
#: :func:`~initstudy.study.specs.check_shape_support` says so before any job runs.
KERAS_BUILTINS: dict[str, type[keras.initializers.Initializer]] = {
    name: getattr(keras.initializers, name) for name in BUILTINS}


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


def _initializer_class(name: str, where: str) -> type:
    """The class of a data-free spec: a Keras built-in or an imported custom class."""
    return import_class(name, where) if ":" in name else KERAS_BUILTINS[name]


def constructor_arguments(cls: type) -> dict[str, Any]:
    """The arguments a spec may give the class: its constructor's named ones, with their
    defaults, less :data:`~initstudy.study.builtin_initializers.RESERVED`."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params
            if p.name != "self" and p.name not in RESERVED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _check_custom_arguments(spec: InitSpec, cls: type, where: str) -> None:
    """The custom class's constructor arguments, and the kinds it declares in ``argument_ranges``."""
    signature = arguments.Signature(defaults=constructor_arguments(cls), kinds=getattr(cls, "argument_ranges", {}))
    arguments.check(spec.name, signature, spec.arguments, where)


def check(spec: Any, where: str = "initializer") -> InitSpec:
    """:func:`~initstudy.study.specs.parse` the spec, then import each custom class in it
    (its ``base`` and ``bias`` too) and check its arguments; raise :class:`InitializerError`."""
    spec = parse(spec, where)
    if spec.is_data_dependent:
        check(spec.arguments["base"], where=f"{where}.base")
    elif spec.is_custom:
        _check_custom_arguments(spec, import_class(spec.name, where), where)
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
