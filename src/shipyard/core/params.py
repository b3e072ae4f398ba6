"""Parameter constraints declared as data, and the one engine that checks them.

Gates (and any other configurable part) declare `_parameter_constraints`, a mapping
of parameter name to a list of accepted constraints; `validate_params` produces
every message in scikit-learn's form:

    The 'tolerance' option of gate 'no_regression' must be a float in [0, 1]. Got 5 instead.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.errors import ConfigError


@dataclass(frozen=True)
class Interval:
    """A real (or integral) number in a range; `None` bounds are open-ended."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or value != value:  # NaN passes no comparison
            return False
        open_low = self.closed in ("right", "neither")
        open_high = self.closed in ("left", "neither")
        number = float(value)
        too_low = self.low is not None and (number < self.low or (number == self.low and open_low))
        too_high = self.high is not None and (number > self.high or (number == self.high and open_high))
        return not (too_low or too_high)

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        if self.low is None and self.high is None:
            return noun
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{noun} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: frozenset[Any]

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:  # an unhashable value (a list, a mapping) is no option
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=str))


@dataclass(frozen=True)
class OfType:
    kind: type | tuple[type, ...]
    noun: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.kind) and not (isinstance(value, bool) and self.kind is not bool)

    def __str__(self) -> str:
        return self.noun


NONE = OfType(type(None), "None")
STRING = OfType(str, "a string")


def validate_params(owner: str, constraints: Mapping[str, list[Any]], params: Mapping[str, Any]) -> None:
    """Raise `ConfigError` naming `owner`, the option, what it accepts and what it got."""
    for key in params:
        if key not in constraints:
            close = difflib.get_close_matches(key, list(constraints), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            valid = ", ".join(sorted(constraints)) or "none"
            raise ConfigError(f"Unknown option '{key}' of {owner}.{hint} Valid options: {valid}.")
    for key, value in params.items():
        accepted = constraints[key]
        if not any(c.accepts(value) for c in accepted):
            expected = " or ".join(str(c) for c in accepted)
            raise ConfigError(f"The '{key}' option of {owner} must be {expected}. Got {value!r} instead.")
