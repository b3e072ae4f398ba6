"""Bad input through the real CLI: the right exit code, a clear message, nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project


def _registered_versions(project: Path) -> list[str]:
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    if not (project / ".shipyard" / "mlflow.db").exists():
        return []
    return [v.version for v in Workspace.open(Project.load(project)).registry.versions()]


def test_help_lists_commands():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("run", "smoke", "models", "promote", "history", "schema"):
        assert command in proc.stdout


def test_unknown_option_is_usage_error(tiny: Cli):
    proc = tiny("run", "--bogus")
    assert proc.returncode == 2
    assert "--bogus" in proc.stderr


def test_missing_project_file(tmp_path: Path):
    proc = Cli(tmp_path)("run", check=2)
    assert "No policy file" in proc.stderr


def test_malformed_yaml(tiny: Cli):
    (tiny.project / "shipyard.yaml").write_text("name: tiny\ndata: [oops\n")
    proc = tiny("run", check=2)
    assert "malformed YAML at line" in proc.stderr


def test_unknown_key_suggests_nearest(tiny: Cli):
    path = tiny.project / "shipyard.yaml"
    path.write_text(path.read_text().replace("target: label", "taget: label"))
    proc = tiny("run", check=2)
    assert "data.taget" in proc.stderr and "Did you mean 'target'?" in proc.stderr


def test_missing_schema_says_what_to_run(tiny: Cli):
    proc = tiny("run", check=2)
    assert "shipyard schema infer" in proc.stderr
    assert _registered_versions(tiny.project) == []


def test_entry_point_that_does_not_import(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p", model_py="import not_a_real_module\n"))
    cli("schema", "infer", check=0)
    proc = cli("run", check=2)
    assert "entrypoints" in proc.stderr and "not_a_real_module" in proc.stderr


def test_train_returning_non_estimator_is_usage_error(tmp_path: Path):
    model = "def features(df):\n    return df\n\ndef train(X, y, params):\n    return 'not a model'\n"
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=model))
    cli("schema", "infer", check=0)
    proc = cli("run", check=2)
    assert "not a fitted estimator" in proc.stderr
    assert _registered_versions(cli.project) == []


def test_train_that_raises_names_stage_and_shows_traceback(tmp_path: Path):
    model = (
        "def features(df):\n    return df\n\n"
        "def train(X, y, params):\n    raise ValueError('learning rate exploded')\n"
    )
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=model))
    cli("schema", "infer", check=0)
    proc = cli("run", check=3)
    assert "Stage 'train'" in proc.stderr and "your code" in proc.stderr
    assert "learning rate exploded" in proc.stderr and "Traceback" in proc.stderr
    assert _registered_versions(cli.project) == []


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda df: df.drop(columns=["x2"]), "x2"),
        (lambda df: df.assign(extra=1), "extra"),
        (lambda df: df.assign(color="purple"), "purple"),
        (lambda df: df.assign(x1="text"), "x1"),
        (lambda df: df.assign(x1=1e9), "x1"),
        (lambda df: df.assign(label=1), "label"),
        (lambda df: df.iloc[:0], "row"),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "unseen-category",
        "wrong-dtype",
        "out-of-range",
        "single-class",
        "empty",
    ],
)
def test_bad_data_is_rejected_before_training(tiny: Cli, mutate, needle):
    import pandas as pd

    tiny("schema", "infer", check=0)
    bad = tiny.project / "bad.csv"
    mutate(pd.read_csv(tiny.project / "data.csv")).to_csv(bad, index=False)
    proc = tiny("run", "--data", str(bad), check=1)
    assert "validate" in proc.stderr
    assert needle in proc.stdout + proc.stderr
    assert "train" not in [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert _registered_versions(tiny.project) == []


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ("slices: [colour]\n", "slices[0]: column 'colour' is not in the schema. Did you mean 'color'?"),
        ("split: {method: time, column: x_1}\n", "split.column: column 'x_1' is not in the schema"),
    ],
)
def test_policy_columns_are_checked_before_anything_runs(tiny: Cli, patch, needle):
    tiny("schema", "infer", check=0)
    path = tiny.project / "shipyard.yaml"
    text = path.read_text().replace("split: {method: stratified, test_size: 0.25}\n", "")
    path.write_text(text + patch)
    proc = tiny("run", check=2)
    assert needle in proc.stderr
    assert "validate" not in proc.stdout  # nothing ran


def test_json_into_a_missing_folder_is_refused_up_front(tiny: Cli):
    tiny("schema", "infer", check=0)
    proc = tiny("run", "--json", "no/such/dir/run.json", check=2)
    assert "--json" in proc.stderr and "validate" not in proc.stdout
