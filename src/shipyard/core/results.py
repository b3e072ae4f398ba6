"""Results of checks and gates, and the `Report` that collects them.

A data check and a gate produce the same `CheckResult`: what was checked
(`check`, `subject`), the verdict (`status`, `severity`, `reason`), and the
evidence (`observed`, `expected`, `examples`, `evidence`). A `Report` renders a
headline, one table row per result, and stable JSON; `raise_for_status()` turns
a failing report into an exception (the httpx idiom).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from shipyard.errors import DataValidationError, GateFailedError


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Severity(StrEnum):
    """A `fail` result blocks; a `warn` result is shown but does not block."""

    WARN = "warn"
    FAIL = "fail"


class Reason(StrEnum):
    """Stable reason codes. Never rename a released member: users filter on these strings."""

    # data
    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    WRONG_DTYPE = "wrong_dtype"
    NULL_VALUES = "null_values"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    UNSEEN_CATEGORY = "unseen_category"
    DUPLICATE_VALUES = "duplicate_values"
    DUPLICATE_ROWS = "duplicate_rows"
    TOO_FEW_ROWS = "too_few_rows"
    TOO_MANY_ROWS = "too_many_rows"
    EMPTY_DATA = "empty_data"
    INVALID_LABEL = "invalid_label"
    SINGLE_CLASS = "single_class"
    CLASS_IMBALANCE = "class_imbalance"
    # gates
    METRIC_BELOW_MINIMUM = "metric_below_minimum"
    METRIC_ABOVE_MAXIMUM = "metric_above_maximum"
    WRONG_OUTPUT_SHAPE = "wrong_output_shape"
    WRONG_OUTPUT_DTYPE = "wrong_output_dtype"
    NAN_PREDICTIONS = "nan_predictions"
    PROBABILITY_OUT_OF_RANGE = "probability_out_of_range"
    SINGLE_CLASS_PREDICTED = "single_class_predicted"
    LATENCY_ABOVE_LIMIT = "latency_above_limit"
    SIZE_ABOVE_LIMIT = "size_above_limit"
    MEMORY_ABOVE_LIMIT = "memory_above_limit"
    THROUGHPUT_BELOW_LIMIT = "throughput_below_limit"
    REGRESSION = "regression"
    NO_BASELINE = "no_baseline"
    INCONCLUSIVE = "inconclusive"
    GATE_ERROR = "gate_error"
    ROUND_TRIP_MISMATCH = "round_trip_mismatch"
    TESTS_FAILED = "tests_failed"
    # statistics (add members for the statistical gates below this line)
    NOT_SUPERIOR = "not_superior"
    UNDERPOWERED = "underpowered"
    # behaviour, robustness and skew (add below this line)
    INVARIANCE_VIOLATED = "invariance_violated"
    DIRECTIONAL_EXPECTATION_FAILED = "directional_expectation_failed"
    MINIMUM_FUNCTIONALITY_FAILED = "minimum_functionality_failed"
    INVALID_PERTURBATION = "invalid_perturbation"
    EDGE_CASE_FAILED = "edge_case_failed"
    SCORE_UNSTABLE = "score_unstable"
    NONDETERMINISTIC = "nondeterministic"
    TRAINING_SERVING_SKEW = "training_serving_skew"
    # fairness, calibration and leakage (add below this line)
    DEMOGRAPHIC_PARITY_GAP = "demographic_parity_gap"
    EQUALIZED_ODDS_GAP = "equalized_odds_gap"
    FALSE_POSITIVE_RATE_GAP = "false_positive_rate_gap"
    CALIBRATION_ERROR_ABOVE_LIMIT = "calibration_error_above_limit"
    BRIER_ABOVE_LIMIT = "brier_above_limit"
    CLASS_COLLAPSE = "class_collapse"
    LOW_PREDICTION_ENTROPY = "low_prediction_entropy"
    CONSTANT_PREDICTIONS = "constant_predictions"
    SINGLE_FEATURE_LEAKAGE = "single_feature_leakage"
    TIME_LEAKAGE = "time_leakage"
    # serving (add below this line)
    # delivery and rollout analysis (add below this line)
    ERROR_RATE_ABOVE_LIMIT = "error_rate_above_limit"
    LATENCY_RATIO_ABOVE_LIMIT = "latency_ratio_above_limit"
    CONFIDENCE_BELOW_LIMIT = "confidence_below_limit"
    PREDICTION_SHIFT = "prediction_shift"
    SHADOW_DISAGREEMENT = "shadow_disagreement"
    NOT_MEASURED = "not_measured"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_DATA_DEADLINE = "no_data_deadline"
    UNDECIDED_DEADLINE = "undecided_deadline"
    # monitoring and drift (add below this line)
    FEATURE_DRIFT = "feature_drift"
    PREDICTION_DRIFT = "prediction_drift"
    DATASET_DRIFT = "dataset_drift"
    NULL_SHARE_INCREASE = "null_share_increase"
    CONCEPT_DRIFT = "concept_drift"
    METRIC_DROP = "metric_drop"


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check or gate on one subject (a column, a metric, a slice)."""

    check: str
    status: Status
    message: str
    subject: str = ""
    severity: Severity = Severity.FAIL
    reason: Reason | None = None
    observed: Any = None
    expected: Any = None
    hint: str = ""
    examples: Sequence[Any] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """True when this result fails with severity `fail`."""
        return self.status is Status.FAILED and self.severity is Severity.FAIL

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "check": self.check,
                "subject": self.subject,
                "status": self.status,
                "severity": self.severity,
                "reason": self.reason,
                "message": self.message,
                "observed": self.observed,
                "expected": self.expected,
                "hint": self.hint,
                "examples": list(self.examples),
                "evidence": self.evidence,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            check=data["check"],
            subject=data.get("subject", ""),
            status=Status(data["status"]),
            severity=Severity(data.get("severity", "fail")),
            reason=Reason(data["reason"]) if data.get("reason") else None,
            message=data.get("message", ""),
            observed=data.get("observed"),
            expected=data.get("expected"),
            hint=data.get("hint", ""),
            examples=tuple(data.get("examples", ())),
            evidence=dict(data.get("evidence", {})),
        )


@dataclass(frozen=True)
class Report:
    """Every result of one stage (`data` or `gates`), in the order they ran."""

    kind: str
    results: tuple[CheckResult, ...] = ()

    @classmethod
    def of(cls, kind: str, results: Iterable[CheckResult]) -> Report:
        return cls(kind=kind, results=tuple(results))

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is Status.FAILED and not r.blocking]

    @property
    def passed(self) -> bool:
        return not self.failures

    def headline(self) -> str:
        """One line: `2 of 9 gates failed (1 warning)` or `all 9 data checks passed`."""
        noun = "data checks" if self.kind == "data" else self.kind
        total = len(self.results)
        skipped = sum(r.status is Status.SKIPPED for r in self.results)
        extra = []
        if self.warnings:
            extra.append(f"{len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}")
        if skipped:
            extra.append(f"{skipped} skipped")
        tail = f" ({', '.join(extra)})" if extra else ""
        if self.failures:
            return f"{len(self.failures)} of {total} {noun} failed{tail}"
        return f"all {total} {noun} passed{tail}"

    def raise_for_status(self) -> Report:
        """Raise `DataValidationError` or `GateFailedError` when any blocking result failed."""
        if self.passed:
            return self
        details = "\n".join(f"  - {r.message}" for r in self.failures)
        message = f"{self.headline()}:\n{details}"
        if self.kind == "data":
            raise DataValidationError(message, self)
        raise GateFailedError(message, self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "passed": self.passed,
            "headline": self.headline(),
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(kind=data["kind"], results=tuple(CheckResult.from_dict(r) for r in data["results"]))
