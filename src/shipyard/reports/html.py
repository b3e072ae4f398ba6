"""The run report as one self-contained HTML page: inline CSS, inline SVG plots, no script, no URL.

Rendered with Jinja2 with autoescaping on, from the same report dict as the JSON and
Markdown views; only the SVG markup produced by `plots` is inserted unescaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.reports import _format as fmt
from shipyard.reports import plots
from shipyard.reports.run_report import (
    behaviour_failures,
    example_columns,
    plotted_metrics,
    slice_comparisons,
)

TEMPLATE = "report.html.j2"
MAX_EXAMPLES = 20


def _plots(report: Mapping[str, Any]) -> dict[str, Any]:
    """Every plot of the report as SVG text ("" where there is nothing to plot)."""
    evaluation = report.get("evaluation") or {}
    candidate = evaluation.get("curves") or {}
    production = (report.get("baseline") or {}).get("curves") or {}
    performance = evaluation.get("performance") or {}
    marks = {"p50": performance.get("latency_p50_ms"), "p99": performance.get("latency_p99_ms")}
    metric_names = plotted_metrics(report)
    slices = []
    for column, values in (evaluation.get("slices") or {}).items():
        metric = plots.slice_metric(values, metric_names)
        if metric is not None:
            slices.append(plots.slice_svg(column, values, metric))
    return {
        "roc": plots.roc_svg(candidate, production),
        "pr": plots.pr_svg(candidate, production),
        "calibration": plots.calibration_svg(candidate, production),
        "latency": plots.histogram_svg(
            candidate.get("latency"),
            title="Single-row latency",
            xlabel="milliseconds (log scale)",
            marks=marks,
        ),
        "residuals": plots.histogram_svg(
            candidate.get("residuals"), title="Residuals", xlabel="prediction − truth"
        ),
        "slices": [s for s in slices if s],
    }


def _failures(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for result in behaviour_failures(report):
        examples = list(result["examples"])
        columns = example_columns(examples[:MAX_EXAMPLES])
        rows = [
            [fmt.value(e.get(c)) if isinstance(e, Mapping) else fmt.value(e) for c in columns]
            for e in examples[:MAX_EXAMPLES]
        ]
        found.append({"result": result, "columns": columns, "rows": rows, "total": len(examples)})
    return found


def render_html(report: Mapping[str, Any], *, digest: str = "") -> str:
    """The report as one HTML document (a few hundred KB at most), readable offline.

    `digest` is recorded in a `<meta>` tag so an unchanged report need not be rendered again.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("shipyard.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=fmt.number,
        signed=fmt.signed,
        value=fmt.value,
        interval=fmt.interval,
        mark=fmt.status_mark,
        p_value=fmt.p_value,
    )
    figures = _plots(report)
    svg = {k: Markup(v) if isinstance(v, str) else [Markup(s) for s in v] for k, v in figures.items()}
    return env.get_template(TEMPLATE).render(
        report=report,
        plots=svg,
        failures=_failures(report),
        slice_comparisons=slice_comparisons(report),
        production_cell=fmt.production_cell,
        first_model=fmt.FIRST_MODEL,
        digest=digest,
    )
