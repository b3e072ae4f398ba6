"""Number and cell formatting shared by the Markdown and HTML views of a run report."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

FIRST_MODEL = "n/a (first model)"


def number(value: Any, digits: int = 4) -> str:
    """`0.8812`, `12`, `1.2e+04`; an empty string for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"
    return str(value)


def signed(value: Any, digits: int = 3) -> str:
    return f"{value:+.{digits}g}" if isinstance(value, int | float) and math.isfinite(value) else ""


def p_value(row: Mapping[str, Any]) -> str:
    """The adjusted p-value of a comparison if recorded, else the raw one; `<0.0001` when tiny."""
    p = row.get("p_adjusted")
    p = row.get("p_value") if p is None else p
    if not isinstance(p, int | float) or not math.isfinite(p):
        return ""
    return "<0.0001" if p < 1e-4 else f"{p:.2g}"


def value(value: Any, limit: int = 160) -> str:
    """Any observed/expected/example value as one short line of text."""
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, default=str, sort_keys=True)
    else:
        text = number(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def interval(row: Mapping[str, Any]) -> str:
    """`[-0.012, +0.004] (95%)` for a metric row with an interval, else ""."""
    if row.get("ci_low") is None or row.get("ci_high") is None:
        return ""
    level = row.get("confidence")
    tail = f" ({level * 100:g}%)" if isinstance(level, int | float) else ""
    return f"[{signed(row['ci_low'])}, {signed(row['ci_high'])}]{tail}"


def status_mark(result: Mapping[str, Any]) -> str:
    """✓ passed, ✗ failed (blocking), ! failed as a warning, – skipped."""
    status = result.get("status")
    if status == "passed":
        return "✓"
    if status == "skipped":
        return "–"
    return "✗" if result.get("severity", "fail") == "fail" else "!"


def production_cell(row: Mapping[str, Any], has_baseline: bool) -> str:
    if row.get("production") is not None:
        return number(row["production"])
    return "" if has_baseline else FIRST_MODEL
