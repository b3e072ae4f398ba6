"""The statistics behind batch checks: allowances inferred from reference data, tests on a batch.

Zero nulls in n reference rows does not prove the null rate is zero; it bounds it.
An allowance is a one-sided Clopper-Pearson upper bound on a reference rate, and a
batch fails only when its count is significantly above the allowance (a binomial
test at the batch size); above the allowance but not significantly so, it warns.

Examples
--------
>>> round(upper_bound(0, 1000), 4)  # "rule of three" at 99.9 %: -ln(0.001) / n
0.0069
>>> verdict(1, 200, 0.0069)  # one null in 200 rows: within the allowance
'pass'
>>> verdict(3, 200, 0.0069)  # 1.5 % > 0.69 %, but three nulls can happen by chance
'warn'
>>> verdict(20, 200, 0.0069)
'fail'
"""

from __future__ import annotations

import math
from typing import Literal

# One-sided confidence of an inferred allowance.
CONFIDENCE = 0.999
# Of the Good-Turing estimate of unseen categories: a category never seen once is rare indeed.
UNSEEN_CONFIDENCE = 0.9
# A batch count fails when a clean batch would reach it with at most this probability.
FAIL_ALPHA = 1e-3
# Rows beyond the seen range fail only when exchangeable data would put that many there
# with at most this probability: (m / (n + m)) ** k for k rows of m beyond n reference rows.
EXCEEDANCE_ALPHA = 1e-6

Verdict = Literal["pass", "warn", "fail"]


def upper_bound(count: int, rows: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper confidence bound of a rate seen `count` times in `rows`."""
    if rows <= 0:
        return 1.0
    if count >= rows:
        return 1.0
    if count == 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / rows)
    from scipy.special import betaincinv

    return float(betaincinv(count + 1, rows - count, confidence))


def binomial_sf(count: int, rows: int, rate: float) -> float:
    """P(X >= count) for X ~ Binomial(rows, rate)."""
    if count <= 0:
        return 1.0
    if rate <= 0.0:
        return 0.0
    if rate >= 1.0:
        return 1.0
    from scipy.special import betainc

    return float(betainc(count, rows - count + 1, rate))


def verdict(count: int, rows: int, allowance: float, alpha: float = FAIL_ALPHA) -> Verdict:
    """`fail` when `count` of `rows` is significantly above the `allowance` rate, `warn` when above
    it by chance-compatible amounts, `pass` otherwise. An allowance of 0 fails any count."""
    if count == 0 or count <= allowance * rows:
        return "pass"
    return "fail" if binomial_sf(count, rows, allowance) < alpha else "warn"


def exceedance_pvalue(beyond: int, batch: int, reference: int) -> float:
    """P(at least `beyond` of `batch` rows exceed the extreme of `reference` rows), for exchangeable
    rows: C(m, k) / C(n + m, k). Ties in the reference only make it smaller (conservative)."""
    if beyond <= 0:
        return 1.0
    if reference <= 0:
        return 1.0
    log_p = (
        math.lgamma(batch + 1)
        - math.lgamma(batch - beyond + 1)
        - math.lgamma(batch + reference + 1)
        + math.lgamma(batch + reference - beyond + 1)
    )
    return math.exp(log_p)


def round_up(value: float, digits: int = 2) -> float:
    """`value` rounded up to `digits` significant digits, so allowances read well in schema.yaml."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value)) - digits + 1
    step = 10.0**exponent
    return round(math.ceil(value / step - 1e-9) * step, max(0, -exponent))
