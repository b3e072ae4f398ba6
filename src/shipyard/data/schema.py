"""The data schema: what the reference data looked like, inferred once and reviewed in git.

`infer_schema` reads a reference frame into a `Schema`; `write_schema` stores it as
a readable `schema.yaml` (one mapping per column, in data order), and
`read_schema` loads it back with errors that name the file and key path.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"amount": [10.0, 20.0, 30.0, 40.0], "label": [0, 1, 0, 1]})
>>> schema = infer_schema(df, target="label")
>>> amount = schema.column("amount")
>>> amount.dtype, amount.observed_minimum, amount.observed_maximum
('float', 10.0, 40.0)
>>> amount.minimum, amount.maximum  # beyond these fails; beyond the observed range warns
(0.0, 64.0)
>>> schema.column("label").categories
(0, 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import yaml

from shipyard.core.params import Interval, validate_params
from shipyard.data._allowances import UNSEEN_CONFIDENCE, round_up, upper_bound
from shipyard.data._bounds import Bounds, tail_bounds
from shipyard.data._dtypes import (
    BOUNDED,
    TEXT,
    DtypeFamily,
    as_dates,
    family_of,
    numeric_values,
    unfit_description,
)
from shipyard.data._examples import native
from shipyard.data._schema_parsing import SCHEMA_VERSION, parse_schema
from shipyard.errors import ConfigError

Bound: TypeAlias = int | float | pd.Timestamp

_HEADER = """\
# Inferred by `shipyard schema infer` from the reference data.
# Review this file in git like code: it decides which data the pipeline accepts.
# A batch is checked against it: values beyond observed_minimum/observed_maximum warn, beyond
# minimum/maximum (widened from the data's tail) fail; a share of nulls (unseen categories) fails
# only when significantly above max_null_fraction (max_unseen_fraction). Edit where you know better.
"""

_INFER_CONSTRAINTS = {
    "margin": [Interval(float, 0, None)],
    "max_categories": [Interval(int, 0, None)],
    "max_category_ratio": [Interval(float, 0, 1)],
}


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its dtype family, whether nulls are allowed, and which values are.

    `nullable` says whether the reference data had nulls (a single request with a null
    is refused where it is false); `max_null_fraction`, when set, is the share of nulls
    a batch may hold (None: none where not nullable, any where nullable, as schema files
    written before it). `minimum`/`maximum` bound int, float and datetime columns
    (beyond fails); `observed_minimum`/`observed_maximum` are the seen range (beyond
    warns). `categories`, when set, lists every seen value, and `max_unseen_fraction`
    the share of a batch that may hold others. `unique` marks identifier columns.
    """

    name: str
    dtype: DtypeFamily
    nullable: bool = False
    unique: bool = False
    minimum: Bound | None = None
    maximum: Bound | None = None
    categories: tuple[Any, ...] | None = None
    max_null_fraction: float | None = None
    observed_minimum: Bound | None = None
    observed_maximum: Bound | None = None
    max_unseen_fraction: float | None = None

    @property
    def null_allowance(self) -> float:
        """The share of nulls a batch may hold."""
        if self.max_null_fraction is not None:
            return self.max_null_fraction
        return 1.0 if self.nullable else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "nullable": self.nullable,
        }
        if self.max_null_fraction is not None:
            out["max_null_fraction"] = self.max_null_fraction
        out["unique"] = self.unique
        for key in ("minimum", "maximum", "observed_minimum", "observed_maximum"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if self.max_unseen_fraction is not None:
            out["max_unseen_fraction"] = self.max_unseen_fraction
        return out


@dataclass(frozen=True)
class Schema:
    """Every column of the reference data, in data order, plus the target's name and row count."""

    target: str
    rows: int
    columns: tuple[ColumnSchema, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"Column '{name}' is not in the schema. Its columns are: {self.names}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "target": self.target,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema.yaml") -> Schema:
        """Build a schema from parsed YAML; `ConfigError` names `source` and the key path."""
        target, rows, columns = parse_schema(data, source)
        return cls(target=target, rows=rows, columns=tuple(ColumnSchema(**c) for c in columns))


def _sort_key(value: Any) -> tuple[str, Any]:
    return type(value).__name__, value


def _categories(
    values: pd.Series, family: str, *, rows: int, is_target: bool, limit: int, ratio: float
) -> tuple[Any, ...] | None:
    """Allowed values of a low-cardinality text column, or the classes of a target."""
    if family in ("float", "datetime") or (family not in TEXT and not is_target):
        return None
    distinct = [native(v) for v in values.unique()]
    # Labels repeat by nature: the share-of-rows rule only tells ids from categories.
    if len(distinct) > limit or (not is_target and len(distinct) > ratio * rows):
        return None
    return tuple(sorted(distinct, key=_sort_key))


def _is_year(series: pd.Series, values: pd.Series) -> bool:
    """An int column named like a year holding calendar years: it grows with time like a date."""
    if "year" not in str(series.name).lower() or values.empty:
        return False
    return bool(values.min() >= 1800 and values.max() <= 2200)


def _unseen_allowance(values: pd.Series) -> float:
    """Good-Turing: the share of new rows holding a category not seen yet is about the share of
    rows whose category was seen once; its 90 % upper confidence bound is the allowance (the
    batch test adds the significance)."""
    counts = values.value_counts()
    singletons = int((counts == 1).sum())
    return round_up(upper_bound(singletons, len(values), UNSEEN_CONFIDENCE))


def _family(series: pd.Series) -> DtypeFamily:
    """The column's family; `ConfigError` naming the column and what it holds when none fits."""
    family = family_of(series)
    if family is None:
        raise ConfigError(
            f"Column '{series.name}' holds {unfit_description(series)}, which fit no schema dtype "
            "(int, float, bool, category, string, datetime). Convert it where the data is made (a "
            "duration to seconds with `.dt.total_seconds()`, nested values into columns of their "
            "own, mixed values to one type) or drop the column."
        )
    return family


def require_families(frame: pd.DataFrame) -> None:
    """`ConfigError` for the first column no schema family fits (nested lists or structs, mixed
    types, times of day), before anything else reads the data."""
    for column in frame.columns:
        _family(frame[column])


def _infer_column(
    series: pd.Series, *, is_target: bool, margin: float, limit: int, ratio: float
) -> ColumnSchema:
    family = _family(series)
    if family == "string" and not is_target:
        dates = as_dates(series)
        if dates is not None:  # ISO date text: checked as dates, parsed on validation
            series, family = dates, "datetime"
    values = series.dropna()
    nulls = len(series) - len(values)
    nullable = nulls > 0
    unique = family in ("int", "string") and not is_target and not nullable and values.is_unique
    # Identifiers keep growing and new data is newer: neither gets an upper bound.
    bounded = family in BOUNDED and len(values) > 0 and not unique
    if bounded:
        bounds = tail_bounds(values if family == "datetime" else numeric_values(values), family, margin)
    else:
        bounds = Bounds()
    if bounded and family == "int" and not is_target and _is_year(series, values):
        # New data is newer: a year gets no upper bound, as a date-time.
        bounds = Bounds(bounds.minimum, None, bounds.observed_minimum, None)
    categories = _categories(values, family, rows=len(series), is_target=is_target, limit=limit, ratio=ratio)
    return ColumnSchema(
        name=str(series.name),
        dtype=family,
        nullable=nullable,
        unique=unique,
        minimum=bounds.minimum,
        maximum=bounds.maximum,
        categories=categories,
        max_null_fraction=round_up(upper_bound(nulls, len(series))),
        observed_minimum=bounds.observed_minimum,
        observed_maximum=bounds.observed_maximum,
        max_unseen_fraction=(_unseen_allowance(values) if categories is not None and not is_target else None),
    )


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str,
    margin: float = 0.1,
    max_categories: int = 50,
    max_category_ratio: float = 0.5,
) -> Schema:
    """Infer a `Schema` from reference data.

    A text column gets `categories` when it has at most `max_categories` distinct
    values and at most `max_category_ratio` distinct values per row; the target
    gets its classes whenever they are few (ints, bools, text). Numeric fail bounds
    lie beyond the observed range by twice the outer decile's spread, and by at least
    `margin` of the observed width; date-time lower bounds by `margin`. Text columns
    holding only ISO-8601 dates are recorded as `datetime` (validation parses them).
    Allowances (`max_null_fraction`, `max_unseen_fraction`) are 99.9 % upper bounds.
    """
    params = {
        "margin": margin,
        "max_categories": max_categories,
        "max_category_ratio": max_category_ratio,
    }
    validate_params("infer_schema", _INFER_CONSTRAINTS, params)
    names = list(df.columns)
    bad = [n for n in names if not isinstance(n, str)]
    if bad or not df.columns.is_unique:
        problem = f"non-string names {bad}" if bad else "repeated names"
        raise ConfigError(f"The data has {problem} among its columns {names}. Rename them in the loader.")
    if len(df) == 0:
        what = "no rows" if names else "no rows and no columns (an empty file?)"
        raise ConfigError(
            f"Cannot infer a schema from data with {what}. "
            "Point 'data.source' in shipyard.yaml (or --data) at the reference data."
        )
    if target not in names:
        raise ConfigError(
            f"The target column '{target}' is not in the data. Its columns are: {names}. "
            "Fix 'data.target' in shipyard.yaml."
        )
    columns = tuple(
        _infer_column(
            df[name],
            is_target=name == target,
            margin=margin,
            limit=max_categories,
            ratio=max_category_ratio,
        )
        for name in names
    )
    return Schema(target=target, rows=len(df), columns=columns)


def _dump(value: Any) -> str:
    """YAML in block style, keys in our order, non-ASCII text kept readable where it is safe."""
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)
    # PyYAML writes some Unicode line breaks (U+0085) raw and reads them back as
    # spaces: escape everything non-ASCII when the text would not read back the same.
    if yaml.safe_load(text) != value:
        text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False)
    return text


def write_schema(schema: Schema, path: Path) -> None:
    """Write `schema.yaml`: a header comment, then one mapping per column, blank lines between."""
    data = schema.to_dict()
    columns = data.pop("columns")
    body = "\n".join(_dump([c]) for c in columns)
    text = f"{_HEADER}\n{_dump(data)}\ncolumns:\n{body}"
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_schema(path: Path) -> Schema:
    """Read a `schema.yaml` written by `write_schema` (or edited by hand)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"No schema file at {path}. Run 'shipyard schema infer' to create it from the "
            "reference data, then review and commit it."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path.name}: malformed YAML{where}: {getattr(exc, 'problem', exc)}. "
            "Fix the file or run 'shipyard schema infer' again."
        ) from None
    return Schema.from_dict(data, source=path.name)
