"""The HTML report's plots: matplotlib figures rendered to inline SVG, from the run report's data.

Each function takes the compact curve data of `shipyard.evaluation.curves` (candidate
and, where recorded, production) and returns an `<svg>` element as text, or "" when
there is nothing to plot. Text stays text (`svg.fonttype: none`), element ids are
salted per plot so several SVGs can share one page, and nothing is fetched: the
markup is self-contained. matplotlib is imported on first use, without pyplot (no
global figure state).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

CANDIDATE = "#1f6feb"
PRODUCTION = "#8c959f"
FAIL = "#cf222e"
_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _figure(width: float = 4.6, height: float = 3.4) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure: Any, name: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    rc: dict[RcKeyType, Any] = {
        "svg.fonttype": "none",
        "svg.hashsalt": f"shipyard-{name}",
        "font.family": "sans-serif",
    }
    with matplotlib.rc_context(rc):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _XML_PROLOGUE.sub("", buffer.getvalue(), count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name}" class="plot" ', 1)


def _style(axes: Any, title: str, xlabel: str, ylabel: str) -> None:
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.tick_params(which="both", labelsize=8)
    axes.grid(True, alpha=0.3, linewidth=0.5)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _pairs(candidate: Mapping[str, Any] | None, production: Mapping[str, Any] | None, key: str) -> list:
    """(label, colour, data) for each model that has curve `key`."""
    found = []
    for label, colour, curves in (
        ("candidate", CANDIDATE, candidate),
        ("production", PRODUCTION, production),
    ):
        data = (curves or {}).get(key)
        if data:
            found.append((label, colour, data))
    return found


def roc_svg(candidate: Mapping[str, Any] | None, production: Mapping[str, Any] | None) -> str:
    """ROC curves of the candidate and production on the same test rows."""
    pairs = _pairs(candidate, production, "roc")
    if not pairs:
        return ""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], linestyle=":", color="#bbbbbb", linewidth=1, label="chance")
    for label, colour, data in pairs:
        axes.plot(data["fpr"], data["tpr"], color=colour, linewidth=1.6, label=label)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    _style(axes, "ROC curve", "false positive rate", "true positive rate")
    axes.legend(fontsize=8, loc="lower right", frameon=False)
    return _svg(figure, "ROC curve")


def pr_svg(candidate: Mapping[str, Any] | None, production: Mapping[str, Any] | None) -> str:
    """Precision-recall curves of the candidate and production, with the chance level."""
    pairs = _pairs(candidate, production, "pr")
    if not pairs:
        return ""
    figure, axes = _figure()
    prevalence = pairs[0][2].get("prevalence")
    if prevalence is not None:
        axes.axhline(prevalence, linestyle=":", color="#bbbbbb", linewidth=1, label="chance")
    for label, colour, data in pairs:
        axes.step(data["recall"], data["precision"], where="post", color=colour, linewidth=1.6, label=label)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    _style(axes, "Precision-recall curve", "recall", "precision")
    axes.legend(fontsize=8, loc="lower left", frameon=False)
    return _svg(figure, "Precision-recall curve")


def calibration_svg(candidate: Mapping[str, Any] | None, production: Mapping[str, Any] | None) -> str:
    """Reliability diagram: observed positive rate against mean predicted probability per bin."""
    pairs = _pairs(candidate, production, "calibration")
    if not pairs:
        return ""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], linestyle=":", color="#bbbbbb", linewidth=1, label="perfectly calibrated")
    for label, colour, data in pairs:
        axes.plot(
            data["mean_predicted"],
            data["fraction_positive"],
            marker="o",
            markersize=3.5,
            color=colour,
            linewidth=1.4,
            label=label,
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    _style(axes, "Calibration", "mean predicted probability", "observed frequency")
    axes.legend(fontsize=8, loc="upper left", frameon=False)
    return _svg(figure, "Calibration")


def histogram_svg(
    data: Mapping[str, Any] | None,
    *,
    title: str,
    xlabel: str,
    marks: Mapping[str, float | None] | None = None,
) -> str:
    """Bars of a `curves.histogram` dict, with vertical lines at `marks` (e.g. p50, p99)."""
    if not data or not data.get("counts"):
        return ""
    edges, counts = list(data["edges"]), list(data["counts"])
    figure, axes = _figure(width=6.4, height=3.0)
    widths = [high - low for low, high in zip(edges[:-1], edges[1:], strict=True)]
    axes.bar(edges[:-1], counts, width=widths, align="edge", color=CANDIDATE, alpha=0.75, edgecolor="white")
    if data.get("log"):
        from matplotlib.ticker import FuncFormatter

        axes.set_xscale("log")
        plain = FuncFormatter(lambda tick, _: f"{tick:g}")
        axes.xaxis.set_major_formatter(plain)
        axes.xaxis.set_minor_formatter(plain)
    for name, value in (marks or {}).items():
        if value is not None and math.isfinite(value) and value > 0:
            axes.axvline(value, color=FAIL if name == "p99" else PRODUCTION, linestyle="--", linewidth=1)
            axes.annotate(
                name,
                (value, max(counts)),
                fontsize=8,
                ha="left",
                va="top",
                xytext=(2, 0),
                textcoords="offset points",
            )
    _style(axes, title, xlabel, "count")
    return _svg(figure, title)


def slice_svg(column: str, values: Mapping[str, Mapping[str, Any]], metric: str) -> str:
    """Horizontal bars of `metric` per value of slice `column`, labelled with row counts."""
    names: list[str] = []
    scores: list[float] = []
    for value, row in values.items():
        score = row.get(metric)
        if isinstance(score, int | float) and math.isfinite(score):
            count = row.get("count")
            names.append(f"{value} (n={count:g})" if isinstance(count, int | float) else str(value))
            scores.append(float(score))
    if not names:
        return ""
    figure, axes = _figure(width=4.6, height=1.0 + 0.3 * len(names))
    axes.barh(range(len(names)), scores, color=CANDIDATE, alpha=0.8, height=0.6)
    axes.set_yticks(range(len(names)), labels=names)
    axes.invert_yaxis()
    for i, score in enumerate(scores):
        axes.annotate(
            f"{score:.3g}", (score, i), fontsize=8, va="center", xytext=(3, 0), textcoords="offset points"
        )
    axes.margins(x=0.12)
    _style(axes, f"{metric} by {column}", metric, "")
    return _svg(figure, f"{metric} by {column}")


def slice_metric(values: Mapping[str, Mapping[str, Any]], metrics: Sequence[str]) -> str | None:
    """The first of `metrics` that any slice value has a number for."""
    for metric in metrics:
        if any(isinstance(row.get(metric), int | float) for row in values.values()):
            return metric
    return None
