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
>>> amount.dtype, amount.minimum, amount.maximum
('float', 7.0, 43.0)
>>> schema.column("label").categories
(0, 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from shipyard.core.params import Interval, validate_params
from shipyard.data._bounds import widened_bounds
from shipyard.data._dtypes import BOUNDED, TEXT, DtypeFamily, family_of
from shipyard.data._examples import native
from shipyard.data._schema_parsing import SCHEMA_VERSION, parse_schema
from shipyard.errors import ConfigError

Bound = int | float | pd.Timestamp

_HEADER = """\
# Inferred by `shipyard schema infer` from the reference data.
# Review this file in git like code: it decides which data the pipeline accepts.
# Bounds are the observed range widened by a margin; edit them by hand where you know better.
"""

_INFER_CONSTRAINTS = {
    "margin": [Interval(float, 0, None)],
    "max_categories": [Interval(int, 0, None)],
    "max_category_ratio": [Interval(float, 0, 1)],
}


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its dtype family, whether nulls are allowed, and which values are.

    `minimum`/`maximum` bound int, float and datetime columns; `categories`, when
    set, lists every allowed value; `unique` marks identifier columns.
    """

    name: str
    dtype: DtypeFamily
    nullable: bool = False
    unique: bool = False
    minimum: Bound | None = None
    maximum: Bound | None = None
    categories: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "unique": self.unique,
        }
        for key in ("minimum", "maximum"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        if self.categories is not None:
            out["categories"] = list(self.categories)
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


def _infer_column(
    series: pd.Series, *, is_target: bool, margin: float, limit: int, ratio: float
) -> ColumnSchema:
    family = family_of(series)
    if family is None:
        raise ConfigError(
            f"Column '{series.name}' has dtype {series.dtype}, which fits no schema dtype "
            "(int, float, bool, category, string, datetime). Convert or drop it in the loader."
        )
    values = series.dropna()
    nullable = len(values) < len(series)
    unique = family in ("int", "string") and not is_target and not nullable and values.is_unique
    # Identifiers keep growing and new data is newer: neither gets an upper bound.
    bounded = family in BOUNDED and len(values) > 0 and not unique
    minimum, maximum = widened_bounds(values, family, margin) if bounded else (None, None)
    if family == "datetime":
        maximum = None
    return ColumnSchema(
        name=str(series.name),
        dtype=family,
        nullable=nullable,
        unique=unique,
        minimum=minimum,
        maximum=maximum,
        categories=_categories(
            values, family, rows=len(series), is_target=is_target, limit=limit, ratio=ratio
        ),
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
    gets its classes whenever they are few (ints, bools, text). Numeric and
    datetime ranges are widened by `margin` of the observed width on each side.
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
