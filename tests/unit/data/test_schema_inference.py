"""`infer_schema`: dtype families, widened ranges, categories, nullability and unique ids."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shipyard.data import ColumnSchema, infer_schema
from shipyard.errors import ConfigError

TARGET = "label"


def test_every_family_is_inferred(reference: pd.DataFrame) -> None:
    schema = infer_schema(reference, target=TARGET)
    assert schema.target == TARGET
    assert schema.rows == len(reference)
    assert schema.names == list(reference.columns)
    families = {c.name: c.dtype for c in schema.columns}
    assert families == {
        "transaction_id": "int",
        "amount": "float",
        "balance": "float",
        "merchant_category": "string",
        "is_weekend": "bool",
        "age": "int",
        "created_at": "datetime",
        "channel": "category",
        TARGET: "int",
    }


def test_nullable_unique_and_categories(reference: pd.DataFrame) -> None:
    schema = infer_schema(reference, target=TARGET)
    assert schema.column("age").nullable
    assert not any(c.nullable for c in schema.columns if c.name != "age")
    assert [c.name for c in schema.columns if c.unique] == ["transaction_id"]
    assert schema.column("merchant_category").categories == ("fuel", "grocery", "online", "travel")
    assert schema.column("channel").categories == ("app", "web")
    assert schema.column(TARGET).categories == (0, 1)
    assert schema.column("amount").categories is None
    assert schema.column("is_weekend").categories is None


@pytest.mark.parametrize(
    ("values", "margin", "expected"),
    [
        # each side: max(2 x the outer decile's spread, q90 - q10, margin x range), rounded out
        ([10.0, 20.0, 30.0, 40.0], 0.1, (0.0, 64.0)),  # never negative: the lower bound stays >= 0
        ([-50.0, 50.0], 0.1, (-130.0, 130.0)),
        ([0.0, 100.0], 0.1, (0.0, 180.0)),
        ([-10.0, 30.0], 0.5, (-42.0, 62.0)),
        ([-10.0, 30.0], 2.0, (-90.0, 110.0)),  # the margin is a floor
        ([3, 13, 13], 0.1, (0, 21)),
        ([0, 5, 5], 0.1, (0, 9)),
        ([-10, 10, 10], 0.1, (-26, 26)),
        ([7, 7, 7], 0.1, (7, 7)),
    ],
)
def test_fail_range_is_widened_from_the_tail(values: list, margin: float, expected: tuple) -> None:
    df = pd.DataFrame({"x": values, TARGET: range(len(values))})
    column = infer_schema(df, target=TARGET, margin=margin).column("x")
    assert (column.minimum, column.maximum) == expected
    assert (column.observed_minimum, column.observed_maximum) == (min(values), max(values))
    kind = int if isinstance(values[0], int) else float
    assert type(column.minimum) is kind and type(column.maximum) is kind


def test_float_bounds_cover_the_tail_and_round_outward_by_little(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Negative values: a positive column may be widened further, on the log scale.
    values = rng.normal(rng.uniform(-1e4, -5e3), rng.uniform(1e-3, 1e3), 500)
    df = pd.DataFrame({"x": values, TARGET: 0})
    column = infer_schema(df, target=TARGET, margin=0.1).column("x")
    q10, q90 = np.quantile(values, [0.1, 0.9])
    low = values.min() - max(2 * (q10 - values.min()), q90 - q10)
    high = values.max() + max(2 * (values.max() - q90), q90 - q10)
    assert column.minimum <= low and column.maximum >= high
    span = high - low
    assert low - column.minimum <= 0.01 * span and column.maximum - high <= 0.01 * span
    seen = values.max() - values.min()
    assert values.min() - 0.001 * seen <= column.observed_minimum <= values.min()
    assert values.max() <= column.observed_maximum <= values.max() + 0.001 * seen


def test_a_heavy_positive_tail_is_widened_on_the_log_scale(seed: int) -> None:
    values = np.random.default_rng(seed).lognormal(3.0, 2.0, 2000)
    column = infer_schema(pd.DataFrame({"x": values, TARGET: 0}), target=TARGET).column("x")
    q90 = np.quantile(values, 0.9)
    assert column.maximum >= values.max() * (values.max() / q90) ** 2 * 0.999
    assert column.minimum == 0.0


def test_datetime_minimum_is_widened_and_maximum_left_open(reference: pd.DataFrame) -> None:
    column = infer_schema(reference, target=TARGET).column("created_at")
    observed = reference["created_at"]
    pad = (observed.max() - observed.min()) * 0.1
    assert observed.min() - pad - pd.Timedelta(seconds=1) < column.minimum <= observed.min() - pad
    assert column.maximum is None  # new data is newer: an upper bound would reject it


def test_identifiers_get_no_range() -> None:
    df = pd.DataFrame({"id": [5, 6, 7, 8], "x": [1, 1, 2, 2], TARGET: [0, 1, 0, 1]})
    schema = infer_schema(df, target=TARGET)
    assert schema.column("id").unique
    assert (schema.column("id").minimum, schema.column("id").maximum) == (None, None)
    assert schema.column("x").maximum is not None


def test_infinite_values_leave_that_side_open() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, math.inf], TARGET: [0, 1, 0]})
    column = infer_schema(df, target=TARGET).column("x")
    assert column.maximum is None
    assert column.minimum == pytest.approx(0.2)  # 1.0 - (q90 - q10 = 0.8)


@pytest.mark.parametrize(
    ("distinct", "rows", "kwargs", "has_categories"),
    [
        (50, 200, {}, True),
        (51, 200, {}, False),  # more than max_categories
        (51, 200, {"max_categories": 60}, True),
        (6, 10, {}, False),  # more than half as many values as rows
        (6, 10, {"max_category_ratio": 0.6}, True),
    ],
)
def test_category_thresholds(distinct: int, rows: int, kwargs: dict, has_categories: bool) -> None:
    values = [f"v{i % distinct:02d}" for i in range(rows)]
    df = pd.DataFrame({"city": values, TARGET: 0})
    column = infer_schema(df, target=TARGET, **kwargs).column("city")
    expected = tuple(sorted(set(values))) if has_categories else None
    assert column.categories == expected


def test_target_classes_ignore_the_share_of_rows_rule() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], TARGET: ["no", "yes"]})
    assert infer_schema(df, target=TARGET).column(TARGET).categories == ("no", "yes")


def test_float_target_gets_no_classes() -> None:
    df = pd.DataFrame({"x": [1, 2, 3, 4], TARGET: [0.5, 1.5, 0.5, 1.5]})
    assert infer_schema(df, target=TARGET).column(TARGET).categories is None


@pytest.mark.parametrize(
    ("values", "unique"),
    [
        (["a1", "a2", "a3"], True),
        ([1, 2, 3], True),
        ([1.0, 2.0, 3.0], False),  # floats are measurements, not ids
        ([1, 2, 2], False),
        (pd.array([1, 2, None], dtype="Int64"), False),  # ids are never null
    ],
)
def test_unique_marks_id_columns(values: list, unique: bool) -> None:
    df = pd.DataFrame({"id": values, TARGET: [0, 1, 2]})
    assert infer_schema(df, target=TARGET).column("id").unique is unique
    assert not infer_schema(df, target=TARGET).column(TARGET).unique


def test_string_column_of_any_storage_is_string() -> None:
    df = pd.DataFrame(
        {
            "obj": pd.Series(["a", None, "b"], dtype=object),
            "str": pd.Series(["a", "b", None], dtype="str"),
            TARGET: [0, 1, 0],
        }
    )
    schema = infer_schema(df, target=TARGET, max_category_ratio=1.0)
    expected = {
        "dtype": "string",
        "nullable": True,
        "unique": False,
        "categories": ("a", "b"),
        "max_null_fraction": 0.99,  # one null in three rows bounds the rate by little
        "max_unseen_fraction": 1.0,
    }
    for name in ("obj", "str"):
        assert schema.column(name) == ColumnSchema(name=name, **expected)


def test_missing_target_names_it_and_the_columns() -> None:
    df = pd.DataFrame({"x": [1, 2]})
    with pytest.raises(ConfigError, match=r"target column 'label' is not in the data.*\['x'\]"):
        infer_schema(df, target=TARGET)


def test_empty_data_cannot_be_inferred() -> None:
    with pytest.raises(ConfigError, match="no rows"):
        infer_schema(pd.DataFrame({"x": [], TARGET: []}), target=TARGET)


def test_unsupported_dtype_names_column_and_dtype() -> None:
    # A frame built in memory (not read by `load_frame`, which reads a duration as seconds).
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2], unit="s"), TARGET: [0, 1]})
    with pytest.raises(ConfigError, match=r"Column 'wait' holds dtype timedelta64\[.*total_seconds"):
        infer_schema(df, target=TARGET)


def test_non_string_column_names_are_rejected() -> None:
    df = pd.DataFrame({0: [1, 2], TARGET: [0, 1]})
    with pytest.raises(ConfigError, match="non-string names"):
        infer_schema(df, target=TARGET)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"margin": -0.1},
            "The 'margin' option of infer_schema must be a float in [0, inf]. Got -0.1",
        ),
        ({"max_categories": 2.5}, "The 'max_categories' option of infer_schema must be an int"),
        ({"max_category_ratio": 2}, "The 'max_category_ratio' option of infer_schema must be"),
    ],
)
def test_bad_options_are_named(kwargs: dict, message: str) -> None:
    df = pd.DataFrame({"x": [1], TARGET: [0]})
    with pytest.raises(ConfigError) as info:
        infer_schema(df, target=TARGET, **kwargs)
    assert message in str(info.value)
