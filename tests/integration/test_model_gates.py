"""Model-behaviour, robustness and reproducibility gates, a dotted-path user gate and an
entry-point plugin gate, through the real CLI on a real project; and what the gate stage
leaves for reports."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project

MODEL_GATES = """\
gates:
  - {type: output_contract}
  - {type: invariance, name: color_barely_matters, column: color, max_change: 0.2}
  - type: directional
    name: x1_raises_the_score
    column: x1
    perturbation: {kind: shift, by: 0.5}
    min_share: 0.95
    on_invalid: skip
  - {type: minimum_functionality, cases: cases.yaml}
  - {type: robustness, max_change: 0.3, max_violations: 0.05}
  - {type: determinism}
  - {type: serialization_round_trip}
  - {type: training_serving_skew}
  - {type: "project_gates:explode", name: buggy_user_gate, required: false}
  - {type: tiny_rows, min_rows: 50}
"""

CASES = """\
cases:
  - name: far positive
    row: {x1: 2.5, x2: 1.0, color: g}
    expected: 1
  - name: far negative
    row: {x1: -2.5, x2: -1.0, color: r}
    expected: 0
"""

PLUGIN = """\
from shipyard.core.results import CheckResult, Status


def tiny_rows(ctx, *, min_rows=1):
    n = len(ctx.rows)
    status = Status.PASSED if n >= min_rows else Status.FAILED
    return CheckResult(check="tiny_rows", status=status, message=f"{n} test rows", observed=n)


tiny_rows.needs = {"rows"}
"""


USER_GATE = """\
def explode(ctx):
    raise RuntimeError("bug in the user's gate")
"""


def _install_plugin(site: Path) -> None:
    """A distribution registering `tiny_rows` under `shipyard.gates`, as pip would lay it out."""
    info = site / "sy_tiny_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "sy_tiny_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sy-tiny-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[shipyard.gates]\ntiny_rows = sy_tiny_plugin:tiny_rows\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    base = tmp_path_factory.mktemp("gates")
    _install_plugin(base / "site")
    root = write_tiny_project(base / "tiny", extra_yaml=MODEL_GATES)
    (root / "cases.yaml").write_text(CASES)
    (root / "project_gates.py").write_text(USER_GATE)
    with pytest.MonkeyPatch.context() as patch:
        # the CLI subprocesses see the plugin through PYTHONPATH, this process through sys.path
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(base / "site"), os.environ.get("PYTHONPATH")]))
        )
        patch.syspath_prepend(str(base / "site"))
        cli = Cli(root)
        cli("schema", "infer", check=0)
        yield cli


def test_every_model_gate_runs_and_a_crashing_user_gate_only_warns(project: Cli):
    proc = project("run", "--json", "run.json", check=0)
    results = {
        r["check"]: r
        for r in json.loads((project.project / "run.json").read_text())["gate_report"]["results"]
    }
    expected = {
        "output_contract",
        "color_barely_matters",
        "x1_raises_the_score",
        "minimum_functionality",
        "robustness",
        "determinism",
        "serialization_round_trip",
        "training_serving_skew",
        "tiny_rows",
    }
    assert {name for name, r in results.items() if r["status"] == "passed"} == expected, proc.stdout
    crashed = results["buggy_user_gate"]
    assert (
        crashed["status"] == "failed" and crashed["reason"] == "gate_error" and crashed["severity"] == "warn"
    )
    assert "RuntimeError: bug in the user's gate" in crashed["message"]
    assert results["serialization_round_trip"]["observed"] <= 1e-6
    assert results["tiny_rows"]["message"] == "100 test rows", "the plugin gate got the test rows"
    assert "version 1: approved" in proc.stdout


def test_a_misspelt_gate_column_stops_the_run_before_training(tmp_path: Path):
    gate = "gates:\n  - {type: invariance, column: colour}\n"
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=gate))
    cli("schema", "infer", check=0)
    proc = cli("run", check=2)
    assert "gates[0].column: column 'colour' is not in the schema. Did you mean 'color'?" in proc.stderr
    assert not (cli.project / ".shipyard" / "cache" / "train").exists()


def test_the_gate_stage_records_the_production_baseline(project: Cli):
    from shipyard.config.project import Project
    from shipyard.pipeline.run import run_pipeline
    from shipyard.workspace import Workspace

    project("promote", "1", "--to", "production", check=0)
    yaml_path = project.project / "shipyard.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("max_change: 0.2}", "max_change: 0.25}"))
    outcome = run_pipeline(Workspace.open(Project.load(project.project)))
    assert outcome.version == "2"
    assert outcome.baseline["version"] == "1"
    assert set(outcome.baseline["metrics"]) >= {"roc_auc", "accuracy"}
    assert outcome.baseline["curves"], "baseline_outputs.npz is written and reads back"
