"""Fairness, calibration, class-collapse and leakage gates through the real pipeline and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from cli_helpers import Cli, write_tiny_project

GATES = """\
gates:
  - {type: fairness, sensitive: [colour], min_demographic_parity_ratio: 0.5,
     max_equalized_odds_difference: 0.3, metrics: [recall], min_group_size: 20}
  - {type: calibration, max_ece: 0.2, binning: quantile}
  - {type: class_collapse, min_entropy_ratio: 0.5}
  - {type: leakage, features: raw, ignore: [colr]}
"""


def test_a_leaked_column_is_caught_and_the_other_verdicts_are_recorded(tmp_path: Path):
    root = write_tiny_project(tmp_path / "p", extra_yaml=GATES)
    data = pd.read_csv(root / "data.csv")
    data["refund"] = data["label"].map({0: "no", 1: "yes"})  # written after the outcome was known
    data.to_csv(root / "data.csv", index=False)
    cli = Cli(root)
    cli("schema", "infer", check=0)

    # Typos in column names stop the run before training (exit 2), one at a time.
    typo = cli("run", check=2)
    assert (
        "shipyard.yaml: gates[0].sensitive: column 'colour' is not in the schema. Did you mean 'color'?"
        in typo.stderr
    )
    yaml = root / "shipyard.yaml"
    yaml.write_text(yaml.read_text().replace("[colour]", "[color]"))
    typo = cli("run", check=2)
    assert (
        "shipyard.yaml: gates[3].ignore[0]: column 'colr' is not in the schema. Did you mean 'color'?"
        in typo.stderr
    )

    yaml.write_text(yaml.read_text().replace("[colr]", "[color]"))
    proc = cli("run", check=1)
    assert "version 1: rejected" in proc.stdout
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    report = json.loads(Workspace.open(Project.load(root)).registry.report_text("1", "gate_report.json"))
    results = {r["check"]: r for r in report["results"]}
    leakage = results["leakage"]
    assert leakage["status"] == "failed" and leakage["reason"] == "single_feature_leakage"
    assert "raw feature 'refund' alone predicts the target with AUC 1.0000" in leakage["message"]
    assert "color" not in {f["feature"] for f in leakage["evidence"]["features"]}
    for name in ("fairness", "calibration", "class_collapse"):
        assert results[name]["status"] == "passed", results[name]["message"]
    assert {g["group"] for g in results["fairness"]["evidence"]["groups"]} == {"g", "r"}
    assert results["calibration"]["evidence"]["bins"]
