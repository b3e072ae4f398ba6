"""The HTML view: one offline file, escaped, with the plots and tables a reviewer needs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest
from report_fixtures import HOSTILE, make_baseline, make_summary

from shipyard.evaluation.curves import curve_data
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.reports.html import render_html
from shipyard.reports.run_report import build_run_report


class _Page(HTMLParser):
    """Collects tags, attributes, headings and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._heading = tag in ("h1", "h2", "h3")
        if self._heading:
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3"):
            self._heading = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            self.headings[-1] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def compared_html() -> str:
    report = build_run_report(make_summary(), project="fraud", model="fraud", baseline=make_baseline())
    return render_html(report)


def _plots(page: _Page) -> list[str]:
    return [attrs.get("aria-label") or "" for tag, attrs in page.tags if tag == "svg"]


def test_every_section_and_plot_is_there(compared_html: str):
    page = _parse(compared_html)
    headings = [" ".join(h.split()) for h in page.headings]
    for expected in (
        "Gates",
        "Metrics against production (version 2)",
        "Curves: candidate against production",
        "Slices",
        "Slices against production",
        "Latency and footprint",
        "Failing examples",
        "Data checks",
    ):
        assert expected in headings, headings
    assert _plots(page) == [
        "ROC curve",
        "Precision-recall curve",
        "Calibration",
        "roc_auc by device",
        "Single-row latency",
    ]
    # candidate and production on the same axes
    roc = compared_html.split('aria-label="ROC curve"', 1)[1].split("</svg>", 1)[0]
    assert "candidate" in roc and "production" in roc


def test_the_page_is_self_contained_and_script_free(compared_html: str):
    page = _parse(compared_html)
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "iframe", "img", "object", "embed")]
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), name
            if name in ("src", "href", "xlink:href"):
                assert (value or "").startswith("#"), value
    # url() only points inside the page (SVG clip paths); no fetch of any kind
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", compared_html))
    assert "@import" not in compared_html
    assert len(compared_html.encode()) < 1_000_000


def test_values_from_the_data_are_escaped_everywhere(compared_html: str):
    assert "<script>" not in compared_html
    text = "".join(_parse(compared_html).text)
    # the hostile slice name, gate message and example value appear as text, in tables and plots
    assert text.count("<script>alert('x')</script>") >= 3


def test_the_first_model_shows_candidate_curves_only(first_model: dict):
    html = render_html(first_model)
    page = _parse(html)
    assert "n/a (first model)" in "".join(page.text)
    roc = html.split('aria-label="ROC curve"', 1)[1].split("</svg>", 1)[0]
    assert "candidate" in roc and "production" not in roc
    assert "Curves" in [" ".join(h.split()) for h in page.headings]


def test_a_regression_run_plots_residuals_and_a_cached_one_says_curves_are_missing():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    summary = make_summary(with_baseline=False)
    summary["evaluation"] = {
        "metrics": {"rmse": 1.0},
        "slices": {},
        "performance": {},
        "test_rows": 300,
        "curves": curve_data("regression", y, ModelOutputs(y + rng.normal(size=300))),
    }
    assert _plots(_parse(render_html(build_run_report(summary, project="p", model="p")))) == ["Residuals"]
    del summary["evaluation"]["curves"]
    html = render_html(build_run_report(summary, project="p", model="p"))
    assert _plots(_parse(html)) == [] and "No curve data recorded for this run" in html


def test_many_examples_are_cut_to_a_readable_number():
    summary = make_summary()
    failing = summary["gate_report"]["results"][1]
    failing["examples"] = [{"amount": float(i), "text": HOSTILE * 3} for i in range(500)]
    html = render_html(build_run_report(summary, project="p", model="p"))
    assert "(500 examples, first 20 shown)" in " ".join(html.split())
    assert len(html.encode()) < 1_000_000
