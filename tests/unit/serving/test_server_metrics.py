"""Server metrics: bulk-counted score histograms, the served-model gauge, and sums across worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from shipyard.serving.metrics import MULTIPROC_ENV, SCORE_BUCKETS, ServerMetrics


def _samples(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_bulk_counted_scores_equal_one_by_one_observations() -> None:
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0, 1, 500), [0.1, 0.5, 1.0, 1.5, np.nan]])
    metrics = ServerMetrics()
    metrics.observe_rows(("3", "production"), scores, np.full(len(scores), 0.75))
    reference = CollectorRegistry()
    one_by_one = Histogram(
        "shipyard_prediction_score",
        "x",
        ("model_version", "route"),
        buckets=SCORE_BUCKETS,
        registry=reference,
    )
    for score in scores[np.isfinite(scores)]:
        one_by_one.labels("3", "production").observe(score)
    rendered = metrics.render().decode()

    def buckets_and_count(text: str) -> list[str]:
        return [
            s for s in _samples(text, "shipyard_prediction_score_") if "_created" not in s and "_sum" not in s
        ]

    assert buckets_and_count(rendered) == buckets_and_count(generate_latest(reference).decode())
    (total,) = _samples(rendered, "shipyard_prediction_score_sum")
    assert float(total.split()[-1]) == pytest.approx(float(np.nansum(scores)))
    assert 'shipyard_scored_rows_total{model_version="3",route="production"} 504.0' in rendered
    assert 'shipyard_mean_confidence{model_version="3",route="production"} 0.75' in rendered


def test_a_version_no_longer_served_shows_zero() -> None:
    metrics = ServerMetrics()
    metrics.show_served({("1", "production"), ("2", "canary")})
    metrics.show_served({("2", "production")})
    rendered = metrics.render().decode()
    assert 'shipyard_served_model{model_version="1",route="production"} 0.0' in rendered
    assert 'shipyard_served_model{model_version="2",route="canary"} 0.0' in rendered
    assert 'shipyard_served_model{model_version="2",route="production"} 1.0' in rendered


WORKER = """
import sys
import numpy as np
import pytest
from shipyard.serving.metrics import ServerMetrics
metrics = ServerMetrics()
n = int(sys.argv[1])
for _ in range(n):
    metrics.requests.labels("1", "production", "ok").inc()
metrics.observe_rows(("1", "production"), np.full(n, 0.9), np.full(n, n / 10))
metrics.show_served({("1", "production")})
sys.stdout.write(metrics.render().decode())
"""


def test_every_worker_reports_the_sum_of_all_workers(tmp_path: Path) -> None:
    env = {**os.environ, MULTIPROC_ENV: str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", WORKER, str(n)], env=env, capture_output=True, text=True, check=True
        ).stdout
        for n in (3, 5)
    ]
    # The second process (any worker) reports both processes' counts.
    rendered = outputs[1]
    assert 'shipyard_requests_total{model_version="1",route="production",status="ok"} 8.0' in rendered
    assert 'shipyard_scored_rows_total{model_version="1",route="production"} 8.0' in rendered
    assert 'shipyard_prediction_score_count{model_version="1",route="production"} 8.0' in rendered
    assert 'shipyard_served_model{model_version="1",route="production"} 1.0' in rendered
    mean = (3 * 0.3 + 5 * 0.5) / 8  # weighted by rows, not the mean of the two means
    assert f'shipyard_mean_confidence{{model_version="1",route="production"}} {mean}' in rendered
