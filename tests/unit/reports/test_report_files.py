"""Writing a run's report files: all three formats, HTML rendered again only when it changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import make_summary

from shipyard.errors import ConfigError
from shipyard.pipeline.cache import StageCache
from shipyard.reports.files import append_step_summary, content_digest, render, write_reports
from shipyard.reports.html import plots_key, render_html, render_plots
from shipyard.reports.run_report import build_run_report
from shipyard.workspace.objects import ArrowStore, FolderStore


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


def test_a_second_clone_reuses_the_plots_the_first_drew(tmp_path: Path, compared: dict):
    shared = FolderStore(tmp_path / "shared")
    first = write_reports(compared, tmp_path / "a" / "reports", plot_cache=StageCache(tmp_path / "a", shared))
    key = plots_key(compared)
    assert shared.list("cache/report-plots") == [f"cache/report-plots/{key[:32]}.tar"]
    second_cache = StageCache(tmp_path / "b", shared)
    second = write_reports(compared, tmp_path / "b" / "reports", plot_cache=second_cache)
    assert second_cache.path("report-plots", key) == tmp_path / "b" / "report-plots" / key[:32]
    assert (tmp_path / "b" / "report-plots" / key[:32] / "plots.json").is_file()
    # the same page as drawing the plots here: the cached figures are the rendered SVG text
    assert second["html"].read_text() == first["html"].read_text() == render(compared, "html")
    assert second["html"].read_text().count("<svg ") >= 4


def test_the_plots_key_follows_what_the_plots_show(compared: dict):
    rerun = {**compared, "generated_at": "later", "verdict": "approved"}
    assert plots_key(rerun) == plots_key(compared)  # neither is drawn in a plot
    evaluation = compared["evaluation"]
    slower = {**evaluation, "performance": {**evaluation["performance"], "latency_p99_ms": 1234.5}}
    assert plots_key({**compared, "evaluation": slower}) != plots_key(compared)
    assert plots_key({**compared, "baseline": {}}) != plots_key(compared)


def test_plots_drawn_earlier_give_the_page_drawn_now(compared: dict):
    figures = json.loads(json.dumps(render_plots(compared)))
    assert render_html(compared, digest="d", figures=figures) == render_html(compared, digest="d")


def test_an_unreachable_shared_store_only_costs_the_plot_reuse(
    tmp_path: Path, compared: dict, unreachable_s3: None
):
    cache = StageCache(tmp_path / "cache", ArrowStore("s3://team/cache"))
    paths = write_reports(compared, tmp_path / "reports", plot_cache=cache)
    assert paths["html"].read_text() == render(compared, "html")
    assert (tmp_path / "cache" / "report-plots" / plots_key(compared)[:32] / "plots.json").is_file()
