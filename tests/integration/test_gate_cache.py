"""The gate stage is cached under the candidate's key plus the production model's identity:
an unchanged rerun gates nothing, a new production model is gated against, and a rerun
never registers the same candidate twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import write_tiny_project

from shipyard.api import infer_project_schema
from shipyard.config.project import Project
from shipyard.pipeline.run import run_pipeline
from shipyard.workspace import Workspace

GATES = "gates:\n  - {type: no_regression, metric: roc_auc, tolerance: 0.05, confidence: 0.95}\n"


def test_the_gate_reruns_only_when_production_changes(tmp_path: Path):
    root = write_tiny_project(tmp_path / "tiny", extra_yaml=GATES)
    infer_project_schema(Workspace.open(Project.load(root)))
    first = run_pipeline(Workspace.open(Project.load(root)))
    assert (first.version, first.new_version, first.baseline) == ("1", True, {})

    unchanged = run_pipeline(Workspace.open(Project.load(root)))
    assert unchanged.pipeline.ran == []

    registry = Workspace.open(Project.load(root)).registry
    registry.promote("1", "production", actor="ci-test")
    shutil.rmtree(first.pipeline.outputs["register"])  # force the gate's entry to be looked up
    regated = run_pipeline(Workspace.open(Project.load(root)))
    assert regated.pipeline.ran == ["gate", "register"]  # production moved: gated against v1
    assert regated.baseline["version"] == "1"
    assert regated.pipeline.cache_keys["gate"] != first.pipeline.cache_keys["gate"]
    assert (regated.version, regated.new_version) == ("1", False)

    shutil.rmtree(regated.pipeline.outputs["register"])
    again = run_pipeline(Workspace.open(Project.load(root)))
    assert again.pipeline.ran == ["register"] and "gate" in again.pipeline.cached
    assert [v.version for v in Workspace.open(Project.load(root)).registry.versions()] == ["1"]
