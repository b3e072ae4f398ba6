"""Any report survives its stable JSON, and its headline counts what it holds.

Results carry NaN, infinities, NumPy scalars, tuples and nested dicts: the first
encoding normalises them, after which JSON -> Report -> JSON changes nothing.
"""

from __future__ import annotations

import json
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.results import CheckResult, Reason, Report, Severity, Status

HEADLINE = re.compile(
    r"^(?:(?P<failed>\d+) of (?P<total>\d+)|all (?P<all>\d+)) (?P<noun>.+) (failed|passed)"
    r"(?: \((?P<extra>.+)\))?$"
)

keys = st.text(alphabet="abcé_1", max_size=6)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.floats().map(np.float64),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=6,
)
results = st.builds(
    CheckResult,
    check=st.text(max_size=20),
    status=st.sampled_from(Status),
    message=st.text(max_size=40),
    subject=st.text(max_size=20),
    severity=st.sampled_from(Severity),
    reason=st.none() | st.sampled_from(Reason),
    observed=values,
    expected=values,
    hint=st.text(max_size=20),
    examples=st.lists(scalars, max_size=4).map(tuple),
    evidence=st.dictionaries(keys, values, max_size=4),
)
kinds = st.sampled_from(["data", "gates"])
reports = st.builds(Report.of, kind=kinds, results=st.lists(results, max_size=5))
verdicts = st.builds(
    CheckResult,
    check=st.just("c"),
    status=st.sampled_from(Status),
    message=st.just("m"),
    severity=st.sampled_from(Severity),
)


def _reject_constant(name: str) -> None:
    raise ValueError(f"the report JSON holds the non-standard constant {name}")


@settings(max_examples=80, deadline=None)
@given(reports)
def test_json_round_trip_is_lossless_after_the_first_encoding(report):
    text = report.to_json()
    # Non-finite floats become null / "inf" / "-inf": strict JSON parsers reject NaN.
    loaded = json.loads(text, parse_constant=_reject_constant)
    back = Report.from_dict(loaded)
    assert back.to_dict() == loaded
    assert back.to_json() == text
    assert [(r.status, r.severity, r.reason) for r in back.results] == [
        (r.status, r.severity, r.reason) for r in report.results
    ]


@settings(max_examples=150, deadline=None)
@given(st.builds(Report.of, kind=kinds, results=st.lists(verdicts, max_size=12)))
def test_headline_counts_agree_with_the_results(report):
    failed = sum(r.status is Status.FAILED and r.severity is Severity.FAIL for r in report.results)
    warned = sum(r.status is Status.FAILED and r.severity is Severity.WARN for r in report.results)
    skipped = sum(r.status is Status.SKIPPED for r in report.results)
    match = HEADLINE.match(report.headline())
    assert match, report.headline()
    total = int(match["total"] or match["all"])
    assert total == len(report.results)
    assert int(match["failed"] or 0) == failed == len(report.failures)
    assert report.passed is (failed == 0) is (match["all"] is not None)
    assert match["noun"] == ("data checks" if report.kind == "data" else report.kind)
    extra = dict(
        (part.split(" ")[1].rstrip("s"), int(part.split(" ")[0]))
        for part in (match["extra"] or "").split(", ")
        if part
    )
    assert extra.get("warning", 0) == warned == len(report.warnings)
    assert extra.get("skipped", 0) == skipped
    assert report.to_dict()["headline"] == report.headline()
    assert report.to_dict()["passed"] is report.passed
