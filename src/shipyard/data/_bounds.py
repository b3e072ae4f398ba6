"""Schema bounds: the seen range of a column (beyond it warns), and a wider one from its tail (beyond fails).

A clean batch from the same source lands beyond the reference's extreme now and then
(with a 20 % batch, the largest value of all lands in the batch one time in five), and
by how much depends on the tail: a heavy tail throws far. So the fail bound extends
each side by `TAIL_MULTIPLE` times the spread of the outer decile (max - q90), in log
space for a right-skewed positive column when that is wider (scale-free for heavy tails), and by at
least the width of the central 80 % (q90 - q10) and `margin` of the range.

Rounding to about three significant digits of the range keeps `schema.yaml`
readable (`maximum: 110.0`, not `109.66570793511173`) and stable: inferring again
on similar data writes the same bounds, so the diff shows only real changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# How many outer-decile spreads a fail bound lies beyond the seen extreme.
TAIL_MULTIPLE = 2.0
_TAIL_QUANTILE = 0.1


@dataclass(frozen=True)
class Bounds:
    """`minimum`/`maximum`: beyond fails; `observed_*`: the seen range, beyond warns."""

    minimum: Any = None
    maximum: Any = None
    observed_minimum: Any = None
    observed_maximum: Any = None


def _round_out(value: float, step_exponent: int, *, up: bool) -> float:
    step = 10.0**step_exponent
    # The nudge keeps 0.2 / 0.01 == 19.999999999999996 from rounding 0.2 out to 0.19.
    multiple = math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)
    rounded = round(multiple * step, max(0, -step_exponent))
    # Float error could land the rounded value just inside the range: keep the exact one then.
    return rounded if (rounded >= value if up else rounded <= value) else value


def _right_skewed(positive: np.ndarray) -> bool:
    """A long right tail: q90 is further above the median than 1.5 x the median is above q10."""
    q10, q50, q90 = np.quantile(positive, [_TAIL_QUANTILE, 0.5, 1 - _TAIL_QUANTILE])
    return bool(q90 - q50 > 1.5 * (q50 - q10))


def _pads(values: np.ndarray, margin: float) -> tuple[float, float]:
    """(lower pad, upper pad) from the outer deciles, at least `margin` of the range."""
    low, high = float(values.min()), float(values.max())
    with np.errstate(all="ignore"):  # values near the float limits overflow: no pad then
        q_low, q_high = np.quantile(values, [_TAIL_QUANTILE, 1 - _TAIL_QUANTILE])
        # A short sample can have a thin tail by chance: never less than the central 80 %'s width.
        floor = max(margin * (high - low), float(q_high) - float(q_low))
        pad_low = max(TAIL_MULTIPLE * (float(q_low) - low), floor)
        pad_high = max(TAIL_MULTIPLE * (high - float(q_high)), floor)
        positive = values[values > 0]
        if low >= 0 and len(positive) >= 5 and _right_skewed(positive):
            # A heavy positive tail is judged on the log scale: max * (max / q90) ** k, at least
            # (q90 / q10) ** k (a few positives show a thin tail by chance).
            logs = np.log(positive)
            log_high = float(logs.max())
            log_q10, log_q90 = np.quantile(logs, [_TAIL_QUANTILE, 1 - _TAIL_QUANTILE])
            log_pad = TAIL_MULTIPLE * max(log_high - float(log_q90), float(log_q90 - log_q10))
            pad_high = max(pad_high, float(np.exp(min(log_high + log_pad, 700.0))) - high)
    return (pad_low if math.isfinite(pad_low) else 0.0), (pad_high if math.isfinite(pad_high) else 0.0)


def _int_bounds(values: pd.Series, margin: float) -> Bounds:
    array = values.to_numpy(dtype="float64")
    low, high = int(array.min()), int(array.max())
    pad_low, pad_high = _pads(array, margin)
    lower, upper = low - math.ceil(pad_low), high + math.ceil(pad_high)
    if upper > lower and (pad_low > 0 or pad_high > 0):
        step = 10 ** max(0, int(math.log10(upper - lower)) - 2)
        lower, upper = lower // step * step, -(-upper // step) * step
    if low >= 0:
        lower = max(lower, 0)
    return Bounds(lower, upper, low, high)


def _float_bounds(values: pd.Series, margin: float) -> Bounds:
    array = values.to_numpy(dtype="float64")
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return Bounds()
    low, high = float(finite.min()), float(finite.max())
    pad_low, pad_high = _pads(finite, margin)
    lower, upper = low - pad_low, high + pad_high
    seen_low, seen_high = low, high
    width = (upper - lower) if math.isfinite(upper - lower) else (high - low)
    if math.isfinite(width) and width > 0:
        exponent = math.floor(math.log10(width)) - 2
        if math.isfinite(lower) and pad_low > 0:
            lower = _round_out(lower, exponent, up=False)
        if math.isfinite(upper) and pad_high > 0:
            upper = _round_out(upper, exponent, up=True)
    if high > low and math.isfinite(high - low):
        seen_exponent = math.floor(math.log10(high - low)) - 3
        seen_low = _round_out(low, seen_exponent, up=False)
        seen_high = _round_out(high, seen_exponent, up=True)
    if low >= 0:
        lower, seen_low = max(lower, 0.0), max(seen_low, 0.0)
    # An infinite value in the reference data leaves that side open.
    open_low = bool((array == -math.inf).any()) or not math.isfinite(lower)
    open_high = bool((array == math.inf).any()) or not math.isfinite(upper)
    return Bounds(
        None if open_low else lower,
        None if open_high else upper,
        None if open_low else seen_low,
        None if open_high else seen_high,
    )


def _datetime_bounds(values: pd.Series, margin: float) -> Bounds:
    low, high = pd.Timestamp(values.min()), pd.Timestamp(values.max())  # a `datetime.date` too
    pad = (high - low) * max(margin, 0.0)
    try:
        lower = low - pad
    except (OverflowError, ValueError):  # beyond the dtype's calendar: keep the observed range
        return Bounds(low, None, low, None)
    if margin > 0:
        lower = lower.floor("s")
    # New data is newer: a date-time column gets no upper bound.
    return Bounds(lower, None, low, None)


def tail_bounds(values: pd.Series, family: str, margin: float) -> Bounds:
    """The bounds of the non-null `values` of an int, float or datetime column.

    Ints stay ints; a column never below zero keeps a lower bound of at least zero.
    """
    if family == "datetime":
        return _datetime_bounds(values, margin)
    if family == "int":
        return _int_bounds(values, margin)
    return _float_bounds(values, margin)
