"""Log records turned into one Arrow table of a fixed schema: predictions (`LogSchema`), feedback.

The type of every `input.<name>` column comes from the project schema (schema.yaml), never
from what a request held, so parts written at different times, by ok and error rows alike,
always concatenate. A value that does not fit its column's type (text in a float column, an
ISO week date in a datetime column, a number beyond int64) is stored as null there and kept
verbatim in `input_raw`: a JSON object per row of every such field, plus the fields the
schema does not know. Without a schema, each column's type is fixed the first time it is
seen (numbers as float64, booleans, text) for the life of the writer. `proba_<class>`
columns (float64) appear from the first part that has them; read the log with
`union_by_name=true` (DuckDB) or a unified schema (pyarrow) across servers and restarts.

A record is one model call's rows on one route, as JSON (the write-ahead log's line):

    {"version", "route", "status", "error", "latency_ms", "batch_rows",
     "requests": [[request_id, rows, arrived_epoch_s], ...],
     "inputs": {name: [value per row]}, "prediction": [...] | null,
     "score": [...] | null, "proba": {class: [...]} | null}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import orjson

from shipyard.data.schema import ColumnSchema, Schema
from shipyard.serving import predlog as P

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

_INT64 = (-(2**63), 2**63 - 1)


class PredictionRecord(TypedDict):
    """One model call's rows on one route (see the module docstring): NumPy arrays as `scoring`
    builds it, lists once read back from the write-ahead log."""

    version: str
    route: str
    status: str  # ok, error
    error: str | None
    latency_ms: float
    batch_rows: int
    requests: list[list[Any]]  # [request_id, rows, arrived_epoch_s] per request
    inputs: dict[str, list[Any]]
    prediction: np.ndarray | list[Any] | None
    score: np.ndarray | list[float] | None
    proba: dict[str, np.ndarray] | dict[str, list[float]] | None


class FeedbackRecord(TypedDict):
    """One `/feedback` request: when it came (epoch s), and its labels (see `FeedbackLayout`)."""

    ts: float
    labels: list[tuple[str, int, str]]  # [request_id, row, label]; lists once read back


def _is_float(v: Any) -> bool:
    return type(v) is float or (type(v) is int and _INT64[0] <= v <= _INT64[1])


def _is_int(v: Any) -> bool:
    whole = type(v) is int or (type(v) is float and v.is_integer())
    return whole and _INT64[0] <= v <= _INT64[1]


_FITS: dict[str, Callable[[Any], bool]] = {
    "float": _is_float,
    "int": _is_int,
    "bool": lambda v: type(v) is bool,
    "string": lambda v: type(v) is str,
    "datetime": lambda v: type(v) is str,
}


_NONE = type(None)
_FAST: dict[str, set[type]] = {  # value types pyarrow converts exactly, or refuses
    "float": {float, int, _NONE},
    "int": {int, _NONE},
    "bool": {bool, _NONE},
    "string": {str, _NONE},
    "datetime": {str, _NONE},
}


def _category_kind(categories: tuple[Any, ...] | None) -> str:
    kinds = {type(c) for c in categories or ()}
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        return "int"
    if kinds and kinds <= {int, float}:
        return "float"
    return "string"


def _kind(column: ColumnSchema) -> str:
    return _category_kind(column.categories) if column.dtype == "category" else column.dtype


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "datetime": pa.timestamp("us"),  # naive UTC wall time, as the model saw it
    }[kind]


def _learned_kind(values: list[Any]) -> str | None:
    """The kind a schemaless column gets from its first non-null values."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None
    if kinds == {bool}:
        return "bool"
    if kinds <= {int, float}:
        return "float"
    return "string"


class LogSchema:
    """The fixed input columns of one server's log: kind per schema column (or learned)."""

    def __init__(self, schema: Schema | None) -> None:
        self.fixed = schema is not None
        columns = [c for c in schema.columns if c.name != schema.target] if schema else []
        self.kinds: dict[str, str] = {c.name: _kind(c) for c in columns}
        self.classes: dict[str, None] = {}  # every class seen: its proba_ column stays in later parts

    @staticmethod
    def tally(record: PredictionRecord) -> tuple[str, int]:
        """The version that scored a record's rows, and how many it scored."""
        return record["version"], sum(r[1] for r in record["requests"])

    def input_type(self, name: str) -> pa.DataType:
        return _arrow_type(self.kinds[name])

    def to_table(self, records: Sequence[PredictionRecord]) -> pa.Table:
        """One `pyarrow.Table` of every row of `records` (see the module docstring)."""
        import pyarrow as pa

        counts = [sum(r[1] for r in rec["requests"]) for rec in records]
        n = sum(counts)

        def per_record(
            key: Literal["version", "route", "status", "error", "latency_ms", "batch_rows"],
        ) -> list[Any]:
            return list(
                chain.from_iterable(repeat(rec[key], c) for rec, c in zip(records, counts, strict=True))
            )

        def per_row(key: Literal["prediction", "score"]) -> list[Any]:
            return list(
                chain.from_iterable(
                    given if (given := rec.get(key)) is not None else repeat(None, c)
                    for rec, c in zip(records, counts, strict=True)
                )
            )

        requests = [r for rec in records for r in rec["requests"]]
        columns: dict[str, Any] = {
            P.REQUEST_ID: pa.array(
                list(chain.from_iterable(repeat(r[0], r[1]) for r in requests)), pa.string()
            ),
            P.ROW: pa.array(list(chain.from_iterable(range(r[1]) for r in requests)), pa.int32()),
            P.TS: pa.array(
                list(chain.from_iterable(repeat(int(r[2] * 1_000_000), r[1]) for r in requests)),
                pa.timestamp("us", tz="UTC"),
            ),
            P.MODEL_VERSION: pa.array(per_record("version"), pa.string()),
            P.ROUTE: pa.array(per_record("route"), pa.string()),
            P.STATUS: pa.array(per_record("status"), pa.string()),
            P.ERROR: pa.array(per_record("error"), pa.string()),
            P.LATENCY_MS: pa.array(per_record("latency_ms"), pa.float64()),
            P.BATCH_ROWS: pa.array(per_record("batch_rows"), pa.int32()),
            P.PREDICTION: pa.array(
                [None if v is None else str(v) for v in per_row("prediction")], pa.string()
            ),
            P.SCORE: pa.array(per_row("score"), pa.float64()),
        }
        self.classes.update(dict.fromkeys(c for rec in records for c in (rec.get("proba") or {})))
        for name in self.classes:
            probas = chain.from_iterable(
                (rec.get("proba") or {}).get(name) or repeat(None, c)
                for rec, c in zip(records, counts, strict=True)
            )
            columns[P.PROBA_PREFIX + name] = pa.array(list(probas), pa.float64())
        raw: dict[int, dict[str, Any]] = {}
        names = list(self.kinds) + [
            k for k in dict.fromkeys(k for rec in records for k in rec["inputs"]) if k not in self.kinds
        ]
        for name in names:
            values = list(
                chain.from_iterable(
                    rec["inputs"].get(name, repeat(None, c)) for rec, c in zip(records, counts, strict=True)
                )
            )
            if name not in self.kinds and not self.fixed:
                kind = _learned_kind(values)
                if kind is not None:
                    self.kinds[name] = kind
            if name in self.kinds:
                columns[P.INPUT_PREFIX + name] = self._typed(name, values, raw)
            else:
                _keep_raw(name, values, range(n), raw)
        columns[P.INPUT_RAW] = pa.array([_json(raw[i]) if i in raw else None for i in range(n)], pa.string())
        return pa.table(columns)

    def _typed(self, name: str, values: list[Any], raw: dict[int, dict[str, Any]]) -> pa.Array:
        """The column of `name` in its fixed type; values that do not fit go to `raw`."""
        import pyarrow as pa

        kind = self.kinds[name]
        if set(map(type, values)) <= _FAST[kind]:  # the common case: no value to check one by one
            try:
                return (
                    _datetimes(name, values, raw)
                    if kind == "datetime"
                    else pa.array(values, _arrow_type(kind))
                )
            except (pa.ArrowInvalid, OverflowError):  # e.g. an int beyond 2**53 for float64
                pass
        fits = _FITS[kind]
        bad = [i for i, v in enumerate(values) if v is not None and not fits(v)]
        _keep_raw(name, values, bad, raw)
        values = list(values)
        for i in bad:
            values[i] = None
        if kind == "datetime":
            return _datetimes(name, values, raw)
        if kind in ("int", "float"):  # whole floats in int columns; ints beyond 2**53 in float ones
            cast = int if kind == "int" else float
            values = [None if v is None else cast(v) for v in values]
        return pa.array(values, _arrow_type(kind))


def _datetimes(name: str, values: list[Any], raw: dict[int, dict[str, Any]]) -> pa.Array:
    """ISO 8601 text as naive UTC timestamps; text that is not (e.g. '2026-W01-1') goes to `raw`."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    # Strict ISO 8601 calendar dates only: pandas refuses week and ordinal dates here.
    text = pd.Series(values, dtype=object)
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    _keep_raw(name, values, np.flatnonzero((stamps.isna() & text.notna()).to_numpy()), raw)
    naive = stamps.dt.tz_localize(None).astype("datetime64[us]")
    return pa.Array.from_pandas(naive, type=pa.timestamp("us"))


def _json(fields: dict[str, Any]) -> str:
    try:
        return orjson.dumps(fields).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(fields, separators=(",", ":"), default=str)


def _keep_raw(name: str, values: list[Any], rows: Any, raw: dict[int, dict[str, Any]]) -> None:
    for i in rows:
        if values[i] is not None:
            raw.setdefault(i, {})[name] = values[i]


class FeedbackLayout:
    """The feedback log: a record is one `/feedback` request, `{"ts": epoch_s, "labels": [[request_id,
    row, label], ...]}`; its rows are counted under no version ("")."""

    @staticmethod
    def tally(record: FeedbackRecord) -> tuple[str, int]:
        return "", len(record["labels"])

    @staticmethod
    def to_table(records: Sequence[FeedbackRecord]) -> pa.Table:
        import pyarrow as pa

        labels = [(item, rec["ts"]) for rec in records for item in rec["labels"]]
        return pa.table(
            {
                P.REQUEST_ID: pa.array([i[0] for i, _ in labels], pa.string()),
                P.ROW: pa.array([i[1] for i, _ in labels], pa.int32()),
                P.LABEL: pa.array([i[2] for i, _ in labels], pa.string()),
                P.TS: pa.array([int(ts * 1_000_000) for _, ts in labels], pa.timestamp("us", tz="UTC")),
            }
        )
