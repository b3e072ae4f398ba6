"""The Markdown view: GitHub tables that data cannot break, deltas with intervals, examples."""

from __future__ import annotations

from report_fixtures import HOSTILE

from shipyard.reports.markdown import cell, render_markdown, table


def _table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading`, header and separator excluded."""
    lines = markdown.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.replace("\\|", "¦").strip("|").split("|")])
    return rows


def test_the_gate_table_marks_each_result(compared: dict):
    markdown = render_markdown(compared)
    rows = _table_rows(markdown, "### Gates")
    assert [(r[0], r[1]) for r in rows] == [("✓", "no_regression"), ("✗", "invariance"), ("!", "performance")]
    assert all(len(r) == 6 for r in rows), "a cell broke the table"
    assert markdown.startswith("## ✗ Shipyard: fraud version 3 — rejected")
    assert "**Production:** version 2" in markdown and "`0123456789ab` (uncommitted changes)" in markdown


def test_metrics_show_candidate_production_delta_and_interval(compared: dict):
    rows = {
        r[0]: r for r in _table_rows(render_markdown(compared), "### Metrics against production (version 2)")
    }
    assert rows["roc_auc"][1:] == ["0.91", "0.88", "+0.03", "[+0.01, +0.05] (90%)", "delong", "0.002", "pass"]
    assert rows["accuracy"][3] == "+0.04" and rows["accuracy"][4] == ""
    assert rows["log_loss"][1] == ""


def test_the_first_model_says_so_instead_of_a_delta(first_model: dict):
    markdown = render_markdown(first_model)
    rows = _table_rows(markdown, "### Metrics")
    assert all(r[2] == "n/a (first model)" and r[3] == "n/a" for r in rows)
    assert "**Production:** n/a (first model)" in markdown
    assert rows[0][0] == "roc_auc"


def test_values_from_the_data_are_escaped(compared: dict):
    markdown = render_markdown(compared)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    slices = _table_rows(markdown, "### Slices against production")
    assert len(slices) == 1 and len(slices[0]) == 8 and slices[0][-1] == "fail"
    assert cell("a | b\nc") == "a \\| b c"
    assert table(["x"], [[None]]) == ["| x |", "|---|", "|  |"]


def test_failing_examples_are_listed_under_their_gate(compared: dict):
    markdown = render_markdown(compared)
    section = markdown.split("### Failing examples", 1)[1]
    assert "<summary>invariance amount: 2 failing example(s)</summary>" in section
    assert "| amount | before | after | note |" in section and "| 12.5 | 0.2 | 0.8 |" in section
    assert HOSTILE not in section
    assert markdown.rstrip().endswith("(`shipyard report VERSION --format html`)._")


def test_the_model_format_and_an_allowed_pickle_are_shown(compared: dict):
    safe = render_markdown(
        {**compared, "model_format": {"format": "skops", "allow_pickle": False, "signed": True}}
    )
    assert "**Model format:** skops (signed)" in safe and "Pickle allowed" not in safe
    risky = render_markdown(
        {**compared, "model_format": {"format": "pickle", "allow_pickle": True, "signed": False}}
    )
    assert "**Model format:** pickle" in risky
    assert "**⚠ Pickle allowed** (`model_format.allow_pickle: true`)" in risky
