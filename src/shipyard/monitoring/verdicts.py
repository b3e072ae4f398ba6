"""From statistics to verdicts: thresholds per column, FDR-adjusted p-values, the dataset verdict.

With large windows every p-value is tiny and with many columns some test fails by
chance, so a column drifts when an effect size reaches its threshold (PSI,
normalised Wasserstein, unseen share, rise of nulls); p-values are reported after
a Benjamini-Hochberg correction across columns and decide only with `use_p_value`.
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
    """The defaults, overridden by the keys set for this column (or for the prediction)."""
    base = config.prediction if column == PREDICTION else config.thresholds
    override = config.features.get(column)
    if override is None:
        return base
    return base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})


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
    status: str  # tested, missing, type_changed, empty, ignored
    results: dict[str, DriftResult] = field(default_factory=dict)
    reference_rows: int = 0
    current_rows: int = 0
    p_value: float | None = None
    p_adjusted: float | None = None
    drifted: bool = False
    triggered: list[str] = field(default_factory=list)
    severity: str = "warn"
    plot: dict[str, Any] = field(default_factory=dict)

    def decide(self, thresholds: DriftThresholds, fdr_alpha: float) -> None:
        self.severity = thresholds.severity or "warn"
        for test in EFFECT_SIZES:
            limit = getattr(thresholds, test)
            result = self.results.get(test)
            if limit is not None and result is not None and result.statistic >= limit:
                self.triggered.append(f"{test} {result.statistic:.3g} >= {limit:g}")
        if thresholds.use_p_value and self.p_adjusted is not None and self.p_adjusted < fdr_alpha:
            self.triggered.append(f"FDR-adjusted p {self.p_adjusted:.2g} < {fdr_alpha:g}")
        self.drifted = bool(self.triggered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "drifted": self.drifted,
            "triggered": self.triggered,
            "severity": self.severity,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
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

    def summary(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "current": self.current,
            "current_rows": self.current_rows,
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
        return CheckResult("drift", Status.PASSED, f"{name}: no drift", subject=name, observed=observed)
    if name == PREDICTION:
        reason = Reason.PREDICTION_DRIFT
    elif all(t.startswith("null_share") for t in feature.triggered):
        reason = Reason.NULL_SHARE_INCREASE
    else:
        reason = Reason.FEATURE_DRIFT
    return CheckResult(
        "drift",
        Status.FAILED,
        f"{name} drifted: {', '.join(feature.triggered)}",
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
