"""Request rows checked against the project schema, and batched into one model-input frame.

Checks are cheap and per column (one `set(map(type, values))` per column, then `min`/`max`
and category sets), and every problem is collected: a 422 lists each field, rule and
offending values. Rules reuse the data-validation reason codes.

Whatever the schema says, a value must fit the dtype the model receives: integers within
int64, floats finite and within float32's range (many estimators cast to float32), dates
in the one strict ISO 8601 form of `shipyard.data.dates` (the same parser builds the
model's frame). A value that passes here can therefore always be turned into model input.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import TYPE_CHECKING, Any, TypedDict

from shipyard.core.results import Reason
from shipyard.data.schema import ColumnSchema, Schema
from shipyard.serving.payload import MISSING, Rows

if TYPE_CHECKING:
    import pandas as pd

MAX_EXAMPLES = 5
MAX_SHOWN_CHARS = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_LIMIT = 3.4028234663852886e38  # float32's largest finite value
_NONE = type(None)
_MISSING_TYPE = type(MISSING)
_CONTAINERS = frozenset({list, dict})
_ACCEPTED = {
    "float": (float, int),
    "int": (int, float),
    "bool": (bool,),
    "string": (str,),
    "category": (str, int, float, bool),
    "datetime": (str,),
}


def shown(value: Any) -> Any:
    """A value as it may appear in an error body: scalars as sent (long text cut), containers by type."""
    if value is MISSING:
        return None
    if type(value) in _CONTAINERS:
        return f"<{type(value).__name__}>"
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        return value[:MAX_SHOWN_CHARS] + "..."
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class FieldProblem(TypedDict):
    """One rule one field of a request broke: a 422 body lists these under `errors`."""

    field: str
    rule: str  # a `Reason` code
    value: Any  # the first offending value, as `shown`
    values: list[Any]  # up to MAX_EXAMPLES of them
    rows: list[int]  # their row numbers
    count: int  # how many rows broke the rule
    message: str


def _problem(name: str, rule: Reason, message: str, values: list[Any], rows: list[int]) -> FieldProblem:
    shown_values = [shown(v) for v in values[:MAX_EXAMPLES]]
    return {
        "field": shown(name),
        "rule": str(rule),
        "value": shown_values[0] if shown_values else None,
        "values": shown_values,
        "rows": rows[:MAX_EXAMPLES],
        "count": len(rows),
        "message": message,
    }


def _offenders(values: list[Any], bad: Any) -> tuple[list[Any], list[int]]:
    rows = [i for i, v in enumerate(values) if bad(v)]
    return [values[i] for i in rows], rows


def _nested(name: str, values: list[Any]) -> list[FieldProblem]:
    bad, rows = _offenders(values, lambda v: type(v) in _CONTAINERS)
    message = f"'{name}' must be a single value, not a list or an object."
    return [_problem(name, Reason.WRONG_DTYPE, message, bad, rows)] if rows else []


def _out_of_dtype(name: str, family: str, values: list[Any]) -> list[FieldProblem]:
    """Numbers the model's dtype cannot hold: beyond int64 for int, non-finite or beyond float32."""
    low: float
    high: float
    if family == "int":
        low, high, what = INT64_MIN, INT64_MAX, "the 64-bit integer range"
    else:
        low, high, what = -FLOAT_LIMIT, FLOAT_LIMIT, "the finite float32 range"
    bad, rows = _offenders(values, lambda v: v is not None and not (low <= v <= high))
    if not rows:
        return []
    message = f"'{name}' must lie within {what} [{low:g}, {high:g}]; got {shown(bad[0])!r}."
    return [_problem(name, Reason.ABOVE_MAXIMUM, message, bad, rows)]


def _bad_datetimes(values: list[Any]) -> tuple[list[Any], list[int]]:
    import pandas as pd

    from shipyard.data.dates import parse_datetimes

    _, failed = parse_datetimes(pd.Series(values, dtype=object))
    rows = [int(i) for i in failed.to_numpy().nonzero()[0]]
    return [values[i] for i in rows], rows


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

    def check(self, rows: Rows) -> list[FieldProblem]:
        """Every problem of one request (empty when valid)."""
        problems: list[FieldProblem] = []
        if self.schema is None:
            for name, sent in rows.columns.items():
                bad, where = _offenders(sent, lambda v: v is MISSING)
                if where:
                    problems.append(
                        _problem(name, Reason.MISSING_COLUMN, f"'{name}' is missing.", bad, where)
                    )
                if _CONTAINERS & set(map(type, sent)):
                    problems.extend(_nested(name, sent))
            return problems
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

    def _check_column(self, column: ColumnSchema, values: list[Any]) -> list[FieldProblem]:
        name, family = column.name, column.dtype
        kinds = set(map(type, values))
        accepted = _ACCEPTED[family]
        if kinds.issubset(accepted):
            return self._check_values(column, values)
        problems: list[FieldProblem] = []
        if _MISSING_TYPE in kinds:
            bad, rows = _offenders(values, lambda v: v is MISSING)
            problems.append(_problem(name, Reason.MISSING_COLUMN, f"'{name}' is missing.", bad, rows))
        if _NONE in kinds and not column.nullable:
            bad, rows = _offenders(values, lambda v: v is None)
            problems.append(_problem(name, Reason.NULL_VALUES, f"'{name}' must not be null.", bad, rows))
        if _CONTAINERS & kinds:
            problems.extend(_nested(name, values))
        wrong = kinds - set(accepted) - {_NONE, _MISSING_TYPE} - _CONTAINERS
        if family in ("float", "int") and bool in kinds:
            wrong.add(bool)
        if wrong:
            bad, rows = _offenders(values, lambda v: type(v) in wrong and v is not None and v is not MISSING)
            message = f"'{name}' must be {family}; got {shown(bad[0])!r}."
            problems.append(_problem(name, Reason.WRONG_DTYPE, message, bad, rows))
        if not problems:
            present = [v for v in values if v is not None]
            problems.extend(self._check_values(column, present))
        return problems

    def _check_values(self, column: ColumnSchema, values: list[Any]) -> list[FieldProblem]:
        name, family = column.name, column.dtype
        problems: list[FieldProblem] = []
        if family in ("float", "int"):
            if float in set(map(type, values)):
                bad, rows = _offenders(values, lambda v: isinstance(v, float) and not math.isfinite(v))
                if bad:
                    message = f"'{name}' must be a finite number."
                    return [_problem(name, Reason.WRONG_DTYPE, message, bad, rows)]
            if family == "int" and float in set(map(type, values)):
                bad, rows = _offenders(values, lambda v: isinstance(v, float) and not v.is_integer())
                if bad:
                    return [
                        _problem(name, Reason.WRONG_DTYPE, f"'{name}' must be a whole number.", bad, rows)
                    ]
            present = [v for v in values if v is not None] if None in values else values
            if not present:
                return []
            outside = _out_of_dtype(name, family, values)
            if outside:
                return outside
            low, high = (column.minimum, column.maximum) if self.check_ranges else (None, None)
            if low is not None and not math.isinf(low) and min(present) < low:
                bad, rows = _offenders(values, lambda v: v is not None and v < low)
                problems.append(_problem(name, Reason.BELOW_MINIMUM, f"'{name}' is below {low}.", bad, rows))
            if high is not None and not math.isinf(high) and max(present) > high:
                bad, rows = _offenders(values, lambda v: v is not None and v > high)
                problems.append(_problem(name, Reason.ABOVE_MAXIMUM, f"'{name}' is above {high}.", bad, rows))
        elif family == "datetime":
            bad, rows = _bad_datetimes(values)
            if bad:
                message = (
                    f"'{name}' must be an ISO 8601 calendar date or date-time between 1678 and 2261 "
                    "(e.g. 2026-11-01 or 2026-11-01T10:00:00Z); week and ordinal dates are refused."
                )
                problems.append(_problem(name, Reason.WRONG_DTYPE, message, bad, rows))
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


def batch_frame(validator: RequestValidator, parts: list[Rows]) -> pd.DataFrame:
    """One pandas frame of every row of `parts`, columns in schema order, dtypes of the schema."""
    import numpy as np
    import pandas as pd

    from shipyard.data.dates import parse_datetimes

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
        elif family == "int" and None in values:  # float64 with NaN, as pandas reads such a column
            data[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif family == "int":
            data[name] = np.array(values, dtype=np.int64)
        elif family == "bool":  # pandas' nullable boolean, as `load_frame` gives such a column
            data[name] = pd.array(values, dtype="boolean")
        elif family == "datetime":
            stamps, _ = parse_datetimes(pd.Series(values, dtype=object))
            data[name] = stamps.dt.tz_localize(None).to_numpy()
        else:
            data[name] = values
    return pd.DataFrame(data)
