"""A synthetic reference data set, drawn for several seeds, and its inferred schema."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from shipyard.data import Schema, infer_schema

SEEDS = [0, 1, 2, 3, 4]
TARGET = "label"


def make_reference(seed: int, rows: int = 400) -> pd.DataFrame:
    """Transactions with one column of every dtype family; `amount` is never negative."""
    rng = np.random.default_rng(seed)
    age = pd.array(rng.integers(18, 90, rows), dtype="Int64")
    age[rng.random(rows) < 0.05] = pd.NA
    label = rng.permutation(np.resize([1, 0, 0, 0, 0], rows))
    return pd.DataFrame(
        {
            "transaction_id": np.arange(1000, 1000 + rows),
            "amount": rng.gamma(2.0, 50.0, rows),
            "balance": rng.normal(0.0, 1000.0, rows),
            "merchant_category": rng.choice(["grocery", "travel", "fuel", "online"], rows),
            "is_weekend": rng.random(rows) < 0.3,
            "age": age,
            "created_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 30 * 86400, rows), unit="s"),
            "channel": pd.Categorical(rng.choice(["web", "app"], rows)),
            TARGET: label,
        }
    )


@pytest.fixture(params=SEEDS)
def seed(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def reference(seed: int) -> pd.DataFrame:
    return make_reference(seed)


@pytest.fixture
def schema(reference: pd.DataFrame) -> Schema:
    return infer_schema(reference, target=TARGET)


def strict(schema: Schema) -> Schema:
    """The schema as files written before batch allowances read: no nulls where not nullable,
    no unseen category, no observed range (beyond minimum/maximum fails)."""
    columns = tuple(
        dataclasses.replace(
            c, max_null_fraction=None, max_unseen_fraction=None, observed_minimum=None, observed_maximum=None
        )
        for c in schema.columns
    )
    return dataclasses.replace(schema, columns=columns)


@pytest.fixture
def strict_schema(schema: Schema) -> Schema:
    return strict(schema)


@pytest.fixture
def draw():
    """`make_reference(seed, rows)`, for tests that need other sizes."""
    return make_reference
