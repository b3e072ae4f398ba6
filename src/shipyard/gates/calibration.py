"""Calibration (ECE, Brier score) and class collapse (one class predicted for almost every row)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import numpy as np

from shipyard.core.params import NONE, Interval, Options
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.thresholds import require_any


def _verdict(
    gate: Gate, subject: str, violations: list[tuple[Reason, str]], passed: str, hint: str, **fields: Any
) -> CheckResult:
    """One result: failed with every violation (reason of the first), or passed."""
    fields["evidence"]["violations"] = [{"reason": r.value, "message": m} for r, m in violations]
    if violations:
        return CheckResult(
            check=gate.type_name,
            subject=subject,
            status=Status.FAILED,
            reason=violations[0][0],
            message=f"{subject}: " + "; ".join(m for _, m in violations) + " -> FAIL",
            hint=hint,
            **fields,
        )
    fields.pop("examples", None)
    return CheckResult(
        check=gate.type_name,
        subject=subject,
        status=Status.PASSED,
        message=f"{subject}: {passed} -> PASS",
        **fields,
    )


class CalibrationGate(Gate):
    """Pass when predicted probabilities match observed rates: ECE <= `max_ece`, Brier <= `max_brier`.

    Binary: the positive (last) class; multiclass: the top-label ECE. `binning` is
    `uniform` (equal-width bins on [0, 1]) or `quantile` (equal numbers of rows).
    The evidence holds the reliability curve, one entry per non-empty bin.

    Examples
    --------
    >>> CalibrationGate(max_ece=0.05)
    CalibrationGate(max_ece=0.05)
    """

    type_name = "calibration"
    _parameter_constraints = {
        "max_ece": [Interval(float, 0, 1), NONE],
        "max_brier": [Interval(float, 0, 2), NONE],
        "n_bins": [Interval(int, 2, None, "left")],
        "binning": [Options(frozenset({"uniform", "quantile"}))],
    }

    def __init__(
        self,
        *,
        max_ece: float | None = None,
        max_brier: float | None = None,
        n_bins: int = 10,
        binning: str = "uniform",
    ) -> None:
        self.max_ece = max_ece
        self.max_brier = max_brier
        self.n_bins = n_bins
        self.binning = binning

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        require_any(f"gate '{label or cls.type_name}'", params, ("max_ece", "max_brier"))
        return gate

    def check_task(self, task: str, where: str = "shipyard.yaml: gate 'calibration'") -> None:
        if task != "classification":
            raise ConfigError(
                f"{where}: the calibration gate judges predicted probabilities, so it needs a "
                f"classification task; this project's task is {task!r}. Remove the gate."
            )

    def evaluate(self, ctx: GateContext) -> CheckResult:
        from shipyard.evaluation.calibration import (
            calibration_target,
            expected_calibration_error,
            reliability_bins,
        )
        from shipyard.evaluation.metrics import METRICS

        self.check_task(ctx.task, f"gate '{self.type_name}'")
        if ctx.candidate.y_score is None:
            return CheckResult(
                check=self.type_name,
                subject="calibration",
                status=Status.FAILED,
                reason=Reason.INCONCLUSIVE,
                message="calibration cannot be measured: the model gives no probabilities -> FAIL",
                hint="Use an estimator with predict_proba, or remove the calibration gate.",
            )
        hit, prob = calibration_target(ctx.y_true, ctx.candidate)
        bins = reliability_bins(hit, prob, n_bins=self.n_bins, binning=self.binning)
        ece = expected_calibration_error(bins)
        brier = ctx.metrics.get("brier")
        brier = float(brier) if brier is not None else METRICS["brier"](ctx.y_true, ctx.candidate)
        violations = []
        for name, value, bound, reason in (
            ("ECE", ece, self.max_ece, Reason.CALIBRATION_ERROR_ABOVE_LIMIT),
            ("Brier score", brier, self.max_brier, Reason.BRIER_ABOVE_LIMIT),
        ):
            if bound is None or value <= bound:
                continue
            if math.isnan(value):
                violations.append((Reason.INCONCLUSIVE, f"{name} could not be computed on the test split"))
            else:
                violations.append((reason, f"{name} = {value:.4g} is above the maximum {bound:g}"))
        # the bins that contribute most to the ECE
        worst = sorted(bins, key=lambda b: -b.count * abs(b.observed - b.predicted))[:3]
        binary = len(ctx.candidate.classes) == 2
        return _verdict(
            self,
            "calibration",
            violations,
            passed=f"ECE = {ece:.4g}, Brier score = {brier:.4g}",
            hint="Calibrate the model (e.g. scikit-learn's CalibratedClassifierCV on held-out data); "
            "the reliability curve is in evidence.bins.",
            observed={"ece": ece, "brier": brier},
            expected={"max_ece": self.max_ece, "max_brier": self.max_brier},
            examples=[b.to_dict() for b in worst],
            evidence={
                "ece": ece,
                "brier": brier,
                "binning": self.binning,
                "n_bins": self.n_bins,
                "target": "positive class" if binary else "top label",
                "bins": [b.to_dict() for b in bins],
            },
        )


def _entropy(shares: np.ndarray) -> float:
    shares = shares[shares > 0]
    return float(-(shares * np.log2(shares)).sum())


class ClassCollapseGate(Gate):
    """Pass when the model does not predict one class (or one value) for almost every row.

    Classification: the most predicted class may absorb at most `max_majority_excess`
    of the other classes' share, `(predicted share - label share) / (1 - label share)`
    (0: predicted as often as it occurs, 1: predicted for every row); optional ceilings
    on its absolute share and floor on the entropy of the predicted classes relative to
    the labels'. Regression: std of predictions / std of targets >= `min_std_ratio`.
    The minimum number of predicted classes is the `output_contract` gate's option.

    Examples
    --------
    >>> ClassCollapseGate(max_majority_share=0.99)
    ClassCollapseGate(max_majority_share=0.99)
    """

    type_name = "class_collapse"
    _parameter_constraints = {
        "max_majority_excess": [Interval(float, 0, 1), NONE],
        "max_majority_share": [Interval(float, 0, 1), NONE],
        "min_entropy_ratio": [Interval(float, 0, 1), NONE],
        "min_std_ratio": [Interval(float, 0, None), NONE],
    }
    _CLASSIFICATION = ("max_majority_excess", "max_majority_share", "min_entropy_ratio")

    def __init__(
        self,
        *,
        max_majority_excess: float | None = 0.9,
        max_majority_share: float | None = None,
        min_entropy_ratio: float | None = None,
        min_std_ratio: float | None = 0.1,
    ) -> None:
        self.max_majority_excess = max_majority_excess
        self.max_majority_share = max_majority_share
        self.min_entropy_ratio = min_entropy_ratio
        self.min_std_ratio = min_std_ratio

    def check_task(self, task: str, where: str = "shipyard.yaml: gate 'class_collapse'") -> None:
        """The options for this task must not all be None, else the gate checks nothing."""
        names = self._CLASSIFICATION if task == "classification" else ("min_std_ratio",)
        try:
            require_any(f"gate '{self.type_name}' on a {task} task", self.get_params(), names)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def evaluate(self, ctx: GateContext) -> CheckResult:
        self.check_task(ctx.task, f"gate '{self.type_name}'")
        if ctx.task == "regression":
            return self._regression(ctx)
        return self._classification(ctx)

    def _classification(self, ctx: GateContext) -> CheckResult:
        from shipyard.evaluation.metrics import class_labels

        labels = class_labels(ctx.y_true, ctx.candidate)
        y_true, y_pred = np.asarray(ctx.y_true, dtype=object), np.asarray(ctx.candidate.y_pred, dtype=object)
        label_share = (
            np.array([np.mean(y_true == c) for c in labels]) if len(y_true) else np.zeros(len(labels))
        )
        pred_share = (
            np.array([np.mean(y_pred == c) for c in labels]) if len(y_pred) else np.zeros(len(labels))
        )
        top = int(pred_share.argmax())
        share, base = float(pred_share[top]), float(label_share[top])
        excess = max(0.0, (share - base) / (1 - base)) if base < 1 else 0.0
        h_labels = _entropy(label_share)
        ratio = _entropy(pred_share) / h_labels if h_labels > 0 else math.nan
        majority = f"{labels[top]!r} is predicted for {share:.1%} of rows but is {base:.1%} of the labels"
        violations = []
        if self.max_majority_excess is not None and excess > self.max_majority_excess:
            violations.append(
                (
                    Reason.CLASS_COLLAPSE,
                    f"{majority}: it took {excess:.0%} of the other classes' share "
                    f"(max {self.max_majority_excess:.0%})",
                )
            )
        if self.max_majority_share is not None and share > self.max_majority_share:
            violations.append(
                (Reason.CLASS_COLLAPSE, f"{majority}, above the maximum share {self.max_majority_share:.1%}")
            )
        if self.min_entropy_ratio is not None and not math.isnan(ratio) and ratio < self.min_entropy_ratio:
            violations.append(
                (
                    Reason.LOW_PREDICTION_ENTROPY,
                    f"the predicted classes carry {ratio:.2f} of the labels' entropy "
                    f"(min {self.min_entropy_ratio:g})",
                )
            )
        per_class = [
            {"class": c, "predicted_share": float(p), "label_share": float(s)}
            for c, p, s in zip(labels, pred_share, label_share, strict=True)
        ]
        return _verdict(
            self,
            "predicted classes",
            violations,
            passed=f"{majority}; entropy ratio {ratio:.2f}",
            hint="The model ignores its inputs for most rows: check class weights, the decision "
            "threshold, and that the features reach the model.",
            observed={"majority_excess": excess, "majority_share": share, "entropy_ratio": ratio},
            expected={k: getattr(self, k) for k in self._CLASSIFICATION},
            examples=per_class[:5],
            evidence={"classes": per_class, "majority_class": labels[top], "entropy_ratio": ratio},
        )

    def _regression(self, ctx: GateContext) -> CheckResult:
        y_true = np.asarray(ctx.y_true, dtype=float)
        y_pred = np.asarray(ctx.candidate.y_pred, dtype=float)
        std_true, std_pred = float(np.std(y_true)), float(np.std(y_pred))
        ratio = std_pred / std_true if std_true > 0 else math.nan
        violations = []
        if self.min_std_ratio is not None and not math.isnan(ratio) and ratio < self.min_std_ratio:
            violations.append(
                (
                    Reason.CONSTANT_PREDICTIONS,
                    f"predictions vary with std {std_pred:.4g}, {ratio:.3g} of the target's std "
                    f"{std_true:.4g} (min ratio {self.min_std_ratio:g})",
                )
            )
        return _verdict(
            self,
            "predictions",
            violations,
            passed=f"std of predictions / std of target = {ratio:.3g}",
            hint="The model predicts nearly the same value for every row: check that the features "
            "reach the model and that training converged.",
            observed={"std_ratio": ratio},
            expected={"min_std_ratio": self.min_std_ratio},
            evidence={"std_prediction": std_pred, "std_target": std_true, "std_ratio": ratio},
        )
