"""The run report's JSON is versioned and stable: a schema file, a frozen key set, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from report_fixtures import make_baseline, make_summary

from shipyard.core.results import CheckResult, Report, Status
from shipyard.pipeline.run import invalid_data_summary
from shipyard.reports.run_report import SCHEMA_VERSION, build_run_report, metric_rows, run_report_schema

# Version 1 only ever gains keys. Removing or renaming one of these is schema version 2.
TOP_LEVEL_KEYS = {
    "schema_version", "kind", "project", "model", "version", "verdict", "new_version", "generated_at",
    "provenance", "stages", "data_report", "gate_report", "evaluation", "baseline", "metrics", "comparisons",
    "model_format",
}  # fmt: skip
METRIC_ROW_KEYS = {
    "metric", "candidate", "production", "delta", "ci_low", "ci_high", "confidence", "test", "p_value",
    "p_adjusted", "verdict", "source",
}  # fmt: skip
PROVENANCE_KEYS = {"git_commit", "git_branch", "git_dirty", "data_digest", "run_id", "registered_at", "seed"}


def _validate(report: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(run_report_schema())
    jsonschema.Draft202012Validator(run_report_schema()).validate(report)


def test_the_key_set_is_frozen_and_matches_the_schema_file(compared: dict):
    assert set(compared) == TOP_LEVEL_KEYS
    assert set(run_report_schema()["required"]) == TOP_LEVEL_KEYS == set(run_report_schema()["properties"])
    assert compared["schema_version"] == SCHEMA_VERSION == 1
    assert all(set(row) == METRIC_ROW_KEYS for row in compared["metrics"])
    assert set(compared["provenance"]) == PROVENANCE_KEYS


def test_reports_of_every_kind_of_run_follow_the_schema(compared: dict, first_model: dict):
    data = Report.of(
        "data", [CheckResult(check="dtype", subject="amount", status=Status.FAILED, message="bad")]
    )
    invalid = build_run_report(invalid_data_summary(data), project="p", model="p")
    registered = build_run_report(
        {**make_summary(), "stages": [], "new_version": False}, project="p", model="p"
    )
    pickled = build_run_report(
        {**make_summary(), "model_format": {"format": "pickle", "allow_pickle": True, "signed": False}},
        project="p",
        model="p",
    )
    for report in (compared, first_model, invalid, registered, pickled):
        _validate(report)
    assert pickled["model_format"] == {"format": "pickle", "allow_pickle": True, "signed": False}
    assert invalid["model_format"] is None
    assert invalid["verdict"] == "invalid_data" and invalid["version"] is None and invalid["metrics"] == []


def test_the_report_is_plain_json_and_round_trips(compared: dict):
    text = json.dumps(compared, allow_nan=False)  # NaN metrics become null, never NaN
    assert json.loads(text) == compared
    assert compared["evaluation"]["metrics"]["log_loss"] is None


def test_deltas_use_the_statistics_gates_comparison_with_its_interval(compared: dict):
    rows = {row["metric"]: row for row in compared["metrics"]}
    auc = rows["roc_auc"]
    assert (auc["candidate"], auc["production"]) == (0.91, 0.88)
    assert auc["delta"] == pytest.approx(0.03)
    assert (auc["ci_low"], auc["ci_high"], auc["confidence"]) == (0.01, 0.05, 0.9)
    assert (auc["test"], auc["p_adjusted"], auc["verdict"], auc["source"]) == (
        "delong",
        0.002,
        "pass",
        "no_regression",
    )
    # a metric no gate tested has a delta from the baseline's metrics but no interval
    assert rows["accuracy"]["delta"] == pytest.approx(0.04) and rows["accuracy"]["ci_low"] is None
    assert compared["baseline"]["version"] == "2" and compared["baseline"]["curves"]["roc"]
    assert [c["slice"] for c in compared["comparisons"]][0] == "overall"
    assert all(c["gate"] == "no_regression" for c in compared["comparisons"])


def test_without_comparisons_the_no_regression_evidence_gives_the_interval():
    evidence = {
        "metric": "roc_auc",
        "candidate_value": 0.8,
        "baseline_value": 0.85,
        "interval_low": -0.08,
        "interval_high": -0.02,
        "interval_confidence": 0.9,
        "baseline_version": "4",
    }
    results = [{"check": "no_regression", "subject": "roc_auc", "evidence": evidence}]
    (row,) = metric_rows({"roc_auc": 0.8}, {}, results)
    assert row["production"] == 0.85 and row["delta"] == pytest.approx(-0.05)
    assert (row["ci_low"], row["ci_high"], row["source"]) == (-0.08, -0.02, "no_regression")
    summary = {
        **make_summary(),
        "gate_report": {"kind": "gates", "passed": True, "headline": "", "results": results},
    }
    report = build_run_report(summary, project="p", model="p")
    assert report["baseline"] == {"version": "4", "metrics": {"roc_auc": 0.85}, "curves": {}}


def test_the_first_model_has_no_baseline_and_no_deltas(first_model: dict):
    assert first_model["baseline"] is None
    assert all(row["production"] is None and row["delta"] is None for row in first_model["metrics"])
    assert all(value is None for value in first_model["provenance"].values())


def test_generated_at_is_recorded_in_utc():
    when = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    report = build_run_report(
        make_summary(), project="p", model="p", baseline=make_baseline(), generated_at=when
    )
    assert report["generated_at"] == "2026-11-22T12:00:00+00:00"
