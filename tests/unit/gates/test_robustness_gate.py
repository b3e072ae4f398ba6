"""Robustness: edge cases from the schema and bounded score movement under noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from probe_models import context, features, fitted, raw_rows, schema_of

from shipyard.core.results import Reason, Status
from shipyard.gates.robustness import UNSEEN, RobustnessGate, edge_values


@pytest.fixture(scope="module")
def rows():
    return raw_rows(300)


@pytest.fixture(scope="module")
def schema(rows):
    return schema_of(rows)


def test_edge_values_come_from_the_schema(rows, schema):
    x2 = schema.column("x2")
    assert edge_values("x2", rows, schema) == [x2.minimum, x2.maximum] == [0.0, 17.5]
    x1 = schema.column("x1")
    assert edge_values("x1", rows, schema) == [x1.minimum, x1.maximum, 0]
    assert edge_values("x2", rows.assign(x2=rows.x2 + 20), None)[-1] != 0, (
        "no zero outside the observed range"
    )
    color = edge_values("color", rows, schema)
    assert color[-1] == UNSEEN and color[0] == rows["color"].value_counts().index[-1]
    assert edge_values("color", rows.assign(color=rows.color.where(rows.index > 0)), None)[-1] is None


def test_a_robust_model_passes(rows, schema, seed):
    result = RobustnessGate().evaluate(context(rows, fitted(rows), schema=schema, seed=seed))
    assert result.status is Status.PASSED, result.message
    assert result.evidence["edge_rows"] > 0 and result.evidence["noise_rows"] == len(rows)


def _strict_features(df: pd.DataFrame) -> pd.DataFrame:
    """Features that refuse a colour they were not written for."""
    unknown = sorted(set(df["color"]) - {"r", "g", "b"})
    if unknown:
        raise ValueError(f"unknown colours {unknown}")
    return features(df)


def test_an_unseen_category_that_crashes_the_features_fails(rows, schema):
    model = fitted(rows, _strict_features)
    result = RobustnessGate(noise=0.0).evaluate(context(rows, model, schema=schema))
    assert result.status is Status.FAILED and result.reason is Reason.EDGE_CASE_FAILED
    assert "'color': " in result.message
    assert "ValueError: unknown colours ['__shipyard_unseen__']" in result.message
    assert result.examples[0]["column"] == "color"


def _step_features(df: pd.DataFrame) -> pd.DataFrame:
    """A model that jumps when count crosses 50: noise near the step moves the score a lot."""
    out = features(df)
    out["count"] = (df["count"] >= 50).astype(float) * 100
    return out


def test_a_score_that_jumps_under_small_noise_fails(rows, schema):
    model = fitted(rows.assign(label=(rows["count"] >= 50).astype(int)), _step_features)
    result = RobustnessGate(noise=0.2, max_violations=0.0, edge_cases=False).evaluate(
        context(rows, model, schema=schema)
    )
    assert result.status is Status.FAILED and result.reason is Reason.SCORE_UNSTABLE
    assert result.evidence["noise_violations"] > 0
    assert all(e["change"] > 0.1 for e in result.examples)
    near = np.abs(np.array([e["count"] for e in result.examples]) - 50)
    assert near.max() < 50
