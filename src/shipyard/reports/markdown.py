"""The run report as GitHub-flavoured Markdown, for a pull request comment or `$GITHUB_STEP_SUMMARY`.

Tables only, no HTML except `<details>` around long example lists; every cell is
escaped so a value from the data cannot break the table or inject markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shipyard.reports import _format as fmt
from shipyard.reports.run_report import behaviour_failures, example_columns, slice_comparisons

MAX_EXAMPLES = 5


def cell(text: Any) -> str:
    """One table cell: a single line, pipes and angle brackets escaped."""
    text = fmt.value(text) if not isinstance(text, str) else " ".join(text.split())
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("`", "\\`")
    )


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _headline(report: Mapping[str, Any]) -> list[str]:
    verdict = str(report.get("verdict"))
    mark = {"approved": "✓", "rejected": "✗", "invalid_data": "✗"}.get(verdict, "")
    version = report.get("version")
    title = f"{report['model']} version {version}" if version else f"{report['model']} (not registered)"
    lines = [f"## {mark} Shipyard: {cell(title)} — {verdict.replace('_', ' ')}", ""]
    facts = []
    for key, label in (("gate_report", "Gates"), ("data_report", "Data")):
        part = report.get(key)
        if part:
            facts.append(f"**{label}:** {cell(part.get('headline', ''))}")
    baseline = report.get("baseline")
    production = baseline.get("version") if baseline else None
    facts.append(
        f"**Production:** version {cell(production)}" if production else f"**Production:** {fmt.FIRST_MODEL}"
    )
    prov = report.get("provenance") or {}
    if prov.get("git_commit") not in (None, "None"):
        dirty = " (uncommitted changes)" if str(prov.get("git_dirty")).lower() == "true" else ""
        facts.append(f"**Commit:** `{str(prov['git_commit'])[:12]}`{dirty}")
    if prov.get("data_digest"):
        facts.append(f"**Data digest:** `{str(prov['data_digest'])[:16]}`")
    saved = report.get("model_format") or {}
    if saved.get("format"):
        facts.append(f"**Model format:** {cell(saved['format'])}{' (signed)' if saved.get('signed') else ''}")
    if saved.get("allow_pickle"):
        facts.append("**⚠ Pickle allowed** (`model_format.allow_pickle: true`): loading may run code")
    return [*lines, " · ".join(facts), ""]


def _gates(report: Mapping[str, Any]) -> list[str]:
    results = (report.get("gate_report") or {}).get("results") or []
    if not results:
        return []
    rows = [
        (
            fmt.status_mark(r),
            r["check"],
            r.get("subject", ""),
            r.get("observed"),
            r.get("expected"),
            r["message"],
        )
        for r in results
    ]
    legend = "_✓ passed · ✗ failed · ! warning (does not block) · – skipped_"
    return [
        "### Gates",
        "",
        *table(["", "check", "subject", "observed", "expected", "message"], rows),
        "",
        legend,
        "",
    ]


def _metrics(report: Mapping[str, Any]) -> list[str]:
    rows = report.get("metrics") or []
    if not rows:
        return []
    has_baseline = bool(report.get("baseline"))
    body = [
        (
            r["metric"],
            fmt.number(r["candidate"]),
            fmt.production_cell(r, has_baseline),
            fmt.signed(r["delta"]) or ("n/a" if not has_baseline else ""),
            fmt.interval(r) or "",
            r.get("test") or "",
            fmt.p_value(r),
            r.get("verdict") or "",
        )
        for r in rows
    ]
    production = (report.get("baseline") or {}).get("version")
    title = f"### Metrics against production (version {cell(production)})" if production else "### Metrics"
    header = ["metric", "candidate", "production", "delta", "CI of delta", "test", "p", "verdict"]
    note = "_delta = candidate − production on the same test rows; interval from the gate that tested it._"
    return [title, "", *table(header, body), "", note, ""]


def _slice_comparisons(report: Mapping[str, Any]) -> list[str]:
    rows = slice_comparisons(report)
    if not rows:
        return []
    body = [
        (
            c.get("metric"),
            c.get("slice"),
            fmt.number(c.get("candidate")),
            fmt.number(c.get("baseline")),
            fmt.signed(c.get("difference")),
            fmt.interval(c),
            fmt.p_value(c),
            c.get("verdict") or "",
        )
        for c in rows
    ]
    header = ["metric", "slice", "candidate", "production", "delta", "CI", "p (adjusted)", "verdict"]
    return ["### Slices against production", "", *table(header, body), ""]


def _examples(report: Mapping[str, Any]) -> list[str]:
    lines = []
    for result in behaviour_failures(report):
        examples = list(result["examples"])[:MAX_EXAMPLES]
        columns = example_columns(examples, limit=8)
        rows = [[e.get(c) if isinstance(e, Mapping) else e for c in columns] for e in examples]
        summary = (
            f"{result['check']} {result.get('subject', '')}: {len(result['examples'])} failing example(s)"
        )
        lines += [
            "<details>",
            f"<summary>{cell(summary)}</summary>",
            "",
            *table(columns, rows),
            "",
            "</details>",
            "",
        ]
    return ["### Failing examples", "", *lines] if lines else []


def _data_failures(report: Mapping[str, Any]) -> list[str]:
    failed = [
        r for r in (report.get("data_report") or {}).get("results") or [] if r.get("status") == "failed"
    ]
    if not failed:
        return []
    rows = [(fmt.status_mark(r), r["check"], r.get("subject", ""), r["message"]) for r in failed]
    return ["### Data checks that failed", "", *table(["", "check", "subject", "message"], rows), ""]


def render_markdown(report: Mapping[str, Any], *, html_name: str | None = "report.html") -> str:
    """The whole report as Markdown; `html_name` names the HTML artifact to point readers to."""
    lines = [
        *_headline(report),
        *_gates(report),
        *_metrics(report),
        *_slice_comparisons(report),
        *_examples(report),
        *_data_failures(report),
    ]
    if html_name:
        lines.append(
            f"_Plots (ROC, precision-recall, calibration, slices, latency) are in the HTML report "
            f"`{html_name}` (`shipyard report VERSION --format html`)._"
        )
    return "\n".join(lines).rstrip() + "\n"
