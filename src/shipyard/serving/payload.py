"""Request bodies decoded with orjson into columns: every JSON shape `/predict` and `/invocations` accept.

    [{"amount": 12.5, ...}, ...]                         records
    {"records": [...]} / {"dataframe_records": [...]}    records
    {"columns": {"amount": [12.5, ...], ...}}            columnar
    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    {"instances": [...] or {...}} / {"inputs": [...] or {...}}   records or columnar

Shapes are read one level at a time, never recursively, and every value must be a scalar
(a list or object where a value belongs is a 422 naming the field), so deep nesting cannot
exhaust the stack; orjson itself refuses more than 1024 levels (400).

A field absent from some records is filled with `MISSING` (told apart from an explicit null)
so the validator can report it with its row numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson


class _Missing:
    """Marks a field absent from one record (told apart from an explicit null): `MISSING`."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class RequestError(Exception):
    """A request the server refuses: HTTP `status` and a JSON-ready `body`."""

    def __init__(self, status: int, message: str, errors: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"detail": message}
        if errors is not None:
            self.body["errors"] = errors


@dataclass
class Rows:
    """One request's rows as columns (lists of JSON values), plus its sticky-routing key."""

    columns: dict[str, list[Any]]
    n: int
    key: str | None = None


def _records_to_columns(records: list[Any]) -> dict[str, list[Any]]:
    if not records:
        return {}
    if not all(type(r) is dict for r in records):
        bad = next(i for i, r in enumerate(records) if type(r) is not dict)
        raise RequestError(422, f"Record {bad} is not a JSON object (got {type(records[bad]).__name__}).")
    keys = records[0].keys()
    if all(r.keys() == keys for r in records):
        return {k: [r[k] for r in records] for k in keys}
    names = list(dict.fromkeys(chain.from_iterable(records)))
    return {k: [r.get(k, MISSING) for r in records] for k in names}


def _split_to_columns(split: Any) -> dict[str, list[Any]]:
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise RequestError(422, "'dataframe_split' needs 'columns' (a list of names) and 'data' (rows).")
    names, data = split["columns"], split.get("data", [])
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise RequestError(422, "'dataframe_split.columns' must be distinct strings.")
    if not isinstance(data, list) or not all(isinstance(r, list) and len(r) == len(names) for r in data):
        raise RequestError(422, f"'dataframe_split.data' must be a list of rows of {len(names)} values.")
    index = split.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        size = len(index) if isinstance(index, list) else type(index).__name__
        raise RequestError(
            422, f"'dataframe_split.index' has {size} entries but 'data' has {len(data)} rows."
        )
    return {name: [row[i] for row in data] for i, name in enumerate(names)}


def _columnar(value: Any, key: str) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise RequestError(422, f"'{key}' must map each field to a list of values.")
    return value


def _columns_of(payload: Any) -> dict[str, list[Any]]:
    if isinstance(payload, list):
        return _records_to_columns(payload)
    if not isinstance(payload, dict):
        raise RequestError(422, f"The body must be a JSON object or a list of records, not {payload!r}.")
    for key in ("records", "dataframe_records"):
        if key in payload:
            return _records_to_columns(_list(payload[key], key))
    if "dataframe_split" in payload:
        return _split_to_columns(payload["dataframe_split"])
    for key in ("instances", "inputs", "columns"):
        if key in payload:
            value = payload[key]
            return _records_to_columns(value) if isinstance(value, list) else _columnar(value, key)
    raise RequestError(
        422,
        "The body has none of 'records', 'columns', 'dataframe_split', 'dataframe_records', "
        "'instances' or 'inputs'. Send a list of records or {'columns': {field: [values]}}.",
    )


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise RequestError(422, f"'{key}' must be a list of records, not {type(value).__name__}.")
    return value


def parse_body(body: bytes, *, key_field: str = "key", max_rows: int = 10_000) -> Rows:
    """Decode a request body into columns; 400 for malformed JSON, 413/422 for bad shapes."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"Malformed JSON: {exc}.") from None
    key = None
    if isinstance(payload, dict) and key_field in payload:
        raw_key = payload.pop(key_field)
        if raw_key is not None and type(raw_key) not in (str, int):
            raise RequestError(422, f"'{key_field}' (the routing key) must be a string or an integer.")
        key = None if raw_key is None else str(raw_key)
    columns = _columns_of(payload)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        sizes = {name: len(v) for name, v in columns.items()}
        raise RequestError(422, f"Columns have different lengths: {sizes}.")
    n = lengths.pop() if lengths else 0
    if n == 0:
        raise RequestError(422, "The request has no rows.")
    if n > max_rows:
        raise RequestError(
            413, f"The request has {n} rows; the limit is serving.max_request_rows = {max_rows}."
        )
    return Rows(columns, n, key)
