"""Reproducibility: determinism, the serialization round trip, and training/serving skew.

All three compare two ways of computing the same thing on the same raw rows; the
comparison (`frame_difference`) is shared with `shipyard smoke`'s load-back check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.params import Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.gates._probe import require, target_of
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.perturbations import sample_rows

ROUND_TRIP_TOLERANCE = 1e-6
_SINGLE_ROWS = 20
_EXAMPLES = 5


def frame_difference(reference: pd.DataFrame, other: pd.DataFrame) -> tuple[float, pd.Series, list[str]]:
    """Compare two frames of the same rows and columns.

    Returns the largest absolute difference over numeric columns (inf where a value is
    missing on one side only, or a non-numeric value differs), the per-row maximum, and
    the columns that differ at all or are missing from `other`.
    """
    missing = [c for c in reference.columns if c not in other.columns]
    per_row = pd.Series(np.inf if missing else 0.0, index=reference.index)
    differing = list(missing)
    for column in [c for c in reference.columns if c in other.columns]:
        left, right = reference[column], other[column].set_axis(reference.index)
        both_missing = left.isna() & right.isna()
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
            gap = (left.astype(float) - right.astype(float)).abs()
            gap = gap.where(~both_missing, 0.0).fillna(np.inf)
        else:
            same = (left.astype(str) == right.astype(str)) | both_missing
            gap = pd.Series(np.where(same, 0.0, np.inf), index=reference.index)
        if (gap > 0).any():
            differing.append(column)
        per_row = np.maximum(per_row, gap)
    return float(per_row.max()) if len(per_row) else 0.0, per_row, differing


def output_columns(frame: pd.DataFrame) -> list[str]:
    """The columns compared numerically: class probabilities, or the prediction."""
    return [c for c in frame.columns if str(c).startswith("proba_")] or ["prediction"]


class _ComparisonGate(Gate):
    """Compare a reference computation with others; fail above `tolerance`."""

    reason: Reason
    what = ""
    tolerance: float
    max_rows: int

    def _compare(self, ctx: GateContext, rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        raise NotImplementedError

    def evaluate(self, ctx: GateContext) -> CheckResult:
        rows = sample_rows(require(ctx, "rows", f"gate '{self.type_name}'"), self.max_rows, ctx.seed)
        rows = rows.reset_index(drop=True)
        worst, findings, examples = 0.0, [], []
        for path, (reference, other) in self._compare(ctx, rows).items():
            difference, per_row, columns = frame_difference(reference, other)
            worst = max(worst, difference)
            if difference > self.tolerance:
                findings.append(f"{path}: max difference {difference:.3g} in {columns[:5]}")
                bad = per_row[per_row > self.tolerance].index[:_EXAMPLES]
                examples += [
                    {
                        "path": path,
                        "row": str(i),
                        "expected": reference.loc[i].to_dict(),
                        "got": other.loc[i].to_dict(),
                    }
                    for i in bad
                ]
        evidence = {"rows": len(rows), "max_difference": worst, "tolerance": self.tolerance}
        fields: dict[str, Any] = {
            "subject": self.what,
            "observed": worst,
            "expected": f"<= {self.tolerance}",
            "evidence": evidence,
        }
        if not findings:
            return CheckResult(
                check=self.type_name,
                status=Status.PASSED,
                message=f"{self.what} agree on {len(rows)} rows (max difference {worst:.3g}, "
                f"tolerance {self.tolerance:g}) -> PASS",
                **fields,
            )
        return CheckResult(
            check=self.type_name,
            status=Status.FAILED,
            message=f"{self.what} disagree on {len(rows)} rows: " + "; ".join(findings),
            reason=self.reason,
            hint=self._hint(),
            examples=examples[:_EXAMPLES],
            **fields,
        )

    def _hint(self) -> str:
        return ""


_CONSTRAINTS = {"tolerance": [Interval(float, 0, None)], "max_rows": [Interval(int, 1, None)]}


class DeterminismGate(_ComparisonGate):
    """Pass when predicting the same rows twice, in reverse order, and one row at a time
    gives the same outputs within `tolerance`."""

    type_name = "determinism"
    needs = frozenset({"rows", "model"})
    reason = Reason.NONDETERMINISTIC
    what = "repeated predictions"
    _parameter_constraints = _CONSTRAINTS

    def __init__(self, *, tolerance: float = 1e-9, max_rows: int = 500) -> None:
        self.tolerance = tolerance
        self.max_rows = max_rows

    def _compare(self, ctx: GateContext, rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        model = require(ctx, "model", f"gate '{self.type_name}'")
        first = model.predict_frame(rows)
        single = rows.head(_SINGLE_ROWS)
        one_by_one = pd.concat([model.predict_frame(single.iloc[[i]]) for i in range(len(single))])
        return {
            "second call": (first, model.predict_frame(rows)),
            "reversed order": (first, model.predict_frame(rows.iloc[::-1]).loc[first.index]),
            "one row at a time": (first.head(_SINGLE_ROWS), one_by_one),
        }

    def _hint(self) -> str:
        return (
            "The model's outputs depend on call order or batch composition: fix random state at "
            "predict time, or features that look at other rows of the batch."
        )


class SerializationRoundTripGate(_ComparisonGate):
    """Pass when the packaged model loaded through MLflow's pyfunc (as the server loads it)
    reproduces the in-memory model's outputs within `tolerance`."""

    type_name = "serialization_round_trip"
    needs = frozenset({"rows", "model", "model_dir"})
    reason = Reason.ROUND_TRIP_MISMATCH
    what = "the packaged and in-memory models"
    _parameter_constraints = _CONSTRAINTS

    def __init__(self, *, tolerance: float = ROUND_TRIP_TOLERANCE, max_rows: int = 2000) -> None:
        self.tolerance = tolerance
        self.max_rows = max_rows

    def _compare(self, ctx: GateContext, rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        from shipyard.training.packaging import load_pyfunc

        model = require(ctx, "model", f"gate '{self.type_name}'")
        model_dir = require(ctx, "model_dir", f"gate '{self.type_name}'")
        inputs = rows.drop(columns=[target_of(ctx)], errors="ignore")
        served = pd.DataFrame(load_pyfunc(model_dir, ctx.model_trust).predict(inputs)).set_axis(rows.index)
        return {"MLflow pyfunc": (model.predict_frame(rows), served)}

    def _hint(self) -> str:
        return (
            "Serving would not reproduce training: look for state the pickle loses (globals, "
            "lambdas, code outside the shipped package) or float32 conversion on load."
        )


class TrainingServingSkewGate(_ComparisonGate):
    """Pass when the features the packaged serving path computes on raw rows, one row at a
    time and in small batches, equal the features computed on the whole batch at training
    time, within `tolerance`."""

    type_name = "training_serving_skew"
    needs = frozenset({"rows", "model"})
    reason = Reason.TRAINING_SERVING_SKEW
    what = "training and serving features"
    _parameter_constraints = {**_CONSTRAINTS, "batch_size": [Interval(int, 1, None)]}

    def __init__(self, *, tolerance: float = 1e-9, max_rows: int = 200, batch_size: int = 16) -> None:
        self.tolerance = tolerance
        self.max_rows = max_rows
        self.batch_size = batch_size

    def _compare(self, ctx: GateContext, rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        model: Any = require(ctx, "model", f"gate '{self.type_name}'")
        training = model.transform(rows)
        single = pd.concat([model.transform(rows.iloc[[i]]) for i in range(len(rows))])
        batches = pd.concat(
            [
                model.transform(rows.iloc[i : i + self.batch_size])
                for i in range(0, len(rows), self.batch_size)
            ]
        )
        return {"one row": (training, single), f"batches of {self.batch_size}": (training, batches)}

    def _hint(self) -> str:
        return (
            "The features function is not row-wise: a served row gets other features than at "
            "training (statistics over the batch, dtypes that change with one row). Compute "
            "dataset statistics at training time and ship them with the model."
        )
