"""Minimum-functionality cases with date-time columns are scored as the server would score them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from probe_models import TARGET, context
from sklearn.linear_model import LogisticRegression

from shipyard.core.results import Status
from shipyard.data.schema import infer_schema
from shipyard.errors import ConfigError
from shipyard.gates.functionality import MinimumFunctionalityGate
from shipyard.training._servable import Servable


def night_features(df: pd.DataFrame) -> pd.DataFrame:
    """1.0 for a transaction before 06:00 UTC; naive values are UTC, as the server hands them over."""
    return pd.DataFrame({"night": (df["seen_at"].dt.hour < 6).astype(float)}, index=df.index)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    seen_at = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30 * 24 * 60, 400), unit="min")
    frame = pd.DataFrame({"seen_at": seen_at})
    frame[TARGET] = (frame["seen_at"].dt.hour < 6).astype(int)
    return frame


@pytest.fixture(scope="module")
def model(rows: pd.DataFrame) -> Servable:
    estimator = LogisticRegression().fit(night_features(rows), rows[TARGET])
    return Servable(estimator=estimator, features=night_features, task="classification", target=TARGET)


def _cases_file(tmp_path, text: str) -> MinimumFunctionalityGate:
    (tmp_path / "cases.yaml").write_text(text)
    return MinimumFunctionalityGate(cases="cases.yaml")


def test_yaml_dates_text_dates_and_offsets_are_read_as_utc(rows, model, tmp_path) -> None:
    # YAML makes the first two date/datetime objects. The offset one is 07:00 local but 05:00 UTC:
    # night, as the server reads it (a zone-keeping parse would call it day).
    gate = _cases_file(
        tmp_path,
        """
cases:
  - {name: yaml date-time, row: {seen_at: 2026-02-01 02:30:00}, expected: 1}
  - {name: yaml date, row: {seen_at: 2026-02-01}, expected: 1}
  - {name: text with Z, row: {seen_at: "2026-02-01T14:00:00Z"}, expected: 0}
  - {name: offset, row: {seen_at: "2026-02-01T07:00:00+02:00"}, expected: 1}
""",
    )
    ctx = context(rows, model, schema=infer_schema(rows, target=TARGET), project_root=tmp_path)
    result = gate.evaluate(ctx)
    assert result.status is Status.PASSED, result.message


def test_a_case_date_the_server_would_refuse_names_case_column_and_value(rows, model, tmp_path) -> None:
    gate = _cases_file(
        tmp_path,
        """
cases:
  - {name: fine, row: {seen_at: "2026-02-01T02:00:00Z"}, expected: 1}
  - {name: week date, row: {seen_at: "2026-W05-1"}, expected: 1}
""",
    )
    ctx = context(rows, model, schema=infer_schema(rows, target=TARGET), project_root=tmp_path)
    with pytest.raises(
        ConfigError, match=r"cases\[1\] \(week date\): 'seen_at' = '2026-W05-1' is not an ISO 8601"
    ):
        gate.evaluate(ctx)
