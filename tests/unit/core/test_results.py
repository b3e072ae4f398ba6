import json

import numpy as np
import pytest

from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.errors import DataValidationError, GateFailedError


def _result(status=Status.PASSED, severity=Severity.FAIL, **kw):
    return CheckResult(check="c", status=status, message="m", severity=severity, **kw)


def test_headline_counts_failures_warnings_and_skips():
    report = Report.of(
        "gates",
        [
            _result(),
            _result(Status.FAILED),
            _result(Status.FAILED, Severity.WARN),
            _result(Status.SKIPPED),
        ],
    )
    assert not report.passed
    assert report.headline() == "1 of 4 gates failed (1 warning, 1 skipped)"


def test_warnings_do_not_block():
    report = Report.of("gates", [_result(Status.FAILED, Severity.WARN)])
    assert report.passed
    assert report.raise_for_status() is report


@pytest.mark.parametrize(("kind", "error"), [("data", DataValidationError), ("gates", GateFailedError)])
def test_raise_for_status_carries_the_report(kind, error):
    report = Report.of(kind, [_result(Status.FAILED)])
    with pytest.raises(error) as info:
        report.raise_for_status()
    assert info.value.report is report


def test_json_round_trip_with_numpy_and_nan():
    result = _result(
        Status.FAILED,
        reason=Reason.ABOVE_MAXIMUM,
        observed=np.int64(3),
        expected="<= 5",
        examples=(np.float64(7.5), float("nan")),
        evidence={"ci": (np.float32(0.5), 1.0), "inf": float("inf")},
    )
    text = Report.of("data", [result]).to_json()
    data = json.loads(text)
    assert data["results"][0]["observed"] == 3
    assert data["results"][0]["examples"] == [7.5, None]
    back = Report.from_dict(data)
    assert back.results[0].reason is Reason.ABOVE_MAXIMUM
    assert back.to_dict() == data


def test_reason_codes_are_snake_case_and_unique():
    values = [r.value for r in Reason]
    assert len(values) == len(set(values))
    assert all(v == v.lower() and " " not in v for v in values)
