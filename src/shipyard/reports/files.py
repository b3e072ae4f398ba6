"""Render a run report in a format and write the three files of a run: report.json, .md, .html."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ConfigError, ServiceUnavailableError

if TYPE_CHECKING:
    from shipyard.pipeline.cache import StageCache

FORMATS = ("json", "md", "html")
FILE_NAMES = {"json": "report.json", "md": "report.md", "html": "report.html"}
DIGEST_META = "shipyard-report-digest"
#: the cache entries of the HTML report's rendered plots, beside the stage outputs
PLOTS_ENTRY = "report-plots"


def content_digest(report: Mapping[str, Any]) -> str:
    """A digest of what the HTML shows, ignoring when it was generated and how long stages took,
    so an unchanged rerun need not render the plots again."""
    shown = {k: v for k, v in report.items() if k != "generated_at"}
    shown["stages"] = [(s.get("stage"), s.get("status")) for s in report.get("stages") or []]
    text = json.dumps(shown, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(report: Mapping[str, Any], fmt: str, *, figures: Mapping[str, Any] | None = None) -> str:
    """The report as text in `fmt`: "json", "md" or "html" (with `figures`, its plots drawn earlier)."""
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=True) + "\n"
    if fmt == "md":
        from shipyard.reports.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from shipyard.reports.html import render_html

        return render_html(report, digest=content_digest(report), figures=figures)
    raise ConfigError(f"Report format must be one of {', '.join(FORMATS)}. Got {fmt!r} instead.")


def _html_is_current(path: Path, digest: str) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'name="{DIGEST_META}" content="{digest}"' in head


def cached_figures(report: Mapping[str, Any], cache: StageCache) -> dict[str, Any]:
    """The report's plots from `cache` (this clone's entries, else the shared object store's), by
    their content key; drawn and stored there when missing. Drawing them (matplotlib) takes
    about a second, so a second clone's unchanged run reuses the ones the first clone drew.

    The shared store failing here only costs the reuse: the report is still written, and
    sharing the report files afterwards warns that the store is unreachable.
    """
    from shipyard.reports.html import plots_key, render_plots

    key = plots_key(report)
    try:
        found = cache.lookup(PLOTS_ENTRY, key)
    except ServiceUnavailableError:
        found = None
    if found is not None:
        figures: dict[str, Any] = json.loads((found / "plots.json").read_text(encoding="utf-8"))
        return figures
    figures = render_plots(report)
    try:
        with cache.store(PLOTS_ENTRY, key) as out:
            (out / "plots.json").write_text(json.dumps(figures), encoding="utf-8")
    except ServiceUnavailableError:
        pass  # kept in this clone's cache; only sharing it failed
    return figures


def write_reports(
    report: Mapping[str, Any], directory: Path, *, plot_cache: StageCache | None = None
) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `directory` (created if missing).

    The HTML is rendered again only when what it shows changed (see `content_digest`); with
    `plot_cache`, its plots are reused from there when they were drawn before (`cached_figures`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = {fmt: directory / name for fmt, name in FILE_NAMES.items()}
    for fmt, path in paths.items():
        figures = None
        if fmt == "html":
            if _html_is_current(path, content_digest(report)):
                continue
            figures = cached_figures(report, plot_cache) if plot_cache is not None else None
        path.write_text(render(report, fmt, figures=figures), encoding="utf-8")
    return paths


def append_step_summary(markdown: str, path: Path) -> None:
    """Append the Markdown to a GitHub Actions step summary file (`$GITHUB_STEP_SUMMARY`)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
