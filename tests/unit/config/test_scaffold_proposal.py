"""What `shipyard init` proposes from a data frame, and the files it renders (no CLI, no writing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.config.loading import parse_policy
from shipyard.config.scaffold import (
    CI_FILES,
    Proposal,
    ensure_ignored,
    infer_task,
    project_name,
    propose,
    render,
    render_files,
)
from shipyard.errors import ConfigError


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "amount": rng.lognormal(3, 1, n),
            "channel": rng.choice(["web", "shop", "phone"], n),
            "items": rng.integers(1, 5, n),
            "label": rng.integers(0, 2, n),
        }
    )


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no", "yes"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 2, 1], "classification"),
        ([0.5, 1.25, 3.0], "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_the_task_follows_the_target(values, task):
    assert infer_task(pd.Series(values, name="y"))[0] == task


def test_a_classification_proposal_drops_identifiers_and_slices_categories():
    p = propose(_frame(), target="label", data_source="data/orders.csv", name="orders")
    assert (p.task, p.kind) == ("classification", "binary")
    assert p.split == {"method": "stratified", "test_size": 0.25}
    assert p.dropped == ["order_id"]
    assert p.slices == ["channel", "items"]
    assert p.metrics[0] == "roc_auc"
    assert p.name == "orders"


def test_a_datetime_column_gives_a_time_split():
    frame = _frame().assign(created=pd.date_range("2026-01-01", periods=200, freq="h"))
    p = propose(frame, target="label", data_source="d.parquet", name="x")
    assert p.split == {"method": "time", "column": "created", "test_size": 0.25}
    assert p.datetimes == ["created"] and "created" not in p.slices


def test_a_numeric_target_gives_regression_with_a_random_split():
    frame = _frame().assign(label=lambda f: f.amount * 2.5)
    p = propose(frame.drop(columns=["amount"]), target="label", data_source="d.csv", name="x")
    assert (p.task, p.split["method"], p.metrics) == ("regression", "random", ["rmse", "mae", "r2"])


def test_an_explicit_task_wins():
    p = propose(_frame(), target="items", data_source="d.csv", name="x", task="regression")
    assert p.task == "regression" and "--task" in p.task_reason


def test_a_missing_target_is_named_with_a_suggestion():
    with pytest.raises(
        ConfigError, match=r"--target: column 'lable' is not in the data\. Did you mean 'label'\?"
    ):
        propose(_frame(), target="lable", data_source="d.csv", name="x")


@pytest.mark.parametrize(
    ("folder", "name"), [("my project", "my-project"), ("fraud_v2", "fraud_v2"), ("☃", "model")]
)
def test_project_names_are_valid(tmp_path, folder, name):
    assert project_name(tmp_path / folder) == name


def _proposal(**changes: object) -> Proposal:
    return propose(_frame(), target="label", data_source="data/orders.csv", name="orders", **changes)


def test_the_policy_renders_valid_and_commented():
    files, _ = render_files(_proposal())
    text = files["shipyard.yaml"]
    policy = parse_policy(yaml.safe_load(text))
    assert policy.name == "orders" and policy.data.target == "label"
    assert [g.type for g in policy.gates] == [
        "metric_threshold",
        "metric_threshold",
        "output_contract",
        "performance",
        "no_regression",
    ]
    assert policy.slices == ["channel", "items"]
    assert text.count("\n# ") >= 8, "the proposal should explain itself in comments"


def test_starter_code_compiles_and_names_the_right_estimator():
    for task, estimator in (("classification", "Classifier"), ("regression", "Regressor")):
        files, _ = render_files(_proposal(task=task))
        for path in ("model/features.py", "model/train.py", "model/__init__.py"):
            compile(files[path], path, "exec")
        assert f"HistGradientBoosting{estimator}(" in files["model/train.py"]
    assert 'DROPPED: list[str] = ["order_id"]' in files["model/features.py"]


def test_ci_files_are_yaml_and_follow_the_project_folder():
    _, at_root = render_files(_proposal())
    _, nested = render_files(_proposal(), project_dir="services/orders")
    assert set(at_root) == set(CI_FILES)
    for path, text in nested.items():
        assert isinstance(yaml.safe_load(text), dict), path
    pr = yaml.safe_load(nested[".github/workflows/shipyard-pr.yml"])
    assert "services/orders/model/**" in pr[True]["pull_request"]["paths"]  # YAML 1.1 reads `on` as True
    assert pr["jobs"]["validate"]["defaults"]["run"]["working-directory"] == "services/orders"
    assert "working-directory: ." in at_root[".github/workflows/shipyard-pr.yml"]
    commands = "\n".join(nested.values())
    for command in (
        "shipyard validate",
        "shipyard smoke",
        "shipyard run --json",
        "shipyard retrain --if-needed",
    ):
        assert command in commands
    assert 'shipyard rollout start "$VERSION"' in commands


def test_a_template_value_left_unfilled_is_an_error():
    with pytest.raises(KeyError, match="no value for"):
        render("github/shipyard-pr.yml", {})


def test_gitignore_entries_are_added_once(tmp_path):
    (tmp_path / ".gitignore").write_text("*.pyc\n.shipyard\n")
    assert ensure_ignored(tmp_path)
    assert not ensure_ignored(tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0] == "*.pyc" and lines.count("shipyard-reports/") == 1 and ".shipyard/" not in lines


def test_a_multiclass_floor_beats_always_predicting_the_majority_class():
    frame = _frame().assign(label=["a"] * 100 + ["b"] * 60 + ["c"] * 40)
    proposal = propose(frame, target="label", name="m", data_source="d.csv")
    policy = yaml.safe_load(render_files(proposal)[0]["shipyard.yaml"])
    floor = next(g for g in policy["gates"] if g["type"] == "metric_threshold")
    assert (floor["metric"], floor["min"]) == ("accuracy", 0.51)  # majority share 0.5
