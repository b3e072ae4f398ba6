"""Request rows checked against the project schema, and batched into one model-input frame.

Checks are cheap and per column (one `set(map(type, values))` per column, then `min`/`max`
and category sets), and every problem is collected: a 422 lists each field, rule and
offending values. Rules reuse the data-validation reason codes.
"""

from __future__ import annotations

import math
from datetime import datetime
from itertools import chain
from typing import Any

from shipyard.core.results import Reason
from shipyard.data.schema import ColumnSchema, Schema
from shipyard.serving.payload import MISSING, Rows

MAX_EXAMPLES = 5
_NONE = type(None)
_MISSING_TYPE = type(MISSING)
_ACCEPTED = {
    "float": (float, int),
    "int": (int, float),
    "bool": (bool,),
    "string": (str,),
    "category": (str, int, float, bool),
    "datetime": (str,),
}


def _problem(name: str, rule: Reason, message: str, values: list[Any], rows: list[int]) -> dict[str, Any]:
    shown = [None if v is MISSING else v for v in values[:MAX_EXAMPLES]]
    return {
        "field": name,
        "rule": str(rule),
        "value": shown[0] if shown else None,
        "values": shown,
        "rows": rows[:MAX_EXAMPLES],
        "count": len(rows),
        "message": message,
    }


def _offenders(values: list[Any], bad: Any) -> tuple[list[Any], list[int]]:
    rows = [i for i, v in enumerate(values) if bad(v)]
    return [values[i] for i in rows], rows


def _is_datetime_text(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


class RequestValidator:
    """Checks request columns against a schema: missing/unknown fields, types, nulls, ranges, categories.

    Datetime columns are checked to parse as ISO 8601 but not against the reference range
    (live traffic is always later than the training data); `check_ranges=False` skips the
    numeric bounds too. Without a schema only the shape is checked.
    """

    def __init__(
        self, schema: Schema | None, *, allow: frozenset[str] = frozenset(), check_ranges: bool = True
    ) -> None:
        self.schema = schema
        self.check_ranges = check_ranges
        columns = [c for c in schema.columns if c.name != schema.target] if schema else []
        self.columns: tuple[ColumnSchema, ...] = tuple(columns)
        self.names: tuple[str, ...] = tuple(c.name for c in columns)
        self._known = frozenset(self.names) | allow | ({schema.target} if schema else set())
        self._categories = {c.name: frozenset(c.categories) for c in columns if c.categories is not None}

    def check(self, rows: Rows) -> list[dict[str, Any]]:
        """Every problem of one request (empty when valid)."""
        if self.schema is None:
            problems = []
            for name, values in rows.columns.items():
                bad, where = _offenders(values, lambda v: v is MISSING)
                if where:
                    problems.append(
                        _problem(name, Reason.MISSING_COLUMN, f"'{name}' is missing.", bad, where)
                    )
            return problems
        problems: list[dict[str, Any]] = []
        given = rows.columns
        for name in given.keys() - self._known:
            problems.append(
                _problem(
                    name, Reason.UNEXPECTED_COLUMN, f"Unknown field '{name}'; not in the schema.", [], []
                )
            )
        for column in self.columns:
            values = given.get(column.name)
            if values is None:
                problems.append(
                    _problem(
                        column.name,
                        Reason.MISSING_COLUMN,
                        f"Required field '{column.name}' ({column.dtype}) is missing.",
                        [],
                        [],
                    )
                )
                continue
            problems.extend(self._check_column(column, values))
        return problems

    def _check_column(self, column: ColumnSchema, values: list[Any]) -> list[dict[str, Any]]:
        name, family = column.name, column.dtype
        kinds = set(map(type, values))
        accepted = _ACCEPTED[family]
        if kinds.issubset(accepted):
            return self._check_values(column, values)
        problems = []
        if _MISSING_TYPE in kinds:
            bad, rows = _offenders(values, lambda v: v is MISSING)
            problems.append(_problem(name, Reason.MISSING_COLUMN, f"'{name}' is missing.", bad, rows))
        if _NONE in kinds and not column.nullable:
            bad, rows = _offenders(values, lambda v: v is None)
            problems.append(_problem(name, Reason.NULL_VALUES, f"'{name}' must not be null.", bad, rows))
        wrong = kinds - set(accepted) - {_NONE, _MISSING_TYPE}
        if family in ("float", "int") and bool in kinds:
            wrong.add(bool)
        if wrong:
            bad, rows = _offenders(values, lambda v: type(v) in wrong and v is not None and v is not MISSING)
            problems.append(
                _problem(name, Reason.WRONG_DTYPE, f"'{name}' must be {family}; got {bad[0]!r}.", bad, rows)
            )
        if not problems:
            present = [v for v in values if v is not None]
            problems.extend(self._check_values(column, present))
        return problems

    def _check_values(self, column: ColumnSchema, values: list[Any]) -> list[dict[str, Any]]:
        name, family = column.name, column.dtype
        problems = []
        if family in ("float", "int"):
            if family == "int" and float in set(map(type, values)):
                bad, rows = _offenders(values, lambda v: isinstance(v, float) and not v.is_integer())
                if bad:
                    return [
                        _problem(name, Reason.WRONG_DTYPE, f"'{name}' must be a whole number.", bad, rows)
                    ]
            low, high = (column.minimum, column.maximum) if self.check_ranges else (None, None)
            present = [v for v in values if v is not None] if None in values else values
            if not present:
                return []
            if low is not None and not math.isinf(low) and min(present) < low:
                bad, rows = _offenders(values, lambda v: v is not None and v < low)
                problems.append(_problem(name, Reason.BELOW_MINIMUM, f"'{name}' is below {low}.", bad, rows))
            if high is not None and not math.isinf(high) and max(present) > high:
                bad, rows = _offenders(values, lambda v: v is not None and v > high)
                problems.append(_problem(name, Reason.ABOVE_MAXIMUM, f"'{name}' is above {high}.", bad, rows))
        elif family == "datetime":
            bad, rows = _offenders(values, lambda v: v is not None and not _is_datetime_text(v))
            if bad:
                problems.append(
                    _problem(name, Reason.WRONG_DTYPE, f"'{name}' must be an ISO 8601 date-time.", bad, rows)
                )
        allowed = self._categories.get(name)
        if allowed is not None and not allowed.issuperset(values):
            unseen = set(values) - allowed - {None}
            if unseen:
                bad, rows = _offenders(values, lambda v: v in unseen)
                problems.append(
                    _problem(
                        name,
                        Reason.UNSEEN_CATEGORY,
                        f"'{name}' must be one of {sorted(map(str, allowed))}.",
                        bad,
                        rows,
                    )
                )
        return problems


def batch_frame(validator: RequestValidator, parts: list[Rows]) -> Any:
    """One pandas frame of every row of `parts`, columns in schema order, dtypes of the schema."""
    import numpy as np
    import pandas as pd

    names = validator.names or tuple(parts[0].columns)
    data: dict[str, Any] = {}
    families = {c.name: c.dtype for c in validator.columns}
    for name in names:
        if len(parts) == 1:
            values = parts[0].columns.get(name, [])
        else:
            values = list(chain.from_iterable(p.columns.get(name, [None] * p.n) for p in parts))
        family = families.get(name)
        if family == "float":
            data[name] = np.array(values, dtype=np.float64)
        elif family == "int" and None not in values:
            data[name] = np.array(values, dtype=np.int64)
        elif family == "datetime":
            stamps = pd.to_datetime(values, format="ISO8601", utc=True)
            data[name] = stamps.tz_localize(None)
        else:
            data[name] = values
    return pd.DataFrame(data)
