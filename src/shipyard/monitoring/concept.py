"""Concept drift on labelled feedback: detectors on the error stream and rolling metrics.

Once labels arrive (`POST /feedback`), each prediction becomes an error: 0/1 for
classification, the absolute error for regression. river's ADWIN (adaptive
window, two-sided) and Page-Hinkley (cumulative sum, upward changes only) read that
stream in prediction order and raise a timestamped alert where it changes. Rolling
windows of the project's metrics are compared with the model's offline
evaluation. Page-Hinkley runs without river's forgetting factor (alpha 0.9999 made
it alarm on 100 of 100 stable 50,000-row streams) unless `ph_alpha` sets one.
Defaults come from `benchmarks/drift_concept.py` (false-alarm rate on stable
100,000-row streams and detection delay over many seeds; see docs/monitoring.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from shipyard.config.policy import ConceptConfig
from shipyard.evaluation.outputs import ModelOutputs

if TYPE_CHECKING:
    from river.base import DriftDetector


@dataclass(frozen=True)
class ConceptAlert:
    """One detection: which detector, at which labelled prediction, when, and why."""

    detector: str
    index: int
    at: datetime | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat() if self.at is not None else None
        return {
            "detector": self.detector,
            "index": self.index,
            "at": at,
            "message": self.message,
            **self.evidence,
        }


def error_stream(task: str, y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """0/1 misclassifications (labels compared as text) or absolute errors (regression)."""
    if task == "regression":
        return np.abs(np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64))
    return (np.asarray(y_true).astype(str) != np.asarray(y_pred).astype(str)).astype(np.float64)


def make_detectors(config: ConceptConfig) -> dict[str, DriftDetector]:
    """Fresh river detectors with the configured parameters."""
    from river import drift

    return {
        "adwin": drift.ADWIN(delta=config.adwin_delta),
        "page_hinkley": drift.PageHinkley(
            min_instances=config.ph_min_instances,
            delta=config.ph_delta,
            threshold=config.ph_threshold,
            alpha=config.ph_alpha,
            mode="up",
        ),
    }


def detect_changes(
    errors: np.ndarray, config: ConceptConfig, timestamps: Sequence[datetime] | None = None
) -> list[ConceptAlert]:
    """Run every detector over the error stream; one alert per detection, in stream order."""
    alerts = []
    for name, detector in make_detectors(config).items():
        for i, x in enumerate(errors.tolist()):
            detector.update(x)
            if detector.drift_detected:
                at = timestamps[i] if timestamps is not None else None
                split = max(i + 1 - config.window, 0)
                recent = float(np.mean(errors[split : i + 1]))
                earlier = float(np.mean(errors[:split])) if split else math.nan
                when = f" at {at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else ""
                alerts.append(
                    ConceptAlert(
                        name,
                        i,
                        at,
                        f"{name} detected a change in the error stream at labelled prediction {i}{when}: "
                        f"mean error {earlier:.3g} before, {recent:.3g} over the last {config.window}.",
                        {"mean_error_before": earlier, "mean_error_recent": recent},
                    )
                )
    return sorted(alerts, key=lambda a: a.index)


@dataclass(frozen=True)
class MetricWindow:
    """A metric on one window of labelled predictions, against its offline value."""

    metric: str
    start: int
    end: int
    value: float
    offline: float | None
    drop: float | None  # how much worse than offline (positive = worse)
    at: datetime | None = None


def rolling_metrics(
    task: str,
    y_true: np.ndarray,
    outputs: ModelOutputs,
    offline: dict[str, float],
    metrics: Sequence[str],
    config: ConceptConfig,
    timestamps: Sequence[datetime] | None = None,
) -> tuple[list[MetricWindow], list[ConceptAlert]]:
    """Each metric on consecutive windows of `config.window` rows; alert when worse than offline
    by more than `config.max_metric_drop`."""
    from shipyard.evaluation.metrics import METRICS

    windows, alerts = [], []
    n, size = len(y_true), config.window
    for start in range(0, max(n - size + 1, 1), size):
        end = min(start + size, n)
        chunk = ModelOutputs(
            outputs.y_pred[start:end],
            None if outputs.y_score is None else outputs.y_score[start:end],
            outputs.classes,
        )
        at = timestamps[end - 1] if timestamps is not None and end else None
        for name in metrics:
            metric = METRICS[name]
            value = metric(y_true[start:end], chunk)
            reference = offline.get(name)
            drop = None
            if reference is not None and not math.isnan(value):
                drop = (reference - value) if metric.greater_is_better else (value - reference)
            windows.append(MetricWindow(name, start, end, value, reference, drop, at))
            if drop is not None and drop > config.max_metric_drop:
                when = f" (up to {at:%Y-%m-%d %H:%M:%S} UTC)" if at is not None else ""
                alerts.append(
                    ConceptAlert(
                        f"rolling_{name}",
                        end - 1,
                        at,
                        f"{name} = {value:.4g} on labelled predictions {start}..{end - 1}{when}, offline "
                        f"{reference:.4g}: worse by {drop:.3g} > {config.max_metric_drop:g}.",
                        {"value": value, "offline": reference, "drop": drop},
                    )
                )
    return windows, alerts
