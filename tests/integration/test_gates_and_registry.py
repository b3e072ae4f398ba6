"""Gate verdicts, promotion rules and artifact integrity through the real CLI."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import Cli, write_tiny_project


def _registry(project: Path):
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    return Workspace.open(Project.load(project)).registry


STRICT_GATE = """\
gates:
  - {type: metric_threshold, name: perfect_auc, metric: roc_auc, min: 0.999}
  - {type: output_contract}
"""


def test_failed_gate_registers_rejected_and_promotion_needs_force(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=STRICT_GATE))
    cli("schema", "infer", check=0)
    proc = cli("run", check=1)
    assert "version 1: rejected" in proc.stdout
    assert "perfect_auc" in proc.stdout and "1 of 2 gates failed" in proc.stdout
    info = _registry(cli.project).get("1")
    assert info.verdict == "rejected" and info.aliases == ()

    refused = cli("promote", "1", "--to", "production", check=1)
    assert "--force" in refused.stderr
    cli("promote", "1", "--to", "production", "--force", check=2)
    cli(
        "promote",
        "1",
        "--to",
        "production",
        "--force",
        "--reason",
        "hotfix approved by risk",
        check=0,
    )
    assert _registry(cli.project).get("production").version == "1"
    assert "hotfix approved by risk" in cli("history", check=0).stdout
    import json

    moves = [json.loads(line) for line in cli("history", "--json", check=0).stdout.splitlines()]
    forced = [m for m in moves if m["alias"] == "production"][0]
    assert forced["reason"].endswith("hotfix approved by risk")
    assert forced["report"].startswith("runs:/") and forced["report"].endswith("/reports")


def test_no_regression_rejects_a_clearly_worse_candidate(tmp_path: Path):
    gate = """\
gates:
  - {type: no_regression, metric: roc_auc, tolerance: 0.01, confidence: 0.95}
"""
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=gate))
    cli("schema", "infer", check=0)
    first = cli("run", check=0)
    assert "no production model" in first.stdout.replace("\n", " ").lower() or "SKIPPED" in first.stdout
    cli("promote", "1", "--to", "production", check=0)
    model = cli.project / "model.py"
    # Drop the strongest feature: the candidate is now much worse than production.
    model.write_text(model.read_text().replace('"x1": df.x1, ', ""))
    worse = cli("run", check=1)
    assert "version 2: rejected" in worse.stdout
    assert "no_regression" in worse.stdout and "production" in worse.stdout


def test_tampered_artifact_is_refused(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p"))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    cli("env", "check", "1", check=0)
    artifacts = cli.project / ".shipyard" / "artifacts"
    estimator = next(artifacts.rglob("estimator.skops"))
    estimator.write_bytes(estimator.read_bytes() + b"tampered")
    for cached in (cli.project / ".shipyard").rglob("models*"):
        if cached.is_dir():
            import shutil

            shutil.rmtree(cached)
    proc = cli("env", "check", "1", check=1)
    assert "estimator.skops" in proc.stderr and "sha256" in proc.stderr


NAN_MODEL = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


class Broken(LogisticRegression):
    def predict_proba(self, X):
        proba = super().predict_proba(X)
        proba[::3] = np.nan
        return proba


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2})


def train(X, y, params):
    return Broken().fit(X, y)
"""


def test_nan_predictions_fail_and_register_nothing(tmp_path: Path):
    gates = "gates:\n  - {type: output_contract}\nmodel_format: {trusted_types: [model.Broken]}\n"
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=NAN_MODEL, extra_yaml=gates))
    cli("schema", "infer", check=0)
    proc = cli("run", check=1)
    assert "NaN" in proc.stdout + proc.stderr and "nothing was registered" in proc.stderr
    assert not (cli.project / ".shipyard" / "mlflow.db").exists() or _registry(cli.project).versions() == []


def test_history_of_a_misspelt_alias_suggests_the_right_one(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p"))
    proc = cli("history", "--alias", "prodution", check=2)
    assert "Did you mean 'production'?" in proc.stderr
