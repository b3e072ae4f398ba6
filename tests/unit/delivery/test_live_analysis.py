"""Live analysis over prediction-log Parquet files written in the serving contract's format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prediction_parts import T0, feedback_for, traffic, write_part

from shipyard.config.policy import GateConfig
from shipyard.core.results import Reason, Status
from shipyard.delivery.analysis import CounterWindow, LiveWindow, analyse, route_sample
from shipyard.delivery.counters import Counts
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.gates.catalog import build_gates
from shipyard.serving import predlog as log

SEEDS = [0, 1, 2, 3, 4]


def gates(*configs: dict) -> list:
    return build_gates([GateConfig(**c) for c in configs], task="classification")


def log_dir(root: Path) -> Path:
    """Where the logs of the project at `root` are (any folder: the window names it)."""
    return root / "logs"


def window(root: Path, route: str = "canary") -> LiveWindow:
    return LiveWindow(
        root,
        "classification",
        log_dir(root),
        candidate_version="2",
        baseline_version="1",
        candidate_route=route,
    )


def write_traffic(root: Path, seed: int, n_canary: int = 60, **canary: object) -> dict[str, list]:
    folder = log_dir(root) / log.PREDICTIONS_DIR
    write_part(folder, traffic(1000, route="production", version="1", latency_ms=5.0, seed=seed))
    columns = traffic(n_canary, route="canary", version="2", seed=seed + 100, **{"latency_ms": 5.0, **canary})
    write_part(folder, columns)
    return columns


RULES = ({"type": "error_rate", "max": 0.05}, {"type": "latency_ratio", "max_ratio": 1.5})


@pytest.mark.parametrize("seed", SEEDS)
def test_a_canary_like_production_passes(project_root, seed):
    write_traffic(project_root, seed)
    result = analyse(window(project_root), gates(*RULES), since=T0, baseline_since=T0, min_requests=50)
    assert result.enough and result.requests == 60
    assert [r.status for r in result.report.results] == [Status.PASSED, Status.PASSED]
    assert not result.violated()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_three_times_slower_canary_violates_the_latency_rule(project_root, seed):
    write_traffic(project_root, seed, latency_ms=15.0)
    result = analyse(window(project_root), gates(*RULES), since=T0, baseline_since=T0, min_requests=50)
    (violation,) = result.violated()
    assert violation.reason is Reason.LATENCY_RATIO_ABOVE_LIMIT
    assert 2.0 < violation.observed < 4.5
    assert "production" in violation.message


@pytest.mark.parametrize("seed", SEEDS)
def test_a_failing_canary_violates_the_error_rate_rule(project_root, seed):
    write_traffic(project_root, seed, error_rate=0.3)
    result = analyse(window(project_root), gates(*RULES), since=T0, baseline_since=T0, min_requests=50)
    assert [r.reason for r in result.violated()] == [Reason.ERROR_RATE_ABOVE_LIMIT]
    assert result.figures["error_rate"] > 0.1 and result.figures["baseline_error_rate"] == 0


def test_too_few_canary_requests_judge_nothing(project_root):
    write_traffic(project_root, 0)
    result = analyse(window(project_root), gates(*RULES), since=T0, baseline_since=T0, min_requests=100)
    assert not result.enough and result.requests == 60 and result.report.results == ()


def test_a_missing_log_folder_is_an_empty_window(project_root):
    result = analyse(window(project_root), gates(*RULES), since=T0, baseline_since=T0, min_requests=1)
    assert not result.enough and result.requests == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_shifted_predictions_violate_the_psi_rule_and_unshifted_do_not(project_root, seed):
    # PSI over 10 bins is noisy on few rows (~0.2 on 60 rows of the same distribution): use 400
    write_traffic(project_root, seed, n_canary=400, p_shift=0.4)
    rules = gates({"type": "prediction_shift", "max_psi": 0.25}, {"type": "mean_confidence", "min": 0.5})
    result = analyse(window(project_root), rules, since=T0, baseline_since=T0, min_requests=50)
    assert [r.reason for r in result.violated()] == [Reason.PREDICTION_SHIFT]
    other = project_root.parent / "other"
    write_traffic(other, seed, n_canary=400)
    assert not analyse(window(other), rules, since=T0, baseline_since=T0, min_requests=50).violated()


def test_the_100_percent_step_compares_with_production_since_the_rollout_began(project_root):
    later = T0.replace(minute=30)
    folder = log_dir(project_root) / log.PREDICTIONS_DIR
    write_part(folder, traffic(200, route="production", version="1", latency_ms=5.0, seed=0))
    write_part(folder, traffic(60, route="canary", version="2", latency_ms=20.0, seed=1, start=later))
    result = analyse(window(project_root), gates(*RULES), since=later, baseline_since=T0, min_requests=50)
    assert result.figures["baseline_requests"] == 200
    assert [r.reason for r in result.violated()] == [Reason.LATENCY_RATIO_ABOVE_LIMIT]


def test_shadow_agreement_pairs_the_shadow_with_production_on_the_same_rows(project_root):
    folder = log_dir(project_root) / log.PREDICTIONS_DIR
    production = traffic(100, route="production", version="1", latency_ms=5.0, seed=0)
    write_part(folder, production)
    shadow = {**production, log.ROUTE: ["shadow"] * 100, log.MODEL_VERSION: ["2"] * 100}
    shadow[log.PREDICTION] = ["1"] * 30 + production[log.PREDICTION][30:]
    write_part(folder, shadow)
    rule = gates({"type": "shadow_agreement", "min_agreement": 0.9})
    result = analyse(window(project_root, "shadow"), rule, since=T0, baseline_since=T0, min_requests=50)
    expected = np.mean(np.array(shadow[log.PREDICTION]) == np.array(production[log.PREDICTION]))
    assert result.figures["shadow_agreement"] == pytest.approx(expected)
    assert result.report.results[0].status is (Status.PASSED if expected >= 0.9 else Status.FAILED)


def test_metric_gates_judge_the_canary_on_its_feedback_labels(project_root):
    columns = write_traffic(project_root, 0)
    rules = gates({"type": "metric_threshold", "metric": "accuracy", "min": 0.9})
    before = analyse(window(project_root), rules, since=T0, baseline_since=T0, min_requests=50)
    assert before.report.results[0].status is Status.SKIPPED
    wrong = ["0" if p == "1" else "1" for p in columns[log.PREDICTION]]
    write_part(log_dir(project_root) / log.FEEDBACK_DIR, feedback_for(columns, wrong))
    after = analyse(window(project_root), rules, since=T0, baseline_since=T0, min_requests=50)
    (violation,) = after.violated()
    assert violation.reason is Reason.METRIC_BELOW_MINIMUM and violation.observed == 0


def test_no_regression_runs_live_with_production_scored_on_the_canary_rows(project_root):
    columns = write_traffic(project_root, 0)
    write_part(log_dir(project_root) / log.FEEDBACK_DIR, feedback_for(columns, columns[log.PREDICTION]))

    def always_wrong(rows):  # production's model: always the opposite label, as strings come back
        n = len(rows)
        return ModelOutputs(np.array([0] * n), np.tile([0.5, 0.5], (n, 1)), (0, 1))

    rules = gates({"type": "no_regression", "metric": "accuracy", "tolerance": 0.01, "n_resamples": 200})
    result = analyse(
        window(project_root), rules, since=T0, baseline_since=T0, min_requests=50, scorer=always_wrong
    )
    assert result.report.results[0].status is Status.PASSED
    assert "production" in result.report.results[0].message


def test_errors_the_log_lost_count_from_the_server_counters(project_root):
    write_traffic(project_root, 0, n_canary=200)
    rules = gates({"type": "error_rate", "max_increase": 0.02})
    counters = CounterWindow(step={"2": Counts(240, 40), "1": Counts(1000, 0)})
    result = analyse(
        window(project_root), rules, since=T0, baseline_since=T0, min_requests=50, counters=counters
    )
    (violation,) = result.violated()
    assert violation.evidence["error_source"] == "server counters"
    assert violation.evidence["errors"] == 40 and violation.evidence["requests"] == 240
    assert "from the server counters" in violation.message
    fewer = CounterWindow(step={"2": Counts(200, 0)})  # the log shows as many: the log is used
    kept = analyse(window(project_root), rules, since=T0, baseline_since=T0, min_requests=50, counters=fewer)
    assert kept.report.results[0].evidence["error_source"] == "log"


def test_a_request_counts_once_and_a_model_call_once_whatever_its_rows():
    import pandas as pd

    frame = pd.DataFrame(
        {
            log.REQUEST_ID: ["a", "a", "b", "c", "d"],
            log.STATUS: ["ok", "ok", "ok", "error", "ok"],
            log.LATENCY_MS: [4.0, 4.0, 4.0, 0.0, 2.0],
            "batch_rows": [3, 3, 3, 1, 1],
        }
    )
    sample = route_sample(frame)
    assert (sample.requests, sample.errors) == (4, 1)
    assert sorted(sample.latency_ms) == [2.0, 4.0] and sorted(sample.batch_rows) == [1.0, 3.0]
    assert route_sample(frame.drop(columns="batch_rows")).batch_rows is None


def test_a_step_with_rules_still_waiting_reports_them(project_root):
    write_traffic(project_root, 0)
    rules = gates({"type": "prediction_shift", "max_psi": 0.1}, {"type": "error_rate", "max_increase": 0.01})
    result = analyse(window(project_root), rules, since=T0, baseline_since=T0, min_requests=50)
    assert result.enough and not result.violated()
    assert [r.check for r in result.waiting()] == ["prediction_shift", "error_rate"]
