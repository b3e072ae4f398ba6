"""Check parsed `schema.yaml` content key by key; every problem names the file and key path.

schema.yaml: columns.2 ('amount').dtype: must be one of 'int', 'float', ... Got 'floot' instead.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Any, NoReturn

import pandas as pd

from shipyard.data._dtypes import BOUNDED, FAMILIES
from shipyard.errors import ConfigError

SCHEMA_VERSION = 1
_ROOT_KEYS = ("version", "target", "rows", "columns")
_COLUMN_KEYS = (
    "name",
    "dtype",
    "nullable",
    "max_null_fraction",
    "unique",
    "minimum",
    "maximum",
    "observed_minimum",
    "observed_maximum",
    "categories",
    "max_unseen_fraction",
)
_BOUND_KEYS = ("minimum", "maximum", "observed_minimum", "observed_maximum")
_SCALARS = (str, int, float, bool)
_FIX = "Fix the file or run 'shipyard schema infer' again."


def _fail(where: str, problem: str) -> NoReturn:
    raise ConfigError(f"{where}: {problem} {_FIX}")


def _at(where: str, key: object) -> str:
    """Extend a key path: `schema.yaml:` + `columns` -> `schema.yaml: columns`, then `.0`."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _check_keys(data: Any, where: str, allowed: Sequence[str], required: Sequence[str]) -> None:
    if not isinstance(data, dict):
        _fail(where, f"must be a mapping of keys, got {type(data).__name__}.")
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"Did you mean '{close[0]}'?" if close else f"Valid keys: {', '.join(allowed)}."
            _fail(_at(where, key), f"unknown key. {hint}")
    for key in required:
        if key not in data:
            _fail(_at(where, key), "required key is missing.")


def _typed(value: Any, where: str, kinds: tuple[type, ...], noun: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        _fail(where, f"must be {noun}. Got {value!r} instead.")
    return value


def _bound(value: Any, where: str, family: str) -> Any:
    if value is None:
        return None
    if family != "datetime":
        return _typed(value, where, (int, float), "a number")
    if isinstance(value, dt.date):  # YAML reads an unquoted date as a date object
        return pd.Timestamp(value)
    text = _typed(value, where, (str,), "an ISO date-time string")
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        example = "'2024-01-31T00:00:00'"
        _fail(where, f"must be an ISO date-time such as {example}. Got {text!r} instead.")
    return stamp


def _fraction(value: Any, where: str) -> float | None:
    if value is None:
        return None
    number = _typed(value, where, (int, float), "a number in [0, 1]")
    if not 0 <= number <= 1:
        _fail(where, f"must be a number in [0, 1]. Got {value!r} instead.")
    return float(number)


def _ordered(low: Any, high: Any, where: str, names: tuple[str, str]) -> None:
    if low is None or high is None:
        return
    try:
        inverted = low > high
    except TypeError:  # one date-time has a time zone, the other not
        _fail(where, f"{names[0]} {low} and {names[1]} {high} must both have a time zone or neither.")
    if inverted:
        _fail(where, f"{names[0]} {low} is above {names[1]} {high}.")


def _column(data: Any, where: str) -> dict[str, Any]:
    _check_keys(data, where, _COLUMN_KEYS, ("name", "dtype"))
    name = _typed(data["name"], f"{where}.name", (str,), "a string")
    where = f"{where} ('{name}')"
    family = data["dtype"]
    if family not in FAMILIES:
        options = ", ".join(repr(f) for f in FAMILIES)
        _fail(f"{where}.dtype", f"must be one of {options}. Got {family!r} instead.")
    column: dict[str, Any] = {"name": name, "dtype": family}
    for key in ("nullable", "unique"):
        column[key] = _typed(data.get(key, False), f"{where}.{key}", (bool,), "true or false")
    column["max_null_fraction"] = _fraction(data.get("max_null_fraction"), f"{where}.max_null_fraction")
    for key in _BOUND_KEYS:
        if data.get(key) is not None and family not in BOUNDED:
            _fail(f"{where}.{key}", f"applies to int, float and datetime columns, not {family}.")
        column[key] = _bound(data.get(key), f"{where}.{key}", family)
    _ordered(column["minimum"], column["maximum"], where, ("minimum", "maximum"))
    seen = ("observed_minimum", "observed_maximum")
    _ordered(column[seen[0]], column[seen[1]], where, seen)
    categories = data.get("categories")
    if categories is not None:
        _typed(categories, f"{where}.categories", (list,), "a list")
        for i, value in enumerate(categories):
            _typed(value, f"{where}.categories.{i}", _SCALARS, "a string, number or boolean")
        categories = tuple(categories)
    column["categories"] = categories
    unseen = _fraction(data.get("max_unseen_fraction"), f"{where}.max_unseen_fraction")
    if unseen is not None and categories is None:
        _fail(f"{where}.max_unseen_fraction", "applies only to a column with 'categories'.")
    column["max_unseen_fraction"] = unseen
    return column


def parse_schema(data: Any, source: str) -> tuple[str, int, list[dict[str, Any]]]:
    """Return (target, rows, column keyword arguments) from parsed YAML, or raise `ConfigError`."""
    root = f"{source}:"
    if not isinstance(data, dict):
        _fail(source, f"the top level must be a mapping of keys, got {type(data).__name__}.")
    _check_keys(data, root, _ROOT_KEYS, _ROOT_KEYS)
    if data["version"] != SCHEMA_VERSION:
        _fail(
            f"{source}: version",
            f"unsupported version {data['version']!r}; Shipyard reads version {SCHEMA_VERSION}.",
        )
    target = _typed(data["target"], f"{source}: target", (str,), "a string")
    rows = _typed(data["rows"], f"{source}: rows", (int,), "an int")
    if rows < 0:
        _fail(f"{source}: rows", f"must be >= 0. Got {rows} instead.")
    listed = _typed(data["columns"], f"{source}: columns", (list,), "a list of column mappings")
    columns = [_column(c, f"{source}: columns.{i}") for i, c in enumerate(listed)]
    names = [c["name"] for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        _fail(f"{source}: columns", f"column names repeat: {repeated}.")
    if target not in names:
        _fail(f"{source}: target", f"'{target}' is not one of the columns {names}.")
    return target, rows, columns
