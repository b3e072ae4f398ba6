"""Prometheus metrics of one server, per model version and route, in their own registry.

Per-request counters and latency use `prometheus_client`; per-row distributions (prediction
scores, confidence) are counted in bulk with NumPy, one call per batch, and exposed by a
custom collector: observing thousands of rows one by one would cost more than the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from shipyard.serving.counters import ServerCounters

LABELS = ("model_version", "route")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
SCORE_BUCKETS = tuple(round(x, 1) for x in np.linspace(0.1, 1.0, 10))


class _RowDistributions(Collector):
    """Bulk-updated histogram of prediction scores and running mean confidence per label pair."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edges = np.asarray(SCORE_BUCKETS)
        self._scores: dict[tuple[str, str], list[Any]] = {}
        self._confidence: dict[tuple[str, str], list[float]] = {}

    def observe(self, labels: tuple[str, str], scores: np.ndarray, confidence: np.ndarray | None) -> None:
        finite = scores[np.isfinite(scores)]
        counts = np.bincount(
            np.searchsorted(self._edges, finite, side="left"), minlength=len(self._edges) + 1
        )
        with self._lock:
            state = self._scores.setdefault(labels, [np.zeros(len(self._edges) + 1, dtype=np.int64), 0.0])
            state[0] += counts
            state[1] += float(finite.sum())
            if confidence is not None and len(confidence):
                total = self._confidence.setdefault(labels, [0.0, 0.0])
                total[0] += float(confidence.sum())
                total[1] += float(len(confidence))

    def collect(self) -> Iterator[Any]:
        scores = HistogramMetricFamily(
            "shipyard_prediction_score", "Distribution of prediction scores.", labels=LABELS
        )
        mean = GaugeMetricFamily(
            "shipyard_mean_confidence", "Mean top-class probability since start.", labels=LABELS
        )
        rows = CounterMetricFamily("shipyard_scored_rows", "Rows scored.", labels=LABELS)
        with self._lock:
            for labels, (counts, total) in self._scores.items():
                cumulative = np.cumsum(counts)
                buckets = [
                    (str(edge), float(c)) for edge, c in zip(self._edges, cumulative[:-1], strict=True)
                ]
                buckets.append(("+Inf", float(cumulative[-1])))
                scores.add_metric(list(labels), buckets, total)
                rows.add_metric(list(labels), float(cumulative[-1]))
            for labels, (total, count) in self._confidence.items():
                mean.add_metric(list(labels), total / count if count else float("nan"))
        yield from (scores, mean, rows)


class _LogRows(Collector):
    """The prediction log's row outcomes per version, read from the server's own counters."""

    def __init__(self, counters: ServerCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Any]:
        rows = CounterMetricFamily(
            "shipyard_prediction_log_rows",
            "Prediction log rows by outcome: logged (in Parquet), quarantined (kept in _quarantine/), "
            "lost (in neither; see the server log).",
            labels=("model_version", "outcome"),
        )
        for version, counts in self.counters.snapshot().items():
            for outcome in ("logged", "quarantined", "lost"):
                rows.add_metric([version, outcome], float(getattr(counts, f"rows_{outcome}")))
        yield rows


class ServerMetrics:
    """Every metric the server exposes at `/metrics`."""

    def __init__(self) -> None:
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
            "shipyard_model_loads", "Model set loads, by result (ok, failed).", ("result",), registry=r
        )
        self.served = Gauge(
            "shipyard_served_model", "1 for each served version and route.", LABELS, registry=r
        )
        self.rows = _RowDistributions()
        r.register(self.rows)

    def watch(self, counters: ServerCounters) -> None:
        """Expose the prediction log's row outcomes from `counters` at `/metrics`."""
        self.registry.register(_LogRows(counters))

    def render(self) -> bytes:
        return generate_latest(self.registry)
