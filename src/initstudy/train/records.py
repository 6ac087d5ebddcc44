"""Run records: the JSON file one trained network leaves behind.

The fields are defined once, in ``schemas/record.schema.json``; this module writes
records atomically and refuses, by path and reason, any record that does not match
the schema (a corrupt, partial or foreign file never reaches a table).
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from initstudy.core.atomic import write_json

SCHEMA_VERSION = 2


class RecordError(ValueError):
    """A record that cannot be used; the message names the file and the reason."""


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("initstudy").joinpath("schemas/record.schema.json").read_text()
    return json.loads(text)


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN/Inf: a non-finite number is recorded as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@functools.cache
def _accepts():
    """The schema compiled to Python by fastjsonschema: 4x faster than jsonschema on a
    200-epoch record, and every train job and every table build checks each record."""
    return fastjsonschema.compile(schema())


def _first_error(record: Any) -> jsonschema.ValidationError | None:
    """The error jsonschema reports best, or None. A record the compiled schema accepts
    is valid; one it refuses is judged by jsonschema, which decides and words the reason."""
    try:
        _accepts()(record)
        return None
    except fastjsonschema.JsonSchemaException:
        validator = jsonschema.Draft7Validator(schema())
        return jsonschema.exceptions.best_match(validator.iter_errors(record))


def validate(record: Any, source: str = "record") -> dict[str, Any]:
    error = _first_error(record)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise RecordError(f"{source}: invalid record at {where}: {error.message}")
    return record


def write(path: str | Path, record: dict[str, Any]) -> None:
    """Validate, then write atomically (temp file + rename)."""
    validate(record, str(path))
    write_json(path, record)


def read(path: str | Path) -> dict[str, Any]:
    """Read and validate one record; :class:`RecordError` names the path and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordError(f"{path}: cannot read record ({exc.strerror})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON (corrupt or partial record): {exc}") from None
    return validate(record, str(path))
