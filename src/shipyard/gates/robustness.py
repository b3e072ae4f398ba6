"""Robustness: edge cases generated from the schema yield valid outputs, and small numeric
noise does not move the scores much."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.params import Interval, OfType
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ShipyardError
from shipyard.gates._probe import example_rows, require, row_changes, score_matrix, target_of
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.contract import OutputContractGate
from shipyard.gates.perturbations import sample_rows

UNSEEN = "__shipyard_unseen__"
_BASE_ROWS = 3
_EXAMPLES = 5


def edge_values(column: str, rows: pd.DataFrame, schema: Any) -> list[Any]:
    """Values at the edges of what the schema allows for `column` (observed range without one):
    bounds, zero where in range, the rarest and an unseen category, null where allowed."""
    values = rows[column]
    spec = schema.column(column) if schema is not None and column in schema.names else None
    if spec is not None and spec.unique:
        return []
    dtype = spec.dtype if spec is not None else None
    nullable = spec.nullable if spec is not None else bool(values.isna().any())
    edges: list[Any] = []
    if pd.api.types.is_bool_dtype(values) or dtype == "bool":
        edges = [True, False]
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        low = spec.minimum if spec is not None and spec.minimum is not None else values.min()
        high = spec.maximum if spec is not None and spec.maximum is not None else values.max()
        edges = [v for v in (low, high) if v is not None and not pd.isna(v)]
        numeric = pd.api.types.is_numeric_dtype(values) and dtype != "datetime"
        if numeric and (not edges or min(edges) <= 0 <= max(edges)) and 0 not in edges:
            edges.append(0)
    else:
        counts = values.value_counts()
        if len(counts):
            edges.append(counts.index[-1])
        edges.append(UNSEEN)
    if nullable:
        edges.append(None)
    return edges


def _edge_frame(base: pd.DataFrame, column: str, values: list[Any]) -> pd.DataFrame:
    frames = []
    for value in values:
        frame = base.copy()
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
        frame[column] = [value] * len(frame)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class RobustnessGate(Gate):
    """Pass when every edge case from the schema yields valid outputs (the output contract)
    and numeric noise of `noise` x each column's std moves the score by more than
    `max_change` on at most a `max_violations` share of rows."""

    type_name = "robustness"
    needs = frozenset({"rows", "model", "schema"})
    _parameter_constraints = {
        "edge_cases": [OfType(bool, "a boolean")],
        "noise": [Interval(float, 0, None)],
        "max_change": [Interval(float, 0, None)],
        "max_violations": [Interval(float, 0, 1)],
        "max_rows": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        edge_cases: bool = True,
        noise: float = 0.01,
        max_change: float = 0.1,
        max_violations: float = 0.01,
        max_rows: int = 500,
    ) -> None:
        self.edge_cases = edge_cases
        self.noise = noise
        self.max_change = max_change
        self.max_violations = max_violations
        self.max_rows = max_rows

    def _edge_failures(self, ctx: GateContext, rows: pd.DataFrame) -> tuple[int, list[dict[str, Any]]]:
        model = require(ctx, "model", f"gate '{self.type_name}'")
        base = rows.head(_BASE_ROWS)
        contract = OutputContractGate(min_predicted_classes=1)
        tried, failures = 0, []
        for column in [c for c in rows.columns if c != target_of(ctx)]:
            values = edge_values(column, rows, ctx.schema)
            if not values:
                continue
            frame = _edge_frame(base, column, values)
            tried += len(frame)
            try:
                outputs = model.outputs(frame)
            # the model's own error on an edge value is the finding, whatever its type
            except Exception as exc:
                error = str(exc) if isinstance(exc, ShipyardError) else f"{type(exc).__name__}: {exc}"
                failures.append({"column": column, "values": values, "error": error})
                continue
            check = GateContext(task=ctx.task, y_true=np.zeros(len(frame)), candidate=outputs, metrics={})
            result = contract.evaluate(check)
            if result.status is Status.FAILED:
                failures.append({"column": column, "values": values, "error": result.message})
        return tried, failures

    def _noise_changes(self, ctx: GateContext, rows: pd.DataFrame) -> np.ndarray:
        model = require(ctx, "model", f"gate '{self.type_name}'")
        rng = np.random.default_rng(ctx.seed)
        noisy = rows.copy()
        for column in rows.columns:
            values = rows[column]
            spec = (
                ctx.schema.column(column) if ctx.schema is not None and column in ctx.schema.names else None
            )
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            if column == target_of(ctx) or not numeric or (spec is not None and spec.unique):
                continue
            moved = values.astype(float) + rng.normal(size=len(values)) * self.noise * float(
                values.std() or 1
            )
            if spec is not None:
                moved = moved.clip(lower=spec.minimum, upper=spec.maximum)
            noisy[column] = (
                moved.round().astype(values.dtype) if pd.api.types.is_integer_dtype(values) else moved
            )
        return row_changes(score_matrix(model, rows, ctx.task), score_matrix(model, noisy, ctx.task))

    def evaluate(self, ctx: GateContext) -> CheckResult:
        rows = sample_rows(require(ctx, "rows", f"gate '{self.type_name}'"), self.max_rows, ctx.seed)
        tried, failures = self._edge_failures(ctx, rows) if self.edge_cases else (0, [])
        changes = self._noise_changes(ctx, rows) if self.noise > 0 else np.zeros(0)
        unstable = np.flatnonzero(changes > self.max_change)
        share = len(unstable) / len(changes) if len(changes) else 0.0
        evidence = {
            "edge_rows": tried,
            "edge_failures": len(failures),
            "noise_rows": len(changes),
            "noise_violations": len(unstable),
            "max_noise_change": float(changes.max(initial=0.0)),
        }
        problems = []
        if failures:
            problems.append(
                f"{len(failures)} columns' edge cases gave invalid outputs or errors ("
                + "; ".join(f"'{f['column']}': {f['error']}" for f in failures[:3])
                + ")"
            )
        if share > self.max_violations:
            problems.append(
                f"noise of {self.noise} std moved the score by more than {self.max_change} on "
                f"{share:.1%} of {len(changes)} rows (allowed {self.max_violations:.1%})"
            )
        fields: dict[str, Any] = {"subject": "inputs", "evidence": evidence}
        if not problems:
            return CheckResult(
                check=self.type_name,
                status=Status.PASSED,
                message=f"{tried} edge-case rows gave valid outputs; noise moved the score by more than "
                f"{self.max_change} on {share:.1%} of {len(changes)} rows -> PASS",
                observed=share,
                expected=f"<= {self.max_violations}",
                **fields,
            )
        worst = unstable[np.argsort(-changes[unstable])][:_EXAMPLES]
        return CheckResult(
            check=self.type_name,
            status=Status.FAILED,
            message="; ".join(problems),
            reason=Reason.EDGE_CASE_FAILED if failures else Reason.SCORE_UNSTABLE,
            observed=failures[0]["error"] if failures else share,
            expected="valid outputs on every edge case" if failures else f"<= {self.max_violations}",
            hint="Make the features code handle values the schema allows (bounds, nulls, unseen "
            "categories, e.g. OneHotEncoder(handle_unknown='ignore')), or smooth the model.",
            examples=failures[:_EXAMPLES] or example_rows(rows, worst, change=changes[worst]),
            **fields,
        )
