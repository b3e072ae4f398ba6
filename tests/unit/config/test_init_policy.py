"""The policy `shipyard init` derives from data: time columns, sensitive attributes, data-check
limits its own data passes, quality floors above a trivial baseline, the pinned CI source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.config._ci_source import parse_source
from shipyard.config._data_traits import name_from_data, sensitive_columns, time_column
from shipyard.config.loading import parse_policy
from shipyard.config.scaffold import propose, render_files, sample_of
from shipyard.data.schema import infer_schema
from shipyard.data.validation import validate
from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import compute_metrics
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.gates.base import GateContext
from shipyard.gates.catalog import build_gates


def _people(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "size": rng.choice(["S", "M", "L"], n),
            "applicant": rng.choice(["Male", "Female"], n),
            "race": rng.choice(["White", "Black", "Asian"], n),
            "RAC1P": rng.choice([1, 2, 6], n),
            "MAR": rng.choice([1, 3, 5], n),
            "Age_Group": rng.choice(["18-30", "31-60", "61+"], n),
            "marital-status": rng.choice(["single", "married"], n),
            "sexton_visits": rng.integers(0, 3, n),  # 'sex' inside a word is not a sensitive name
            "y": rng.integers(0, 2, n),
        }
    )


def test_sensitive_attributes_are_found_by_name_census_code_and_content():
    found = {s.name: s.reason for s in sensitive_columns(_people(), "y")}
    assert set(found) == {"applicant", "race", "RAC1P", "MAR", "Age_Group", "marital-status"}
    assert "sex/gender" in found["applicant"]


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("created_at", pd.date_range("2026-01-01", periods=50, freq="D"), ("created_at", "datetime")),
        ("day", pd.date_range("2026-01-01", periods=50, freq="D").strftime("%Y-%m-%d"), ("day", "text_date")),
        ("survey_year", np.repeat([2021, 2022, 2023, 2024, 2025], 10), ("survey_year", "year")),
        ("year", np.arange(50), None),  # not years
        ("date_of_birth", pd.date_range("1970-01-01", periods=50, freq="D"), None),
        ("code", [f"2026-W{i % 50 + 1:02d}" for i in range(50)], None),  # ISO week text is not a date here
    ],
)
def test_the_time_column(column, values, expected):
    frame = pd.DataFrame({column: values, "y": [0, 1] * 25})
    found = time_column(frame, "y")
    assert (found.name, found.kind) == expected if expected else found is None


def test_a_text_date_column_gives_a_time_split_and_date_features():
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2026-01-01", periods=200, freq="D").strftime("%Y-%m-%d").astype(object),
            "x": np.arange(200.0),
            "y": [0, 1] * 100,
        }
    )
    p = propose(frame, target="y", data_source="d.parquet", name="d")
    assert p.split == {"method": "time", "column": "day", "test_size": 0.25} and "day" in p.datetimes
    assert "'day' holds ISO dates as text" in p.split_reason


def _census_like(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "SEX": rng.choice([1, 2], n),
            "SCHL": rng.choice([16, 18, 21], n),
            "WKHP": rng.choice([20, 40], n),
            "label": rng.choice([0, 1], n, p=[0.95, 0.05]),
        }
    )


@pytest.mark.parametrize("seed", range(3))
def test_naturally_repeated_rows_and_rare_classes_pass_the_proposed_data_checks(seed):
    frame = _census_like(seed=seed)
    assert frame.duplicated().mean() > 0.9
    p = propose(frame, target="label", data_source="acs.csv", name="acs")
    schema = infer_schema(frame, target="label")
    held_out = _census_like(n=600, seed=seed + 100)  # a fresh batch a fifth the size
    for data in (frame, sample_of(frame), held_out):
        report = validate(data, schema, target="label", task="classification", **p.data_checks)
        assert report.passed, [r.message for r in report.failures]
    assert p.data_checks["min_rows"] <= len(sample_of(frame))


@pytest.mark.parametrize("rows", [50, 300, 891, 5000, 280_000])
def test_min_rows_never_exceeds_the_sample_nor_a_fifth_of_the_data(rows):
    from shipyard.data.proposals import propose_min_rows

    assert 1 <= propose_min_rows(rows) <= min(rows // 5 or 1, 1000)


def _binary_context(y: np.ndarray, positive_score: np.ndarray) -> GateContext:
    scores = np.column_stack([1 - positive_score, positive_score])
    outputs = ModelOutputs((positive_score >= 0.5).astype(int), scores, (0, 1))
    metrics = compute_metrics("classification", y, outputs, ["roc_auc", "average_precision", "f1"])
    return GateContext(task="classification", y_true=y, candidate=outputs, metrics=metrics)


def _floor_gates(frame: pd.DataFrame):
    policy = parse_policy(
        yaml.safe_load(
            render_files(propose(frame, target="y", data_source="d.csv", name="d"))[0]["shipyard.yaml"]
        )
    )
    return [
        gate
        for config, gate in build_gates(policy.gates, task="classification")
        if config.type == "metric_threshold"
    ]


@pytest.mark.parametrize("seed", range(5))
def test_on_five_percent_positives_a_useless_model_fails_the_floor_and_a_decent_one_passes(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(4000) < 0.05).astype(int)
    frame = pd.DataFrame({"x": rng.normal(size=4000), "y": y})
    gates = _floor_gates(frame)
    # F1 about 0.04: scores barely related to the label
    weak = _binary_context(y, rng.uniform(0, 0.52, 4000) + 0.01 * y)
    assert weak.metrics["f1"] < 0.1
    assert any(gate.evaluate(weak).blocking for gate in gates)
    # a decent ranking (ROC AUC ~0.85) passes every floor
    decent = _binary_context(y, 1 / (1 + np.exp(-(rng.normal(size=4000) + 2.0 * y - 3.5))))
    assert decent.metrics["roc_auc"] > 0.8
    assert not any(gate.evaluate(decent).blocking for gate in gates)


def test_fairness_and_invariance_gates_lint_and_leave_people_out_of_the_features():
    p = propose(_people(), target="y", data_source="d.csv", name="d")
    files, _ = render_files(p)
    policy = parse_policy(yaml.safe_load(files["shipyard.yaml"]))
    built = build_gates(policy.gates, task="classification")
    types = [config.type for config, _ in built]
    assert types.count("fairness") == 3 and types.count("invariance") == 3
    assert "# Sensitive attributes found:" in files["shipyard.yaml"]
    assert (
        'SENSITIVE: list[str] = ["applicant", "race", "RAC1P", "MAR", "Age_Group", "marital-status"]'
        in files["model/features.py"]
    )
    assert policy.slices[:3] == ["applicant", "race", "RAC1P"]


def test_regression_gets_invariance_without_fairness():
    frame = _people().assign(y=lambda f: f.x * 3.5 + 0.25)
    p = propose(frame, target="y", data_source="d.csv", name="d")
    kinds = [g.lines[0] for g in p.gates]
    assert "type: fairness" not in kinds and "type: invariance" in kinds
    assert "type: metric_threshold" in kinds and any("metric: r2" in g.lines for g in p.gates)


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("adult.data.csv", "adult"),
        ("credit g (2024).parquet", "credit-g-2024"),
        ("data.csv", None),
        ("☃.csv", None),
    ],
)
def test_the_name_comes_from_the_data_file(file, name):
    assert name_from_data(Path(file)) == name


def test_the_shipyard_source_must_be_pinned(tmp_path):
    sha = "0123456789abcdef0123456789abcdef01234567"
    ok = parse_source(f"git+https://github.com/org/shipyard@{sha}", project=tmp_path, repository=tmp_path)
    assert ok.requirement == f"shipyard @ git+https://github.com/org/shipyard@{sha}"
    wheel = tmp_path / "vendor" / "shipyard-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"")
    project = tmp_path / "svc"
    project.mkdir()
    assert parse_source(str(wheel), project=project, repository=tmp_path).requirement == (
        "../vendor/shipyard-0.1.0-py3-none-any.whl"
    )
    for bad, message in (
        ("git+https://github.com/org/shipyard@main", "does not pin a commit"),
        ("shipyard==0.1.0", "package index"),
        ("https://example.com/shipyard.whl", "package index or an unpinned URL"),
        (str(tmp_path / "missing.whl"), "does not exist"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_source(bad, project=project, repository=tmp_path)


def test_generated_ci_pins_shipyard_and_keeps_permissions_minimal():
    p = propose(_people(), target="y", data_source="d.csv", name="d")
    files, ci = render_files(p, shipyard_requirement="./vendor/shipyard-0.1.0-py3-none-any.whl")
    assert "./vendor/shipyard-0.1.0-py3-none-any.whl" in files["requirements.txt"]
    assert "shipyard==" not in files["requirements.txt"] + "".join(ci.values())
    for path, text in ci.items():
        if not path.startswith(".github"):
            continue
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {"contents": "read"}, path
        assert workflow["env"] == {"OMP_NUM_THREADS": "1"}, path
        assert all("OMP_NUM_THREADS" not in job.get("env", {}) for job in workflow["jobs"].values()), path
    deploy = yaml.safe_load(ci[".github/workflows/shipyard-deploy.yml"])
    assert "pull_request" in deploy[True]
    assert deploy["jobs"]["rollout"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "git push" in ci[".github/workflows/shipyard-deploy.yml"]
    gitlab = yaml.safe_load(ci[".gitlab-ci.yml"])
    assert "check-deploy-files" in gitlab and "merge_request.create" in ci[".gitlab-ci.yml"]
    sync = deploy["jobs"]["check-deploy-files"]["steps"][-1]  # after a merge, the database follows git
    assert (sync["run"], sync["if"]) == ("shipyard rollout sync", "github.event_name == 'push'")
    assert gitlab["check-deploy-files"]["script"][-1] == (
        'if [ "$CI_PIPELINE_SOURCE" = "push" ]; then shipyard rollout sync; fi'
    )
