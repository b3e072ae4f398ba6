"""Minimum functionality (CheckList): curated cases the model must get right.

Cases are written inline or in a YAML file relative to the project folder, each a
raw row (every input column of the schema) and the expected label or value:

    - name: new account, large electronics purchase at night
      row: {amount: 2400.0, merchant_category: electronics, ...}
      expected: 1
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from shipyard.core.params import STRING, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data.dates import parse_datetimes
from shipyard.errors import ConfigError
from shipyard.gates._probe import check_column, require
from shipyard.gates.base import Gate, GateContext

_EXAMPLES = 10


@dataclass(frozen=True)
class _CaseList:
    """A list of case mappings (their keys are checked when the gate is built)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(case, Mapping) for case in value)

    def __str__(self) -> str:
        return "a list of {row: {...}, expected: ...} mappings"


def _parse_cases(cases: Any, source: str) -> list[dict[str, Any]]:
    """Each case as {name, row, expected}, or a `ConfigError` naming the case."""
    if isinstance(cases, Mapping) and "cases" in cases:
        cases = cases["cases"]
    if not isinstance(cases, list) or not cases:
        raise ConfigError(f"{source}: cases must be a non-empty list of {{row: {{...}}, expected: ...}}.")
    parsed = []
    for i, case in enumerate(cases):
        if (
            not isinstance(case, Mapping)
            or not isinstance(case.get("row"), Mapping)
            or "expected" not in case
        ):
            raise ConfigError(
                f"{source}: cases[{i}] must be a mapping with 'row' (column: value) and 'expected'. "
                f"Got {case!r} instead."
            )
        unknown = sorted(set(case) - {"name", "row", "expected"})
        if unknown:
            raise ConfigError(f"{source}: cases[{i}] has unknown keys {unknown}; use name, row, expected.")
        parsed.append({**case, "name": str(case.get("name", f"case {i}")), "row": dict(case["row"])})
    return parsed


def load_cases(cases: Any, project_root: Path | None, owner: str) -> list[dict[str, Any]]:
    """The cases of the `cases` option: an inline list, or a YAML file under the project."""
    if not isinstance(cases, str):
        return _parse_cases(cases, f"{owner}: cases")
    import yaml

    path = Path(project_root or ".") / cases
    if not path.is_file():
        raise ConfigError(f"{owner}: cases: no such file {path}. Give a YAML file relative to the project.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: malformed YAML: {exc}") from None
    return _parse_cases(data, path.name)


class MinimumFunctionalityGate(Gate):
    """Pass when the model gets at least `min_accuracy` of the curated `cases` right: the
    predicted label equals `expected` (compared as text), or for regression lies within
    `tolerance` of it."""

    type_name = "minimum_functionality"
    needs = frozenset({"model", "schema"})
    _parameter_constraints = {
        "cases": [STRING, _CaseList()],
        "min_accuracy": [Interval(float, 0, 1)],
        "tolerance": [Interval(float, 0, None)],
    }

    def __init__(self, *, cases: str | list[Any], min_accuracy: float = 1.0, tolerance: float = 0.0) -> None:
        self.cases = cases
        self.min_accuracy = min_accuracy
        self.tolerance = tolerance

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        if not isinstance(params["cases"], str):
            _parse_cases(params["cases"], f"gate '{label or cls.type_name}': cases")
        return gate

    def lint(self, *, schema: Any, project_root: Path, where: str) -> None:
        """Every case names known columns and gives every input column of the schema."""
        for i, case in enumerate(load_cases(self.cases, project_root, where)):
            for column in case["row"]:
                check_column(schema, column, f"{where}.cases[{i}].row")
            inputs = [c.name for c in schema.columns if c.name != schema.target]
            missing = [c for c in inputs if c not in case["row"]]
            if missing:
                raise ConfigError(
                    f"{where}.cases[{i}] ({case['name']}): the row lacks the columns {missing}. "
                    f"Give every input column of the schema."
                )

    def evaluate(self, ctx: GateContext) -> CheckResult:
        owner = f"gate '{self.type_name}'"
        model = require(ctx, "model", owner)
        cases = load_cases(self.cases, ctx.project_root, owner)
        frame = pd.DataFrame([case["row"] for case in cases])
        if ctx.schema is not None:
            frame = _with_schema_dtypes(frame, ctx.schema, cases, owner)
        predicted = np.asarray(model.predict_frame(frame)["prediction"].tolist(), dtype=object)
        expected = [case["expected"] for case in cases]
        if ctx.task == "regression":
            right = np.abs(predicted.astype(float) - np.asarray(expected, dtype=float)) <= self.tolerance
        else:
            right = np.array([str(p) == str(e) for p, e in zip(predicted, expected, strict=True)])
        accuracy = float(right.mean())
        evidence = {"cases": len(cases), "right": int(right.sum())}
        fields: dict[str, Any] = {
            "subject": "cases",
            "observed": accuracy,
            "expected": f">= {self.min_accuracy}",
        }
        if accuracy >= self.min_accuracy:
            return CheckResult(
                check=self.type_name,
                status=Status.PASSED,
                message=f"{int(right.sum())} of {len(cases)} curated cases right "
                f"(required {self.min_accuracy:.0%}) -> PASS",
                evidence=evidence,
                **fields,
            )
        wrong = [
            {"name": c["name"], "expected": c["expected"], "predicted": p, "row": c["row"]}
            for c, p, ok in zip(cases, predicted, right, strict=True)
            if not ok
        ]
        return CheckResult(
            check=self.type_name,
            status=Status.FAILED,
            message=f"{len(wrong)} of {len(cases)} curated cases wrong, e.g. "
            + "; ".join(
                f"'{w['name']}': expected {w['expected']!r}, got {w['predicted']!r}" for w in wrong[:3]
            ),
            reason=Reason.MINIMUM_FUNCTIONALITY_FAILED,
            hint="The model fails cases it must get right; look at what these rows have in common.",
            examples=wrong[:_EXAMPLES],
            evidence=evidence,
            **fields,
        )


def _with_schema_dtypes(
    frame: pd.DataFrame, schema: Any, cases: list[dict[str, Any]], owner: str
) -> pd.DataFrame:
    """Case rows come from YAML (dates, text dates, ints for floats): give them the dtypes the
    server gives a request, so a case is scored as the same row sent to `/predict` would be."""
    out = frame.copy()
    for column in out.columns:
        if column not in schema.names:
            continue
        family = schema.column(column).dtype
        if family == "datetime":
            out[column] = _datetimes(out[column], cases, owner)
        elif family == "float":
            out[column] = out[column].astype(float)
    return out


def _datetimes(values: pd.Series, cases: list[dict[str, Any]], owner: str) -> pd.Series:
    """A case column as the server parses it (`parse_datetimes`: ISO 8601, UTC, no zone kept);
    YAML's own dates and date-times count as their ISO text."""
    text = values.map(lambda v: v.isoformat() if isinstance(v, date) else v)
    stamps, failed = parse_datetimes(text)
    if failed.any():
        i = int(np.flatnonzero(failed.to_numpy())[0])
        raise ConfigError(
            f"{owner}: cases[{i}] ({cases[i]['name']}): '{values.name}' = {values.iloc[i]!r} is not an "
            "ISO 8601 date or date-time. Write it like 2026-01-31 or 2026-01-31T14:05:00Z."
        )
    return stamps.dt.tz_localize(None)
