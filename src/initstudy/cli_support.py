"""The command line's own pieces, shared by every verb of :mod:`initstudy.cli`: the
usage error, argument types, and how a violated control is reported."""

from __future__ import annotations

import argparse
import json
import sys


class UsageError(ValueError):
    """Bad command-line input; the message names the argument and the value."""


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (argparse reports the value on failure)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def json_arg(text: str, name: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{name}: expected a JSON object, got {type(value).__name__}")
    return value


def table_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH")
    return name, path


def control_failure(verb: str, exc) -> int:
    """A violated control: one line per cell on stderr, exit status 3 (the pipeline is broken)."""
    for line in str(exc).splitlines():
        print(f"initstudy {verb}: {line}", file=sys.stderr)
    return 3
