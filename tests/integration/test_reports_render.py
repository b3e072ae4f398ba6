"""`shipyard run` writes the run report (JSON, Markdown, HTML) and `shipyard report` rebuilds it;
the HTML renders in headless Chromium without errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from cli_helpers import Cli, write_tiny_project

from shipyard.reports.run_report import run_report_schema

pytestmark = pytest.mark.integration

GATES = """\
slices: [color]
gates:
  - {type: metric_threshold, metric: roc_auc, min: 0.5}
  - {type: no_regression, metric: roc_auc, tolerance: 0.1, n_resamples: 200}
"""
PLOTS = ["ROC curve", "Precision-recall curve", "Calibration", "roc_auc by color", "Single-row latency"]


def _chromium_dom(html: Path, profile: Path) -> tuple[str, str]:
    """The DOM Chromium builds from the page, and its log (console messages appear there)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Debian's chromium package is not installed")
    proc = subprocess.run(
        [
            binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--dump-dom", html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def test_run_writes_the_three_reports_and_report_rebuilds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cli = Cli(write_tiny_project(tmp_path / "p", extra_yaml=GATES))
    cli("schema", "infer", check=0)
    cli("run", "--no-report", check=0)
    assert not (cli.project / ".shipyard" / "reports").exists()
    cli("promote", "1", "--to", "production", check=0)
    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("C: 1.0", "C: 0.3"))

    step_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    out = tmp_path / "reports"
    proc = cli("run", "--json", str(tmp_path / "run.json"), "--report-dir", str(out), check=0)
    assert f"Reports in {out}: report.json, report.md, report.html" in proc.stdout

    report = json.loads((tmp_path / "run.json").read_text())
    jsonschema.Draft202012Validator(run_report_schema()).validate(report)
    assert report == json.loads((out / "report.json").read_text())
    assert (report["version"], report["verdict"], report["baseline"]["version"]) == ("2", "approved", "1")
    assert report["baseline"]["curves"]["roc"] and report["evaluation"]["curves"]["latency"]["counts"]
    auc = next(row for row in report["metrics"] if row["metric"] == "roc_auc")
    assert auc["ci_low"] <= auc["delta"] <= auc["ci_high"]

    markdown = (out / "report.md").read_text()
    assert step_summary.read_text() == markdown
    assert "### Gates" in markdown and "### Metrics against production (version 1)" in markdown

    dom, log = _chromium_dom(out / "report.html", tmp_path / "chromium")
    assert "CONSOLE" not in log and "Uncaught" not in log, log
    headings = re.findall(r"<h2>(.*?)</h2>", dom, re.DOTALL)
    assert {"Gates", "Failing examples", "Data checks", "Latency and footprint"} <= set(headings), headings
    assert re.findall(r'<svg role="img" aria-label="([^"]+)"', dom) == PLOTS

    # From the registry alone (no local report.json): same verdict and deltas, no production curves.
    rebuilt = json.loads(cli("report", "2", "--format", "json", check=0).stdout)
    jsonschema.Draft202012Validator(run_report_schema()).validate(rebuilt)
    assert rebuilt["gate_report"] == report["gate_report"]
    assert next(row for row in rebuilt["metrics"] if row["metric"] == "roc_auc") == pytest.approx(auc)
    assert (
        rebuilt["provenance"]["run_id"]
        and rebuilt["provenance"]["data_digest"] == report["provenance"]["data_digest"]
    )
    cli("report", "production", "--format", "html", "--out", str(tmp_path / "production.html"), check=0)
    assert "n/a (first model)" in (tmp_path / "production.html").read_text()
    assert "--format" in cli("report", "1", "--format", "pdf", check=2).stderr
