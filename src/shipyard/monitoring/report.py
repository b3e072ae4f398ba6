"""The drift report as JSON and as one self-contained HTML page (inline SVG, no scripts).

Both hold aggregates only (statistics, histogram proportions, top categories),
never raw rows, so a report is a few hundred KB at any data size.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from shipyard.monitoring.verdicts import DriftReport, FeatureDrift

WIDTH, HEIGHT = 420, 140
REFERENCE_COLOUR, CURRENT_COLOUR = "#4c78a8", "#f58518"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
.drift{color:#b00020;font-weight:600}.ok{color:#1b7f3b}.skip{color:#888}
.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #ddd;border-radius:6px;padding:8px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
"""


def write_json(report: DriftReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True))


def write_html(report: DriftReport, path: Path) -> None:
    path.write_text(render_html(report))


def _verdict(feature: FeatureDrift) -> str:
    if feature.status != "tested":
        css = "drift" if feature.status in ("missing", "type_changed") else "skip"
        return f'<span class="{css}">{escape(feature.status)}</span>'
    return '<span class="drift">drift</span>' if feature.drifted else '<span class="ok">ok</span>'


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def render_html(report: DriftReport) -> str:
    summary = report.summary()
    headline = (
        f"{len(report.drifted)} of {len(report.tested)} columns drifted ({report.share:.0%}); "
        f"dataset drift {'YES' if report.dataset_drift else 'no'} (threshold {report.drift_share:.0%})"
    )
    tests = ["ks", "wasserstein", "psi", "js", "chi2", "unseen_share", "null_share"]
    head = "".join(f"<th>{t}</th>" for t in ["column", "kind", "verdict", *tests, "p (FDR)", "why"])
    rows = []
    for f in report.features:
        cells = [escape(f.name), f.kind, _verdict(f)]
        cells += [_number(f.results[t].statistic) if t in f.results else "" for t in tests]
        cells += [_number(f.p_adjusted), escape("; ".join(f.triggered))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    cards = "".join(_card(f) for f in report.features if f.plot and f.status == "tested")
    legend = (
        f'<p class="legend"><span style="background:{REFERENCE_COLOUR}"></span>reference'
        f'<span style="background:{CURRENT_COLOUR}"></span>current</p>'
    )
    mode = "exact (reference data)" if report.exact else "reference profile (KS and Wasserstein approximate)"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Drift report</title>"
        f"<style>{_STYLE}</style></head><body><h1>Drift report</h1>"
        f"<p><b>{escape(headline)}</b></p>"
        f"<p>Reference: {escape(summary['reference'])} &middot; current: {escape(summary['current'])} "
        f"({summary['current_rows']:,} rows) &middot; {mode}</p>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table>{legend}<div class='cards'>{cards}</div>"
        "</body></html>"
    )


def _card(feature: FeatureDrift) -> str:
    plot = feature.plot
    ref, cur = plot.get("reference", []), plot.get("current", [])
    if "categories" in plot:
        labels = [str(c) for c in plot["categories"]]
        axis, caption = labels, ""
    else:
        edges = plot.get("edges", [])
        labels = [f"{edges[i]:.3g}..{edges[i + 1]:.3g}" for i in range(len(edges) - 1)] or ["all"]
        axis = [f"{edges[0]:.4g}", f"{edges[-1]:.4g}"] if edges else []
        mean, std = plot.get("mean", [None, None]), plot.get("std", [None, None])
        caption = (
            f"mean {_number(mean[0])} &rarr; {_number(mean[1])}, "
            f"std {_number(std[0])} &rarr; {_number(std[1])}"
        )
    title = f"{escape(feature.name)} {_verdict(feature)}"
    chart = _bars(labels, ref, cur, axis=axis, ends="edges" in plot)
    return f"<div class='card'><div>{title}</div>{chart}<div>{caption}</div></div>"


def _bars(
    labels: list[str], reference: list[float], current: list[float], *, axis: list[str], ends: bool
) -> str:
    """Side-by-side bars of reference and current proportions per bin or category, labelled
    under each bar pair (categories) or at the range's `ends` (numeric)."""
    n = max(len(reference), 1)
    top = max([*reference, *current, 1e-12])
    slot = WIDTH / n
    shapes = []
    for i, (r, c) in enumerate(zip(reference, current, strict=False)):
        x = i * slot
        for j, (value, colour) in enumerate(((r, REFERENCE_COLOUR), (c, CURRENT_COLOUR))):
            h = (HEIGHT - 10) * value / top
            shapes.append(
                f'<rect x="{x + j * slot / 2:.1f}" y="{HEIGHT - h:.1f}" width="{max(slot / 2 - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(labels[i])}: '
                f"{'reference' if j == 0 else 'current'} {value:.2%}</title></rect>"
            )
    if ends:  # the range's two ends, under the first and last bar
        ticks = [(0.0, "start", axis[0]), (float(WIDTH), "end", axis[-1])] if axis else []
    else:  # one label under each bar pair
        ticks = [((i + 0.5) * slot, "middle", text) for i, text in enumerate(axis)]
    for x, anchor, text in ticks:
        shapes.append(
            f'<text x="{x:.1f}" y="{HEIGHT + 12}" font-size="10" '
            f'text-anchor="{anchor}">{escape(text[:12])}</text>'
        )
    return f'<svg width="{WIDTH}" height="{HEIGHT + 16}" role="img">{"".join(shapes)}</svg>'
