"""The fraud example end to end through the real CLI and a real MLflow SQLite store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from cli_helpers import EXAMPLE, Cli, copy_example


def _stages(stdout: str) -> dict[str, str]:
    found = re.findall(r"^\s+(\w[\w-]*)\s+(ran|cached|FAILED)\b", stdout, flags=re.M)
    return dict(found)


def _registry(project: Path):
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    return Workspace.open(Project.load(project)).registry


def test_run_cache_promote_and_reject_corrupted_data(tmp_path: Path):
    cli = Cli(copy_example(tmp_path / "fraud", rows=20_000))

    cli("schema", "infer", check=0)
    first = cli("run", check=0)
    assert set(_stages(first.stdout).values()) == {"ran"}
    assert "version 1: approved" in first.stdout

    second = cli("run", check=0)
    assert set(_stages(second.stdout).values()) == {"cached"}, second.stdout
    assert "version 1: approved" in second.stdout
    assert [v.version for v in _registry(cli.project).versions()] == ["1"]

    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("learning_rate: 0.1\n", "learning_rate: 0.12\n"))
    third = cli("run", "--json", str(tmp_path / "run.json"), check=0)
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["version"] == "2" and summary["verdict"] == "approved"
    assert summary["gate_report"]["passed"] and summary["evaluation"]["metrics"]["roc_auc"] > 0.8
    stages = _stages(third.stdout)
    assert stages["validate"] == stages["features"] == stages["split"] == "cached"
    assert stages["train"] == stages["evaluate"] == stages["register"] == "ran"
    assert "version 2: approved" in third.stdout

    listing = cli("models", check=0).stdout
    assert re.search(r"2\s+│\s+candidate", listing), listing

    cli("promote", "1", "--to", "production", check=0)
    cli("promote", "2", "--to", "production", check=0)
    registry = _registry(cli.project)
    assert registry.get("production").version == "2"
    assert registry.get("previous").version == "1"
    history = cli("history", "--alias", "production", check=0).stdout
    assert "ci-test" in history
    now = datetime.now(UTC).isoformat()
    assert cli("history", "--alias", "production", "--at", now, check=0).stdout.strip() == "2"

    import sys

    sys.path.insert(0, str(EXAMPLE))
    try:
        from corrupt import corrupt
        from generate import generate
    finally:
        sys.path.remove(str(EXAMPLE))
    corrupt(generate(3000, seed=5)).to_parquet(tmp_path / "corrupted.parquet")
    rejected = cli(
        "run", "--data", str(tmp_path / "corrupted.parquet"), "--json", str(tmp_path / "bad.json"), check=1
    )
    bad = json.loads((tmp_path / "bad.json").read_text())
    assert bad["verdict"] == "invalid_data" and not bad["data_report"]["passed"]
    text = rejected.stdout + rejected.stderr
    for needle in ("amount", "amt", "account_age_days", "crypto", "country"):
        assert needle in text, needle
    assert _stages(rejected.stdout) == {"load": "ran", "validate": "FAILED"}
    assert [v.version for v in _registry(cli.project).versions()] == ["2", "1"]


def test_smoke_works_on_a_fresh_clone_and_loads_the_model_back(tmp_path: Path):
    cli = Cli(copy_example(tmp_path / "fraud", rows=None))
    proc = cli("smoke", check=0)
    stages = _stages(proc.stdout)
    assert stages["load-back"] == "ran" and stages["register"] == "ran"
    assert "Smoke passed" in proc.stdout
    # Smoke registers into its own store, never into the project's registry.
    assert not (cli.project / ".shipyard" / "mlflow.db").exists()
