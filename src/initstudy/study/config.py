"""Study configuration: schema validation, defaults, and the checks a schema cannot express.

``check(config)`` is called by the Snakefile before any job is planned and by every
CLI verb that reads a config. It raises :class:`ConfigError` whose message names the
key, the bad value and what was expected; nothing is trained on a bad config.

Why jsonschema directly and not ``snakemake.utils.validate``: Snakemake 9 validates
with a draft 2020-12 validator and prints a warning that the schema "may not be
validated correctly" for a draft-07 schema; its errors also dump the whole sub-schema.
We declare draft-07, validate with ``jsonschema.Draft7Validator`` extended to fill
defaults (the recipe from jsonschema's FAQ that Snakemake itself uses), and report
the single best-matching error in one line.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from initstudy.study import specs as initializers

#: Package data, so an installed initstudy validates configs outside a checkout.
SCHEMA = resources.files("initstudy").joinpath("schemas/config.schema.yaml")


class ConfigError(ValueError):
    """A config that must not be run; the message names the key, the value, what was expected."""


@functools.cache
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def _with_defaults(validator_class):
    """A validator class that also fills ``default`` values (deep copies, never shared)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, prop in properties.items():
                if "default" in prop:
                    instance.setdefault(name, copy.deepcopy(prop["default"]))
        yield from validate_properties(validator, properties, instance, subschema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def key_path(path) -> str:
    """``['grid', 'depths', 2]`` -> ``grid.depths[2]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _reads_as_number(value: Any) -> bool:
    """Whether ``value`` is a string Python reads as a number (YAML 1.1 reads ``3e-4`` as text)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _describe(error: jsonschema.ValidationError) -> str:
    where = key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected keys: {', '.join(allowed)}"
    if error.validator == "uniqueItems":
        dupes = sorted({repr(v) for v in error.instance if error.instance.count(v) > 1})
        return f"{where}: duplicate value(s) {', '.join(dupes)}; each entry must be unique"
    if error.validator == "type" and "number" in error.validator_value and _reads_as_number(error.instance):
        return (f"{where}: {error.instance!r} is text, not a number (YAML reads an exponent without a "
                "decimal point as text); expected a number, e.g. 3.0e-4 or 0.0003")
    if error.validator == "oneOf" and key_path(error.absolute_path).startswith("grid.initializers"):
        return (f"{where}: {error.instance!r} is not an initializer spec; expected a name "
                "or a mapping with a 'name' key (and an optional path-safe 'label')")
    return f"{where}: {error.message}"


def check_schema(config: dict[str, Any]) -> dict[str, Any]:
    """Validate against the schema and fill defaults in place; raise :class:`ConfigError`."""
    validator = _with_defaults(jsonschema.Draft7Validator)(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(f"invalid config: {_describe(error)}")
    return config


def check_semantics(config: dict[str, Any]) -> None:
    """Checks beyond the schema that need no Keras: initializer specs are well formed,
    with known names and arguments in range (:func:`initstudy.study.specs.parse`),
    labels are unique, identity fits, learning rates are given only for the grid's
    optimizers and widths only with an mlp, selection seeds only with rates to select
    among. Custom classes are imported and their
    arguments checked by :func:`initstudy.inits.resolve.check_config`, when a job starts."""
    for i, entry in enumerate(config.get("audit", {}).get("extra_initializers", [])):
        try:
            initializers.parse(entry, where=f"audit.extra_initializers[{i}]")
        except initializers.InitializerError as exc:
            raise ConfigError(f"invalid config: {exc}") from None
    grid = config["grid"]
    labels: dict[str, int] = {}
    for i, entry in enumerate(grid["initializers"]):
        where = f"grid.initializers[{i}]"
        try:
            spec = initializers.parse(entry, where=where)
            if "cnn" in grid["architectures"]:
                initializers.check_shape_support(spec, kernel_ndim=4, where=where)
        except initializers.InitializerError as exc:
            raise ConfigError(f"invalid config: {exc}") from None
        if spec.label in labels:
            raise ConfigError(
                f"invalid config: {where}: label {spec.label!r} repeats grid.initializers"
                f"[{labels[spec.label]}]; give one of them a distinct 'label'"
            )
        labels[spec.label] = i
    for optimizer in grid.get("learning_rates", {}):
        if optimizer not in grid["optimizers"]:
            raise ConfigError(
                f"invalid config: grid.learning_rates.{optimizer}: {optimizer!r} is not in grid.optimizers "
                f"{grid['optimizers']}; expected rates only for optimizers of the grid"
            )
    if "widths" in grid and "mlp" not in grid["architectures"]:
        raise ConfigError(
            f"invalid config: grid.widths: {grid['widths']} sets the units of mlp layers, but grid.architectures "
            f"{grid['architectures']} has no mlp; expected no grid.widths (cnn layers are training.filters wide)"
        )
    selection = config.get("tuning", {}).get("selection_seeds")
    if selection is not None and not any(len(rates) > 1 for rates in grid.get("learning_rates", {}).values()):
        raise ConfigError(
            f"invalid config: tuning.selection_seeds: {selection} selects among learning rates, but grid has "
            f"no optimizer with several (grid.learning_rates: {grid.get('learning_rates')}); expected "
            "grid.learning_rates with two or more rates for an optimizer, or no tuning.selection_seeds"
        )


def check(config: dict[str, Any]) -> dict[str, Any]:
    """Schema + defaults + semantic checks. Returns the (mutated) config."""
    if not isinstance(config, dict) or not config:
        raise ConfigError("invalid config: empty or not a mapping; expected keys 'grid' and 'training'")
    check_schema(config)
    check_semantics(config)
    return config


def load(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and :func:`check` it."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    return check(config)
