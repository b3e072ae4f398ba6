"""Render a run report in a format and write the three files of a run: report.json, .md, .html."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ConfigError

FORMATS = ("json", "md", "html")
FILE_NAMES = {"json": "report.json", "md": "report.md", "html": "report.html"}
DIGEST_META = "shipyard-report-digest"


def content_digest(report: Mapping[str, Any]) -> str:
    """A digest of what the HTML shows, ignoring when it was generated and how long stages took,
    so an unchanged rerun need not render the plots again."""
    shown = {k: v for k, v in report.items() if k != "generated_at"}
    shown["stages"] = [(s.get("stage"), s.get("status")) for s in report.get("stages") or []]
    text = json.dumps(shown, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(report: Mapping[str, Any], fmt: str) -> str:
    """The report as text in `fmt`: "json", "md" or "html"."""
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=True) + "\n"
    if fmt == "md":
        from shipyard.reports.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from shipyard.reports.html import render_html

        return render_html(report, digest=content_digest(report))
    raise ConfigError(f"Report format must be one of {', '.join(FORMATS)}. Got {fmt!r} instead.")


def _html_is_current(path: Path, digest: str) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'name="{DIGEST_META}" content="{digest}"' in head


def write_reports(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `directory` (created if missing).

    The HTML is rendered again only when what it shows changed (see `content_digest`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = {fmt: directory / name for fmt, name in FILE_NAMES.items()}
    for fmt, path in paths.items():
        if fmt == "html" and _html_is_current(path, content_digest(report)):
            continue
        path.write_text(render(report, fmt), encoding="utf-8")
    return paths


def append_step_summary(markdown: str, path: Path) -> None:
    """Append the Markdown to a GitHub Actions step summary file (`$GITHUB_STEP_SUMMARY`)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
