"""Schema bounds: the observed range of a column, widened by a margin and rounded outward.

Rounding to about three significant digits of the range keeps `schema.yaml`
readable (`maximum: 110.0`, not `109.66570793511173`) and stable: inferring again
on similar data writes the same bounds, so the diff shows only real changes.
Rounding widens each side by at most 1 % of the range, and only when `margin > 0`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def _int_bounds(values: pd.Series, margin: float) -> tuple[int, int]:
    low, high = int(values.min()), int(values.max())
    pad = math.ceil(margin * (high - low))
    lower, upper = low - pad, high + pad
    if margin > 0 and upper > lower:
        step = 10 ** max(0, int(math.log10(upper - lower)) - 2)
        lower, upper = lower // step * step, -(-upper // step) * step
    return (max(lower, 0) if low >= 0 else lower), upper


def _round_out(value: float, step_exponent: int, *, up: bool) -> float:
    step = 10.0**step_exponent
    # The nudge keeps 0.2 / 0.01 == 19.999999999999996 from rounding 0.2 out to 0.19.
    multiple = math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)
    rounded = round(multiple * step, max(0, -step_exponent))
    # Float error could land the rounded value just inside the range: keep the exact one then.
    return rounded if (rounded >= value if up else rounded <= value) else value


def _float_bounds(values: pd.Series, margin: float) -> tuple[float | None, float | None]:
    finite = values[values.abs() != math.inf].astype("float64")
    if finite.empty:
        return None, None
    low, high = float(finite.min()), float(finite.max())
    pad = margin * (high - low)
    lower, upper = low - pad, high + pad
    if margin > 0 and math.isfinite(upper - lower) and upper > lower:
        exponent = math.floor(math.log10(upper - lower)) - 2
        lower, upper = _round_out(lower, exponent, up=False), _round_out(upper, exponent, up=True)
    if low >= 0:
        lower = max(lower, 0.0)
    # An infinite value in the reference data leaves that side open.
    open_low = (values == -math.inf).any() or not math.isfinite(lower)
    open_high = (values == math.inf).any() or not math.isfinite(upper)
    return (None if open_low else lower), (None if open_high else upper)


def _datetime_bounds(values: pd.Series, margin: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    low, high = values.min(), values.max()
    pad = (high - low) * margin
    try:
        lower, upper = low - pad, high + pad
    except (OverflowError, ValueError):  # beyond the dtype's calendar: keep the observed range
        return low, high
    if margin > 0:
        lower, upper = lower.floor("s"), upper.ceil("s")
    return lower, upper


def widened_bounds(values: pd.Series, family: str, margin: float) -> tuple[Any, Any]:
    """(minimum, maximum) for the non-null `values` of an int, float or datetime column.

    Ints stay ints; a column never below zero keeps a lower bound of at least zero.
    """
    if family == "datetime":
        return _datetime_bounds(values, margin)
    if family == "int":
        return _int_bounds(values, margin)
    return _float_bounds(values, margin)
