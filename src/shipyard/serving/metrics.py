"""Prometheus metrics of one server, per model version and route, in their own registry.

Per-row distributions (prediction scores, confidence) are counted in bulk with NumPy, one call
per batch: observing thousands of rows one by one would cost more than the model. The score
histogram is therefore kept as plain counters (rows per bucket, sum of scores), which
`prometheus_client` can add to by any amount, and rendered as one histogram at `/metrics`.

With several worker processes (`shipyard serve --workers N`) the parent sets
`PROMETHEUS_MULTIPROC_DIR` to a folder of its own before starting them, so every metric is
kept in memory-mapped files there and whichever worker answers `/metrics` reports the sum over
all workers (`prometheus_client`'s multiprocess mode; the served-model gauge reports the
maximum, so a version any worker serves shows 1).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from shipyard.serving.counters import ServerCounters

LABELS = ("model_version", "route")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
SCORE_BUCKETS = tuple(round(x, 1) for x in np.linspace(0.1, 1.0, 10))
#: the `le` label of each score bucket, as Prometheus writes it, +Inf last
_SCORE_LE = (*(str(bound) for bound in SCORE_BUCKETS), "+Inf")
#: counters the score histogram is rendered from, never shown themselves
_SCORE_ROWS, _SCORE_SUM = "shipyard_score_bucket_rows", "shipyard_score_sum"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_OUTCOMES = ("logged", "quarantined", "lost")


class _Families:
    """Already collected metric families, in the shape `generate_latest` reads."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _totals(
    families: Iterable[Metric], name: str, labels: tuple[str, ...] = LABELS
) -> dict[tuple[str, ...], float]:
    """The `<name>_total` samples of a counter family, by the values of `labels`."""
    return {
        tuple(s.labels[k] for k in labels): s.value
        for family in families
        if family.name == name
        for s in family.samples
        if s.name == f"{name}_total"
    }


def _mean_confidence(families: list[Metric]) -> GaugeMetricFamily:
    mean = GaugeMetricFamily(
        "shipyard_mean_confidence", "Mean top-class probability since start.", labels=LABELS
    )
    rows = _totals(families, "shipyard_confidence_rows")
    for labels, total in _totals(families, "shipyard_confidence_sum").items():
        count = rows.get(labels, 0.0)
        mean.add_metric(list(labels), total / count if count else float("nan"))
    return mean


def _score_histogram(families: list[Metric]) -> HistogramMetricFamily:
    """The prediction-score histogram, from the per-bucket row counters and the score sum."""
    histogram = HistogramMetricFamily(
        "shipyard_prediction_score", "Distribution of prediction scores.", labels=LABELS
    )
    rows = _totals(families, _SCORE_ROWS, (*LABELS, "bucket"))
    for labels, total in _totals(families, _SCORE_SUM).items():
        cumulative = np.cumsum([rows.get((*labels, le), 0.0) for le in _SCORE_LE])
        histogram.add_metric(list(labels), list(zip(_SCORE_LE, cumulative.tolist(), strict=True)), total)
    return histogram


class ServerMetrics:
    """Every metric the server exposes at `/metrics`."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "shipyard_requests", "Requests answered, by status (ok, error).", (*LABELS, "status"), registry=r
        )
        self.invalid = Counter(
            "shipyard_invalid_requests",
            "Requests refused before scoring, by HTTP status.",
            ("code",),
            registry=r,
        )
        self.latency = Histogram(
            "shipyard_request_latency_seconds", "Server time per request.", LABELS,
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "shipyard_batch_rows", "Rows per predict call.", LABELS, buckets=BATCH_BUCKETS, registry=r
        )
        self.shadow_errors = Counter(
            "shipyard_shadow_errors", "Shadow scoring failures.", ("model_version",), registry=r
        )
        self.shadow_skipped = Counter(
            "shipyard_shadow_skipped",
            "Batches not shadow-scored: the shadow was behind.",
            ("model_version",),
            registry=r,
        )
        self.model_loads = Counter(
            "shipyard_model_loads",
            "Model set loads, by result (ok, failed); each worker counts its own.",
            ("result",),
            registry=r,
        )
        self.served = Gauge(
            "shipyard_served_model", "1 for each served version and route.", LABELS,
            multiprocess_mode="max", registry=r,
        )  # fmt: skip
        self._served: set[tuple[str, str]] = set()
        self.score_rows = Counter(
            _SCORE_ROWS, "Scored rows per score bucket (not cumulative).", (*LABELS, "bucket"), registry=r
        )
        self.score_sum = Counter(_SCORE_SUM, "Sum of the finite prediction scores.", LABELS, registry=r)
        self.scored_rows = Counter("shipyard_scored_rows", "Rows scored.", LABELS, registry=r)
        self.confidence_sum = Counter(
            "shipyard_confidence_sum", "Sum of the top-class probability of scored rows.", LABELS, registry=r
        )
        self.confidence_rows = Counter(
            "shipyard_confidence_rows", "Scored rows with a top-class probability.", LABELS, registry=r
        )
        self.log_rows = Counter(
            "shipyard_prediction_log_rows",
            "Prediction log rows by outcome: logged (in Parquet), quarantined (kept in _quarantine/), "
            "lost (in neither; see the server log).",
            ("model_version", "outcome"),
            registry=r,
        )
        self.log_uploads = Counter(
            "shipyard_log_uploads",
            "Log parts put in the object store, by log (predictions, feedback) and result (ok, failed: "
            "the part stays local and is retried).",
            ("log", "result"),
            registry=r,
        )

    def observe_rows(
        self, labels: tuple[str, str], scores: np.ndarray, confidence: np.ndarray | None
    ) -> None:
        """Count one batch's scores (and top-class probabilities) in bulk."""
        finite = scores[np.isfinite(scores)]
        counts = np.bincount(
            np.searchsorted(SCORE_BUCKETS, finite, side="left"), minlength=len(SCORE_BUCKETS) + 1
        )
        # Histogram.observe adds 1 to the first bucket whose bound is >= the value: add them all at once.
        for le, count in zip(_SCORE_LE, counts.tolist(), strict=True):
            if count:
                self.score_rows.labels(*labels, le).inc(count)
        self.score_sum.labels(*labels).inc(float(finite.sum()))
        self.scored_rows.labels(*labels).inc(len(finite))
        if confidence is not None and len(confidence):
            self.confidence_sum.labels(*labels).inc(float(confidence.sum()))
            self.confidence_rows.labels(*labels).inc(len(confidence))

    def show_served(self, served: set[tuple[str, str]]) -> None:
        """Set the served-model gauge to 1 for each `(version, route)` in `served`, 0 for the others."""
        for labels in self._served - served:
            self.served.labels(*labels).set(0)
        for labels in served:
            self.served.labels(*labels).set(1)
        self._served = served

    def watch(self, counters: ServerCounters) -> None:
        """Expose the prediction log's row outcomes, as `counters` count them, at `/metrics`."""
        counters.on_add = self._count_log_rows

    def _count_log_rows(self, version: str, deltas: dict[str, int]) -> None:
        for outcome in _OUTCOMES:
            child = self.log_rows.labels(version, outcome)
            if deltas.get(f"rows_{outcome}"):
                child.inc(deltas[f"rows_{outcome}"])

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            families = list(self.registry.collect())
        else:
            families = list(MultiProcessCollector(None, path=self.multiprocess_dir).collect())
        shown = [family for family in families if family.name not in (_SCORE_ROWS, _SCORE_SUM)]
        shown += [_score_histogram(families), _mean_confidence(families)]
        return generate_latest(_Families(shown))
