"""Option values generated from a gate's `_parameter_constraints`: valid ones and bad ones.

scikit-learn's `generate_valid_param` / `generate_invalid_param_val` idea: one table of
constraints gives both the values that must build a gate and those that must be refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from shipyard.core.params import Interval, OfType, Options
from shipyard.gates.base import Gate

# Values for generated string options, by option name: the synthetic context's metric and column.
_STRINGS = {
    "metric": "roc_auc",
    "column": "amount",
    "slice": "device",
    "group": "device",
    "sensitive": "device",
}


def _valid_value(constraint: Any, option: str) -> Any:
    """A value `constraint` accepts, preferring the middle of a range over an edge; None if none."""
    if isinstance(constraint, Interval):
        low = 0.0 if constraint.low is None else constraint.low
        high = low + 2 if constraint.high is None else constraint.high
        candidates = [(low + high) / 2, low + 1, low, high, high - 1]
        if constraint.kind is int:
            candidates = [int(math.ceil(c)) for c in candidates]
        return next((c for c in candidates if constraint.accepts(c)), None)
    if isinstance(constraint, Options):
        return sorted(constraint.values, key=str)[0]
    if isinstance(constraint, OfType) and constraint.kind is str:
        return _STRINGS.get(option, "roc_auc")
    if isinstance(constraint, OfType) and constraint.kind is bool:
        return True
    return None


def generated_params(cls: type[Gate]) -> dict[str, Any]:
    """A valid value for every option, not None where its constraints allow anything else."""
    params = {}
    for name, constraints in cls._parameter_constraints.items():
        values = [_valid_value(c, name) for c in constraints]
        params[name] = next((v for v in values if v is not None), None)
    return params


def bad_values(constraint: Any) -> Iterator[Any]:
    """Values of the wrong type or out of range for one constraint."""
    if isinstance(constraint, Interval):
        yield "not-a-number"
        yield True
        yield math.nan
        if constraint.low is not None:
            yield constraint.low - 1
        if constraint.high is not None:
            yield constraint.high + 1
        if constraint.kind is int:
            yield 1.5
    elif isinstance(constraint, Options):
        yield "not-an-option"
    elif isinstance(constraint, OfType) and constraint.kind is not type(None):
        yield 5 if constraint.kind is not int else "five"
        yield [1, 2]
