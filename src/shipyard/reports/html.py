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


def _plot_calls(report: Mapping[str, Any]) -> dict[str, Any]:
    """What each plot is drawn from: `(function name in plots, keyword arguments)`, or a list
    of them for the slices. Rendering and the cache key (`plots_key`) both read this, so the key
    covers every input of every plot."""
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
            slices.append(("slice_svg", {"column": column, "values": values, "metric": metric}))
    curves = {"candidate": candidate, "production": production}
    return {
        "roc": ("roc_svg", curves),
        "pr": ("pr_svg", curves),
        "calibration": ("calibration_svg", curves),
        "latency": (
            "histogram_svg",
            {
                "data": candidate.get("latency"),
                "title": "Single-row latency",
                "xlabel": "milliseconds (log scale)",
                "marks": marks,
            },
        ),
        "residuals": (
            "histogram_svg",
            {"data": candidate.get("residuals"), "title": "Residuals", "xlabel": "prediction − truth"},
        ),
        "slices": slices,
    }


def plots_key(report: Mapping[str, Any]) -> str:
    """A content key of the report's plots: what they are drawn from, the drawing code and the
    matplotlib version, so plots rendered once can be reused (see `reports.files.write_reports`)."""
    from importlib.metadata import version

    from shipyard.core.hashing import digest_file, digest_value

    code = digest_file(plots.__file__)
    return digest_value({"calls": _plot_calls(report), "code": code, "matplotlib": version("matplotlib")})


def render_plots(report: Mapping[str, Any]) -> dict[str, Any]:
    """Every plot of the report as SVG text ("" where there is nothing to plot; a list of the
    slice plots that have something to show)."""

    def draw(call: tuple[str, Mapping[str, Any]]) -> str:
        name, kwargs = call
        return str(getattr(plots, name)(**kwargs))

    calls = _plot_calls(report)
    slices = [draw(call) for call in calls.pop("slices")]
    return {**{name: draw(call) for name, call in calls.items()}, "slices": [s for s in slices if s]}


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


def render_html(
    report: Mapping[str, Any], *, digest: str = "", figures: Mapping[str, Any] | None = None
) -> str:
    """The report as one HTML document (a few hundred KB at most), readable offline.

    `digest` is recorded in a `<meta>` tag so an unchanged report need not be rendered again.
    `figures` are the report's plots rendered earlier (`render_plots`, looked up by `plots_key`);
    by default they are drawn now.
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
    if figures is None:
        figures = render_plots(report)
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
