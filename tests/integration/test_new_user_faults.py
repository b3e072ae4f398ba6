"""Faults a new user hit in a trial run, each reproduced through the real CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from cli_helpers import Cli, write_tiny_project

REGRESSION_GATE = """\
gates:
  - {type: no_regression, metric: roc_auc, tolerance: 0.05}
  - {type: output_contract}
"""


def test_string_class_labels_run_gate_and_compare_with_production(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=REGRESSION_GATE))
    data = pd.read_csv(cli.project / "data.csv")
    data["label"] = data["label"].map({0: "benign", 1: "malignant"})
    data.to_csv(cli.project / "data.csv", index=False)
    cli("schema", "infer", check=0)
    first = cli("run", check=0)
    assert "version 1: approved" in first.stdout
    cli("promote", "1", "--to", "production", check=0)
    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("params: {C: 1.0}", "params: {C: 0.5}"))
    second = cli("run", check=0)
    assert "version 2: approved" in second.stdout and "production" in second.stdout


def test_a_moved_project_refuses_to_write_into_the_old_folder(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "before"))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    moved = tmp_path / "after"
    shutil.move(cli.project, moved)
    cli = Cli(moved)
    policy = moved / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("params: {C: 1.0}", "params: {C: 0.5}"))
    proc = cli("run", check=2)
    assert "moved or copied" in proc.stderr
    assert not (tmp_path / "before").exists()
    env = cli("env", "check", "1", check=2)
    assert "no longer exists" in env.stderr


def test_features_that_reorder_rows_are_a_usage_error(tmp_path: Path):
    model = """\
        from sklearn.linear_model import LogisticRegression


        def features(df):
            return df[["x1", "x2"]].sort_values("x1")


        def train(X, y, params):
            return LogisticRegression().fit(X, y)
        """
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=model))
    cli("schema", "infer", check=0)
    proc = cli("run", check=2)
    assert "another order" in proc.stderr and "features" in proc.stderr


def test_schema_infer_and_validate_read_a_loader(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p"))
    (cli.project / "loaders.py").write_text(
        "import pandas as pd\n\n\ndef load():\n    return pd.read_csv('data.csv')\n"
    )
    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("source: data.csv", "loader: loaders:load"))
    cli("schema", "infer", check=0)
    assert (cli.project / "schema.yaml").exists()
    cli("validate", check=0)


def test_a_registered_decision_stands_when_the_same_content_runs_again(tmp_path: Path):
    import json

    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=REGRESSION_GATE))
    cli("schema", "infer", check=0)
    cli("run", "--json", str(tmp_path / "first.json"), check=0)
    cli("promote", "1", "--to", "production", check=0)
    shutil.rmtree(cli.project / ".shipyard" / "cache" / "register")
    # The gate now runs against production (version 1 itself), but version 1's recorded
    # decision and evidence are what the run reports: one decision per content.
    again = cli("run", "--json", str(tmp_path / "again.json"), check=0)
    assert "version 1: approved" in again.stdout and "registered earlier" in again.stdout
    first = json.loads((tmp_path / "first.json").read_text())
    second = json.loads((tmp_path / "again.json").read_text())
    assert second["gate_report"] == first["gate_report"]
