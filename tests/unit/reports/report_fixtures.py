"""Run summaries as `RunOutcome.to_dict()` writes them, built from real results and curve data.

Imported by conftest.py (fixtures) and by tests that need other variants."""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.evaluation.curves import curve_data, histogram
from shipyard.evaluation.outputs import ModelOutputs

HOSTILE = "<script>alert('x')</script> | `tick`"


def _outputs(seed: int, n: int, noise: float) -> tuple[np.ndarray, ModelOutputs]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(2 * y - 1) * 1.5 + rng.normal(scale=noise, size=n)))
    return y, ModelOutputs((p > 0.5).astype(int), np.c_[1 - p, p], (0, 1))


def _gates(with_baseline: bool) -> Report:
    comparison = {
        "metric": "roc_auc",
        "slice": "overall",
        "candidate": 0.91,
        "baseline": 0.88,
        "difference": 0.03,
        "ci_low": 0.01,
        "ci_high": 0.05,
        "confidence": 0.9,
        "test": "delong",
        "p_value": 0.001,
        "p_adjusted": 0.002,
        "verdict": "pass",
    }
    by_slice = {**comparison, "slice": f"device={HOSTILE}", "difference": -0.04, "verdict": "fail"}
    regression = CheckResult(
        check="no_regression",
        subject="roc_auc",
        status=Status.PASSED if with_baseline else Status.SKIPPED,
        message="roc_auc = 0.91, production = 0.88" if with_baseline else "no production model yet",
        reason=None if with_baseline else Reason.NO_BASELINE,
        evidence={"comparisons": [comparison, by_slice], "baseline_version": "2"} if with_baseline else {},
    )
    behaviour = CheckResult(
        check="invariance",
        subject="amount",
        status=Status.FAILED,
        message=f"3 predictions flip when amount changes {HOSTILE}",
        reason=Reason.REGRESSION,
        observed=3,
        expected=0,
        hint="Make the model robust to amount.",
        examples=[{"amount": 12.5, "before": 0.2, "after": 0.8, "note": HOSTILE}, {"amount": 99.0}],
    )
    warning = CheckResult(
        check="performance",
        subject="latency_p99_ms",
        status=Status.FAILED,
        severity=Severity.WARN,
        message="p99 latency 12 ms above 10 ms",
        observed=12.0,
        expected=10.0,
    )
    return Report.of("gates", [regression, behaviour, warning])


def make_summary(*, with_baseline: bool = True, seed: int = 0) -> dict[str, Any]:
    y, candidate = _outputs(seed, 600, 1.0)
    curves = curve_data("classification", y, candidate)
    curves["latency"] = histogram(np.random.default_rng(seed).lognormal(0, 0.4, 200), log=True)
    evaluation = {
        "metrics": {"roc_auc": 0.91, "accuracy": 0.84, "log_loss": float("nan")},
        "slices": {
            "device": {"mobile": {"count": 400.0, "roc_auc": 0.9}, HOSTILE: {"count": 200.0, "roc_auc": 0.8}}
        },
        "performance": {"latency_p50_ms": 1.0, "latency_p99_ms": 2.5, "size_mb": 0.4},
        "test_rows": 600,
        "curves": curves,
    }
    data = Report.of(
        "data", [CheckResult(check="dtype", subject="amount", status=Status.PASSED, message="ok")]
    )
    return {
        "version": "3",
        "verdict": "rejected",
        "new_version": True,
        "stages": [{"stage": "train", "status": "ran", "seconds": 1.234}],
        "data_report": data.to_dict(),
        "gate_report": _gates(with_baseline).to_dict(),
        "evaluation": evaluation,
    }


def make_baseline(seed: int = 0) -> dict[str, Any]:
    y, production = _outputs(seed, 600, 1.6)
    return {
        "version": "2",
        "metrics": {"roc_auc": 0.88, "accuracy": 0.8},
        "curves": curve_data("classification", y, production),
    }
