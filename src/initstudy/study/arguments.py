"""What an initializer's arguments may be, checked without Keras.

A :class:`Signature` lists the arguments a scheme takes, with their defaults, and the
*kind* of value each takes (:class:`Real`, :class:`Integer`, :class:`Choice`), so
that a bad value is refused while the workflow is parsed, not when a train job
starts after the cluster's queue. Each kind says in words what it expects, for
the one-line errors that name the key, the value and the expectation. Custom
classes declare the kinds of their arguments with the same vocabulary
(:mod:`initstudy.inits.custom`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any


class InitializerError(ValueError):
    """A spec that cannot become an initializer; the message names what and why."""


def did_you_mean(word: Any, known) -> str:
    """`` (did you mean 'he_normal'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(word, list(known), n=1) if isinstance(word, str) else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(value: Any) -> bool:
    """Ints and floats, not bools: YAML's ``true`` must not pass as 1."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Real:
    """A finite number (never a bool), above ``above`` when given (exclusive)."""

    above: float | None = None

    @property
    def expected(self) -> str:
        return "a finite number" + ("" if self.above is None else f" > {self.above:g}")

    def accepts(self, value: Any) -> bool:
        return _is_number(value) and math.isfinite(value) and (self.above is None or value > self.above)


@dataclasses.dataclass(frozen=True)
class Integer:
    """A whole number (an int, not a float or a bool), at least ``at_least``."""

    at_least: int

    @property
    def expected(self) -> str:
        return f"an integer >= {self.at_least}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= self.at_least


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a few strings, spelled exactly."""

    options: tuple[str, ...]

    @property
    def expected(self) -> str:
        return f"one of {', '.join(self.options)}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options


Kind = Real | Integer | Choice


@dataclasses.dataclass(frozen=True)
class Signature:
    """The arguments one scheme takes: ``defaults`` (every accepted argument and its
    default), ``kinds`` (what values each may take; an argument without a kind is
    checked elsewhere, e.g. LSUV's ``base`` spec), and ``increasing`` pairs
    ``(low, high)`` that must hold ``low < high`` once defaults are filled in."""

    defaults: dict[str, Any]
    kinds: dict[str, Kind] = dataclasses.field(default_factory=dict)
    increasing: tuple[tuple[str, str], ...] = ()


def check(name: str, signature: Signature, given: dict[str, Any], where: str) -> None:
    """Refuse unknown arguments, values outside their kind, and pairs out of order,
    with one line naming the key, the value and what was expected."""
    unknown = sorted(set(given) - set(signature.defaults))
    if unknown:
        expected = ", ".join(sorted(signature.defaults)) or "no arguments"
        hint = did_you_mean(unknown[0], signature.defaults) if len(unknown) == 1 else ""
        raise InitializerError(f"{where}: {name} got unknown argument(s) {', '.join(map(repr, unknown))}"
                               f"{hint}; expected {expected}")
    for key, value in given.items():
        kind = signature.kinds.get(key)
        if kind is not None and not kind.accepts(value):
            shown = f"{value!r} (a bool)" if isinstance(value, bool) else repr(value)
            hint = did_you_mean(value, kind.options) if isinstance(kind, Choice) else ""
            raise InitializerError(f"{where}.{key}: {name} got {shown}{hint}; expected {kind.expected}")
    for low, high in signature.increasing:
        values = {**signature.defaults, **given}
        if not values[low] < values[high]:
            shown = ", ".join(f"{k}={values[k]!r}" + ("" if k in given else " (default)") for k in (low, high))
            raise InitializerError(f"{where}: {name} got {shown}; expected {low} < {high}")
