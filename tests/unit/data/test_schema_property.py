"""Properties over generated frames: the schema round trips exactly, and the reference data
always validates against its own inferred schema."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.results import Reason
from shipyard.data import Schema, infer_schema, read_schema, validate, write_schema

TARGET = "label"
KINDS = ("int", "nullable_int", "float", "bool", "str", "object", "category", "datetime", "utc")


def _values(kind: str, nulls: bool) -> st.SearchStrategy:
    base = {
        "int": st.integers(-(2**63), 2**63 - 1),
        "nullable_int": st.integers(-(10**12), 10**12),
        "float": st.floats(allow_nan=False, allow_infinity=True),
        "bool": st.booleans(),
        "str": st.text(max_size=6),
        "object": st.sampled_from(["a", "b", "yes", "null", "1", "é"]),
        "category": st.sampled_from(["x", "y", "z"]),
        "datetime": st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)),
        "utc": st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)),
    }[kind]
    can_be_null = nulls and kind not in ("int", "bool")
    return st.one_of(st.none(), base) if can_be_null else base


def _series(kind: str, values: list) -> pd.Series:
    if kind == "nullable_int":
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind in ("int", "bool"):
        return pd.Series(np.array(values))
    if kind == "float":
        return pd.Series(np.array([np.nan if v is None else v for v in values], dtype=float))
    if kind == "object":
        return pd.Series(values, dtype=object)
    if kind == "category":
        return pd.Series(pd.Categorical(values))
    if kind == "str":
        return pd.Series(values, dtype="str")
    return pd.Series(pd.to_datetime(values))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(1, 25))
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=6).filter(lambda name: name != TARGET),
            max_size=4,
            unique=True,
        )
    )
    columns = {}
    for name in [*names, TARGET]:
        kind = draw(st.sampled_from(KINDS if name != TARGET else ("int", "float", "str")))
        values = draw(st.lists(_values(kind, nulls=name != TARGET), min_size=rows, max_size=rows))
        columns[name] = _series(kind, values)
    return pd.DataFrame(columns)


@settings(max_examples=60, deadline=None)
@given(frames(), st.sampled_from([0.0, 0.1, 0.5]))
def test_schema_round_trips_through_dict_and_file(df: pd.DataFrame, margin: float) -> None:
    schema = infer_schema(df, target=TARGET, margin=margin)
    assert Schema.from_dict(schema.to_dict()) == schema
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.yaml"
        write_schema(schema, path)
        assert read_schema(path) == schema
        assert read_schema(path).to_dict() == schema.to_dict()


@settings(max_examples=60, deadline=None)
@given(frames(), st.sampled_from([0.0, 0.1, 0.5]))
def test_reference_data_validates_against_its_own_schema(df: pd.DataFrame, margin: float) -> None:
    schema = infer_schema(df, target=TARGET, margin=margin)
    loose = {"max_duplicate_fraction": 1.0, "min_class_fraction": 0.0}
    regression = validate(df, schema, target=TARGET, task="regression", **loose)
    assert regression.passed, [f.message for f in regression.failures]
    classification = validate(df, schema, target=TARGET, task="classification", **loose)
    assert {f.reason for f in classification.failures} <= {Reason.SINGLE_CLASS}
