"""Writing a run's report files: all three formats, HTML rendered again only when it changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import make_summary

from shipyard.errors import ConfigError
from shipyard.reports.files import append_step_summary, content_digest, render, write_reports
from shipyard.reports.run_report import build_run_report


def test_write_reports_writes_the_three_formats(tmp_path: Path, compared: dict):
    paths = write_reports(compared, tmp_path / "reports" / "3")
    assert sorted(p.name for p in paths.values()) == ["report.html", "report.json", "report.md"]
    assert json.loads(paths["json"].read_text()) == compared
    assert paths["md"].read_text().startswith("## ✗ Shipyard: fraud version 3")
    assert f'content="{content_digest(compared)}"' in paths["html"].read_text()


def test_the_html_is_rendered_again_only_when_what_it_shows_changes(tmp_path: Path):
    first = build_run_report(make_summary(), project="p", model="p")
    html = write_reports(first, tmp_path)["html"]
    html.write_text(html.read_text() + "<!-- kept -->")
    rerun = {**build_run_report(make_summary(), project="p", model="p"), "generated_at": "later"}
    rerun["stages"] = [{**s, "seconds": 9.9} for s in rerun["stages"]]
    assert content_digest(rerun) == content_digest(first)
    write_reports(rerun, tmp_path)
    assert html.read_text().endswith("<!-- kept -->")
    changed = {**rerun, "verdict": "approved"}
    write_reports(changed, tmp_path)
    assert "<!-- kept -->" not in html.read_text() and ">approved<" in html.read_text()


def test_the_markdown_is_appended_to_the_step_summary(tmp_path: Path, compared: dict):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    append_step_summary(render(compared, "md"), summary)
    append_step_summary("tail", summary)
    text = summary.read_text()
    assert text.startswith("earlier step\n## ✗ Shipyard") and text.endswith("tail\n")


def test_an_unknown_format_is_a_usage_error(compared: dict):
    with pytest.raises(ConfigError, match=r"one of json, md, html\. Got 'pdf'"):
        render(compared, "pdf")
