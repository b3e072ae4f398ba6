"""The output contract: predictions a serving client can rely on, whatever their quality."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shipyard.core.params import Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.gates.base import Gate, GateContext

_SUM_TOLERANCE = 1e-6


def _shape(ctx: GateContext) -> list[tuple[Reason, str]]:
    y_pred, y_score = np.asarray(ctx.candidate.y_pred), ctx.candidate.y_score
    n = len(ctx.y_true)
    found = []
    if y_pred.ndim != 1 or len(y_pred) != n:
        found.append(f"y_pred has shape {y_pred.shape}, expected ({n},)")
    if y_score is not None:
        width = len(ctx.candidate.classes) or np.shape(y_score)[-1]
        if np.shape(y_score) != (n, width):
            found.append(f"y_score has shape {np.shape(y_score)}, expected ({n}, {width})")
    return [(Reason.WRONG_OUTPUT_SHAPE, text) for text in found]


def _nans(ctx: GateContext) -> list[tuple[Reason, str]]:
    found = []
    missing = int(pd.isna(pd.Series(np.ravel(ctx.candidate.y_pred), dtype=object)).sum())
    if missing:
        found.append(f"{missing} predictions are missing (NaN or None)")
    if ctx.candidate.y_score is not None:
        scores = np.asarray(ctx.candidate.y_score, dtype=float)
        bad = int(np.isnan(scores).any(axis=-1).sum()) if scores.ndim else 0
        if bad:
            found.append(f"{bad} rows of probabilities contain NaN")
    return [(Reason.NAN_PREDICTIONS, text) for text in found]


def _probabilities(ctx: GateContext) -> list[tuple[Reason, str]]:
    if ctx.candidate.y_score is None:
        return []
    scores = np.asarray(ctx.candidate.y_score, dtype=float)
    found = []
    outside = np.sum((scores < 0) | (scores > 1))
    if outside:
        found.append(
            f"{outside} probabilities lie outside [0, 1] (min {np.nanmin(scores):.4g}, "
            f"max {np.nanmax(scores):.4g})"
        )
    if scores.ndim == 2:
        sums = scores.sum(axis=1)
        off = np.abs(sums - 1) > _SUM_TOLERANCE
        if off.any():
            found.append(
                f"{int(off.sum())} rows of probabilities do not sum to 1 within {_SUM_TOLERANCE:g} "
                f"(e.g. {', '.join(f'{v:.6g}' for v in sums[off][:3])})"
            )
    return [(Reason.PROBABILITY_OUT_OF_RANGE, text) for text in found]


def _dtype(ctx: GateContext) -> list[tuple[Reason, str]]:
    dtype = np.asarray(ctx.candidate.y_pred).dtype
    if ctx.task == "regression" and (dtype.kind not in "iuf"):
        return [
            (
                Reason.WRONG_OUTPUT_DTYPE,
                f"regression predictions have dtype {dtype}, expected a numeric dtype",
            )
        ]
    return []


class OutputContractGate(Gate):
    """Pass when the candidate's outputs have the right shape, no NaN, valid probabilities,
    a numeric dtype for regression and at least `min_predicted_classes` predicted classes.

    Every violation is reported in `evidence["violations"]`; the result's reason is the first.
    """

    type_name = "output_contract"
    _parameter_constraints = {"min_predicted_classes": [Interval(int, 1, None, "left")]}

    def __init__(self, *, min_predicted_classes: int = 2) -> None:
        self.min_predicted_classes = min_predicted_classes

    def _classes(self, ctx: GateContext) -> tuple[int, list[tuple[Reason, str]]]:
        if ctx.task != "classification":
            return 0, []
        predicted = pd.Series(np.ravel(ctx.candidate.y_pred), dtype=object).dropna().nunique()
        if predicted >= self.min_predicted_classes:
            return predicted, []
        text = f"{predicted} distinct class predicted, expected at least {self.min_predicted_classes}"
        return predicted, [(Reason.SINGLE_CLASS_PREDICTED, text)]

    def evaluate(self, ctx: GateContext) -> CheckResult:
        predicted, class_violations = self._classes(ctx)
        violations = [
            *_shape(ctx),
            *_nans(ctx),
            *_probabilities(ctx),
            *_dtype(ctx),
            *class_violations,
        ]
        rows = len(ctx.y_true)
        evidence = {
            "rows": rows,
            "predicted_classes": predicted,
            "violations": [{"reason": r.value, "message": m} for r, m in violations],
        }
        if violations:
            return CheckResult(
                check=self.type_name,
                status=Status.FAILED,
                message="output contract violated: " + "; ".join(m for _, m in violations),
                subject="outputs",
                reason=violations[0][0],
                observed=[m for _, m in violations],
                expected="one finite prediction per row; probabilities in [0, 1] summing to 1",
                hint="Fix the model's predict/predict_proba (or the features code feeding it); "
                "serving clients would receive these outputs.",
                evidence=evidence,
            )
        detail = f", {predicted} classes predicted" if ctx.task == "classification" else ""
        return CheckResult(
            check=self.type_name,
            status=Status.PASSED,
            message=f"outputs on {rows} rows meet the contract{detail} -> PASS",
            subject="outputs",
            evidence=evidence,
        )
