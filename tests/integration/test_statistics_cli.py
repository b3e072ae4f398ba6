"""`no_regression` with several metrics and slices through the real `shipyard run`."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import Cli, write_tiny_project

SLICED = """\
slices: [color]
gates:
  - type: no_regression
    metrics: [roc_auc, accuracy]
    slices: true
    tolerance: 0.2
"""


def test_a_sliced_multi_metric_gate_compares_every_slice_with_production(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=SLICED))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("params: {C: 1.0}", "params: {C: 0.9}"))
    rerun = cli("run", check=0)  # a near-identical retrain: every comparison passes
    assert "all 6 comparisons passed" in " ".join(rerun.stdout.split())
    report = max((cli.project / ".shipyard").rglob("gate_report.json"), key=lambda p: p.stat().st_mtime)
    [result] = json.loads(report.read_text())["results"]
    rows = result["evidence"]["comparisons"]
    assert [(r["metric"], r["slice"]) for r in rows] == [
        (metric, group) for metric in ("roc_auc", "accuracy") for group in ("overall", "color=g", "color=r")
    ]
    assert {r["test"] for r in rows} == {"delong", "mcnemar_score"} and result["status"] == "passed"
