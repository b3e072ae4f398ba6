"""From statistics to verdicts: thresholds per column, FDR-adjusted p-values, the dataset verdict.

A column drifts only when an effect size reaches its threshold (PSI, normalised
Wasserstein, unseen share, rise of nulls) AND the change is statistically
significant at the window's size: the p-value of its test (KS for numbers,
chi-squared for categories, a one-sided two-proportion test for the null share),
computed analytically at the reference and current sizes, Benjamini-Hochberg
adjusted across every test of every column, is below `fdr_alpha`. Effect sizes
alone cry wolf on small windows (their sampling noise at 100 rows exceeds the
thresholds); p-values alone flag harmless shifts on large ones. Under the global
null, BH keeps the chance that any column of a window is flagged at or below
`fdr_alpha` (measured by benchmarks/drift_calibration.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.config.policy import DriftThresholds, MonitoringConfig
from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.data.profile import PREDICTION
from shipyard.monitoring.base import DriftResult

EFFECT_SIZES = ("psi", "wasserstein", "ks", "js", "unseen_share", "null_share")


def thresholds_for(config: MonitoringConfig, column: str) -> DriftThresholds:
    """The defaults, overridden by the keys set for this column (or for the prediction); an unset
    severity is `fail` when `fail_on` is `column`, else `warn`."""
    base = config.prediction if column == PREDICTION else config.thresholds
    override = config.features.get(column)
    if override is not None:
        base = base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
    if base.severity is None:
        base = base.model_copy(update={"severity": "fail" if config.fail_on == "column" else "warn"})
    return base


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Adjusted p-values (step-up), as `scipy.stats.false_discovery_control(p, method='bh')`."""
    p = np.asarray(p_values, dtype=np.float64)
    if not len(p):
        return []
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out.tolist()


@dataclass
class FeatureDrift:
    """Every statistic of one column, its verdict, and aggregates for the report's plot."""

    name: str
    kind: str
    status: str  # tested, missing, type_changed, empty, ignored, too_few_rows
    results: dict[str, DriftResult] = field(default_factory=dict)
    reference_rows: int = 0
    current_rows: int = 0
    p_value: float | None = None  # the distribution test's (KS or chi-squared)
    p_adjusted: float | None = None
    null_p_adjusted: float | None = None  # the null-share test's, adjusted
    drifted: bool = False
    triggered: list[str] = field(default_factory=list)
    within_noise: list[str] = field(default_factory=list)  # effects past a threshold, not significant
    severity: str = "warn"
    plot: dict[str, Any] = field(default_factory=dict)

    def decide(self, thresholds: DriftThresholds, fdr_alpha: float) -> None:
        """Drifted when an effect reaches its threshold and its test is significant after FDR."""
        self.severity = thresholds.severity or "warn"
        significant = {
            "distribution": self.p_adjusted is not None and self.p_adjusted < fdr_alpha,
            "null_share": self.null_p_adjusted is not None and self.null_p_adjusted < fdr_alpha,
        }
        for test in EFFECT_SIZES:
            limit = getattr(thresholds, test)
            result = self.results.get(test)
            if limit is None or result is None or result.statistic < limit:
                continue
            text = f"{test} {result.statistic:.3g} >= {limit:g}"
            family = "null_share" if test == "null_share" else "distribution"
            (self.triggered if significant[family] else self.within_noise).append(text)
        if thresholds.use_p_value and significant["distribution"] and not self.triggered:
            self.triggered.append(f"FDR-adjusted p {self.p_adjusted:.2g} < {fdr_alpha:g}")
        self.drifted = bool(self.triggered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "drifted": self.drifted,
            "triggered": self.triggered,
            "within_noise": self.within_noise,
            "severity": self.severity,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "null_p_adjusted": self.null_p_adjusted,
            "statistics": {
                k: {"statistic": r.statistic, "p_value": r.p_value, "exact": r.exact, **r.detail}
                for k, r in self.results.items()
            },
            "plot": self.plot,
        }


@dataclass
class DriftReport:
    """The drift of every column between a reference and a current window."""

    features: list[FeatureDrift]
    reference: str
    current: str
    current_rows: int
    exact: bool
    drift_share: float
    config: MonitoringConfig

    @property
    def tested(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.status == "tested" and f.name != PREDICTION]

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.tested if f.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted) / len(self.tested) if self.tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.tested) and self.share >= self.drift_share

    @property
    def empty(self) -> bool:
        return self.current_rows == 0

    @property
    def too_few_rows(self) -> bool:
        """Fewer current rows than `monitoring.min_rows`: no verdict, neither pass nor fail."""
        return 0 < self.current_rows < self.config.min_rows

    def too_few_rows_message(self) -> str:
        return (
            f"Too few rows to judge drift: {self.current_rows} current rows, fewer than "
            f"monitoring.min_rows = {self.config.min_rows}."
        )

    @property
    def verdict(self) -> str:
        """`too_few_rows`, `empty`, `drift` (a blocking check failed) or `no_drift`."""
        if self.empty:
            return "empty"
        if self.too_few_rows:
            return "too_few_rows"
        return "no_drift" if self.to_report().passed else "drift"

    def summary(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "current": self.current,
            "current_rows": self.current_rows,
            "min_rows": self.config.min_rows,
            "verdict": self.verdict,
            "fail_on": self.config.fail_on,
            "exact": self.exact,
            "columns_tested": len(self.tested),
            "columns_drifted": [f.name for f in self.drifted],
            "drifted_share": self.share,
            "drift_share_threshold": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "prediction_drift": any(f.name == PREDICTION and f.drifted for f in self.features),
        }

    def to_dict(self) -> dict[str, Any]:
        from shipyard.core.results import _jsonable

        return _jsonable(
            {
                "summary": self.summary(),
                "features": [f.to_dict() for f in self.features],
                "checks": self.to_report().to_dict(),
                "config": self.config.model_dump(),
            }
        )

    def to_report(self) -> Report:
        """One check per column plus the dataset verdict, as every other Shipyard report."""
        results = [_check(f) for f in self.features]
        if self.too_few_rows:
            message = self.too_few_rows_message()
            hint = "Widen --window, or lower monitoring.min_rows (its false-alarm rate is measured from 100)."
            results.append(
                CheckResult(
                    "dataset_drift",
                    Status.SKIPPED,
                    message,
                    subject="dataset",
                    reason=Reason.TOO_FEW_ROWS,
                    observed=self.current_rows,
                    expected=f">= {self.config.min_rows}",
                    hint=hint,
                )
            )
            return Report.of("drift checks", results)
        share = f"{len(self.drifted)} of {len(self.tested)} columns drifted ({self.share:.0%})"
        results.append(
            CheckResult(
                check="dataset_drift",
                subject="dataset",
                status=Status.FAILED if self.dataset_drift else Status.PASSED,
                message=f"{share}; dataset drift at {self.drift_share:.0%}",
                reason=Reason.DATASET_DRIFT if self.dataset_drift else None,
                observed=self.share,
                expected=f"< {self.drift_share:g}",
                hint="Retrain on recent data, or raise monitoring.drift_share if this shift is expected."
                if self.dataset_drift
                else "",
                evidence={"drifted": [f.name for f in self.drifted]},
            )
        )
        return Report.of("drift checks", results)


_SKIPPED = {
    "empty": "no current rows",
    "ignored": "ignored by monitoring.features",
    "too_few_rows": "too few rows to judge",
}


def _check(feature: FeatureDrift) -> CheckResult:
    name, severity = feature.name, Severity(feature.severity)
    if feature.status in _SKIPPED:
        return CheckResult("drift", Status.SKIPPED, f"{name}: {_SKIPPED[feature.status]}", subject=name)
    if feature.status == "missing":
        return CheckResult(
            "drift",
            Status.FAILED,
            f"Column '{name}' is in the reference but not in the current data.",
            subject=name,
            severity=severity,
            reason=Reason.MISSING_COLUMN,
            hint="Check the client sending it, or retrain without it.",
        )
    if feature.status == "type_changed":
        return CheckResult(
            "drift",
            Status.FAILED,
            f"Column '{name}' changed type ({feature.plot.get('types')}).",
            subject=name,
            severity=severity,
            reason=Reason.WRONG_DTYPE,
            evidence=feature.plot,
        )
    observed = {k: r.statistic for k, r in feature.results.items()}
    if not feature.drifted:
        noise = ""
        if feature.within_noise:
            p = feature.p_adjusted if feature.p_adjusted is not None else feature.null_p_adjusted
            noise = f" ({', '.join(feature.within_noise)}, within sampling noise: FDR-adjusted p {p:.2g})"
        message = f"{name}: no drift{noise}"
        return CheckResult("drift", Status.PASSED, message, subject=name, observed=observed)
    nulls_only = all(t.startswith("null_share") for t in feature.triggered)
    if name == PREDICTION:
        reason = Reason.PREDICTION_DRIFT
    elif nulls_only:
        reason = Reason.NULL_SHARE_INCREASE
    else:
        reason = Reason.FEATURE_DRIFT
    significance = feature.null_p_adjusted if nulls_only else feature.p_adjusted
    return CheckResult(
        "drift",
        Status.FAILED,
        f"{name} drifted: {', '.join(feature.triggered)} (FDR-adjusted p {significance:.2g})",
        subject=name,
        severity=severity,
        reason=reason,
        observed=observed,
        expected=feature.triggered,
        hint=f"Compare the reference and current distributions of '{name}' in the HTML report; "
        f"set monitoring.features.{name} thresholds if this shift is expected.",
        evidence={"p_adjusted": feature.p_adjusted, **_unseen(feature)},
    )


def _unseen(feature: FeatureDrift) -> dict[str, Any]:
    result = feature.results.get("unseen_share")
    return {"unseen": result.detail.get("unseen", {})} if result is not None and result.statistic else {}
