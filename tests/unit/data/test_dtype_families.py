"""Every pandas/Arrow dtype a Parquet file can hold: inferred into a schema family, validated
clean, or refused with the column and what it holds named (never a crash)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data import infer_schema, load_frame
from shipyard.data._dtypes import as_family_table
from shipyard.data.validation import validate
from shipyard.errors import ConfigError
from shipyard.serving.payload import Rows
from shipyard.serving.validation import RequestValidator, batch_frame

ROWS = 120


def _column(kind: str, rng: np.random.Generator) -> pd.Series:
    """One column of `kind`, with nulls where the dtype allows them."""
    holes = rng.random(ROWS) < 0.1
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, ROWS)]
    columns = {
        "int8": lambda: pd.Series(rng.integers(-5, 5, ROWS).astype("int8")),
        "uint16": lambda: pd.Series(rng.integers(0, 1000, ROWS).astype("uint16")),
        "uint64_huge": lambda: pd.Series(rng.integers(0, 9, ROWS).astype("uint64") + np.uint64(2**63)),
        "float16": lambda: pd.Series(rng.normal(size=ROWS).astype("float16")),
        "Int64": lambda: pd.Series(pd.array(np.where(holes, None, rng.integers(0, 50, ROWS)), dtype="Int64")),
        "Float64": lambda: pd.Series(pd.array(np.where(holes, None, rng.normal(size=ROWS)), dtype="Float64")),
        "boolean": lambda: pd.Series(
            pd.array(np.where(holes, None, rng.random(ROWS) < 0.5), dtype="boolean")
        ),
        "string_pyarrow": lambda: pd.Series(
            pd.array(rng.choice(["x", "y", None], ROWS), dtype="string[pyarrow]")
        ),
        "category": lambda: pd.Series(pd.Categorical(rng.choice(["lo", "hi"], ROWS))),
        "datetime_tz": lambda: pd.Series(
            pd.Timestamp("2025-01-01", tz="Europe/Paris") + pd.to_timedelta(np.arange(ROWS), unit="h")
        ),
        "timedelta": lambda: pd.Series(pd.to_timedelta(rng.integers(0, 1000, ROWS), unit="s")),
        "decimal": lambda: pd.Series(
            pd.array(
                [Decimal(f"{v:.2f}") for v in rng.uniform(0, 100, ROWS)],
                dtype=pd.ArrowDtype(pa.decimal128(10, 2)),
            )
        ),
        "date32": lambda: pd.Series(pd.array(days, dtype=pd.ArrowDtype(pa.date32()))),
        "int64_pyarrow": lambda: pd.Series(pd.array(rng.integers(0, 10, ROWS), dtype="int64[pyarrow]")),
        "all_null": lambda: pd.Series([np.nan] * ROWS),
        "single_value": lambda: pd.Series([7] * ROWS),
    }
    return columns[kind]()


FAMILIES = {
    "int8": "int",
    "uint16": "int",
    "uint64_huge": "int",
    "float16": "float",
    "Int64": "int",
    "Float64": "float",
    "boolean": "bool",
    "string_pyarrow": "string",
    "category": "category",
    "datetime_tz": "datetime",
    "timedelta": "float",  # seconds
    "decimal": "float",
    "date32": "datetime",
    "int64_pyarrow": "int",
    "all_null": "float",
    "single_value": "int",
}


def _written(tmp_path: Path, kind: str) -> pd.DataFrame:
    """A Parquet round trip through `load_frame`, as `shipyard init` and `run` read data."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": _column(kind, rng), "row": np.arange(ROWS), "y": rng.integers(0, 2, ROWS)})
    frame.to_parquet(tmp_path / "data.parquet")
    return load_frame(tmp_path / "data.parquet")


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_every_dtype_is_inferred_and_its_own_data_passes(tmp_path: Path, kind: str) -> None:
    frame = _written(tmp_path, kind)
    schema = infer_schema(frame, target="y")
    assert schema.column("x").dtype == FAMILIES[kind]
    report = validate(frame, schema, target="y", task="classification")
    assert [r.check for r in report.results if r.status.value == "failed"] == []


def test_a_duration_is_loaded_as_seconds(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": pd.to_timedelta([90, 1.5], unit="s"), "y": [0, 1]})
    frame.to_parquet(tmp_path / "data.parquet")
    assert load_frame(tmp_path / "data.parquet")["x"].tolist() == [90.0, 1.5]


def test_an_arrow_date_gets_date_time_bounds(tmp_path: Path) -> None:
    schema = infer_schema(_written(tmp_path, "date32"), target="y")
    assert schema.column("x").observed_minimum >= pd.Timestamp("2025-01-01")
    assert schema.column("x").maximum is None  # new data is newer


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ([[1, 2], [3]] * (ROWS // 2), "list values"),
        ([{"a": 1}, {"a": 2}] * (ROWS // 2), "struct values"),
        ([1, "a"] * (ROWS // 2), "int and str values"),
    ],
    ids=["list", "struct", "mixed"],
)
def test_nested_and_mixed_columns_are_refused_by_name(values: list[object], named: str) -> None:
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object), "y": [0, 1] * (ROWS // 2)})
    with pytest.raises(ConfigError, match=f"Column 'x' holds {named}"):
        infer_schema(frame, target="y")


def test_a_csv_duration_is_loaded_as_seconds_as_from_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "written": pd.to_timedelta([277, -60, np.nan], unit="s"),  # pandas writes `0 days 00:04:37`
            "iso": ["PT90S", "P1DT2H", None],
            "clock": ["12:30", "1:00", "2:00"],  # times of day, not durations: left as text
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    loaded = load_frame(tmp_path / "data.csv")
    assert loaded["written"].tolist()[:2] == [277.0, -60.0]
    assert loaded["iso"].tolist()[:2] == [90.0, 93600.0]
    assert loaded["clock"].tolist() == ["12:30", "1:00", "2:00"]


def test_booleans_with_gaps_reach_the_model_as_one_dtype_from_csv_and_from_a_request(tmp_path: Path) -> None:
    # The starter features turn `boolean` into numbers; booleans as object would become text.
    (tmp_path / "data.csv").write_text("flag,y\nTrue,0\n,1\nFalse,0\n")
    loaded = load_frame(tmp_path / "data.csv")
    assert loaded["flag"].dtype == "boolean"
    validator = RequestValidator(infer_schema(loaded, target="y"))
    served = batch_frame(validator, [Rows({"flag": [True, None]}, 2)])
    assert served["flag"].dtype == "boolean"
    assert served["flag"].isna().tolist() == [False, True]


def test_a_partition_read_as_arrow_converts_as_load_frame_and_keeps_other_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "wait": pd.to_timedelta([90, None], unit="s"),
            "day": pd.array([dt.date(2025, 1, 2), None], dtype=pd.ArrowDtype(pa.date32())),
            "price": pd.array([Decimal("1.50"), None], dtype=pd.ArrowDtype(pa.decimal128(5, 2))),
            "flag": pd.array([True, None], dtype="boolean"),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    untouched = pa.Table.from_pandas(frame[["flag"]])
    assert as_family_table(untouched) is untouched
    read = as_family_table(table).to_pandas()
    assert read["wait"].tolist()[0] == 90.0 and read["price"].tolist()[0] == 1.5
    assert read["day"].tolist()[0] == pd.Timestamp("2025-01-02")
    assert str(read["flag"].dtype) == "boolean"  # the file's pandas metadata still applies
