"""Group fairness: the candidate's decisions must not differ too much between sensitive groups."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from shipyard.core.params import NONE, STRING, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates._columns import STRING_LIST, as_list, check_names, require_rows
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.thresholds import require_any

if TYPE_CHECKING:
    from shipyard.evaluation.fairness import FairnessResult

# (option, disparity, bound kind, reason)
_CRITERIA = (
    (
        "max_demographic_parity_difference",
        "demographic_parity_difference",
        "max",
        Reason.DEMOGRAPHIC_PARITY_GAP,
    ),
    ("min_demographic_parity_ratio", "demographic_parity_ratio", "min", Reason.DEMOGRAPHIC_PARITY_GAP),
    ("max_equalized_odds_difference", "equalized_odds_difference", "max", Reason.EQUALIZED_ODDS_GAP),
    ("min_fpr_ratio", "fpr_ratio", "min", Reason.FALSE_POSITIVE_RATE_GAP),
)
_RATE_NAMES = {"selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR"}


def _group_rows(table: Any, min_group_size: int) -> list[dict[str, Any]]:
    rows = []
    for group, values in table.iterrows():
        row = {"group": group, **{k: float(v) for k, v in values.items()}}
        row["size"], row["positives"] = int(row["size"]), int(row["positives"])
        rows.append({**row, "eligible": row["size"] >= min_group_size})
    return rows


class FairnessGate(Gate):
    """Pass when selection rates and error rates differ little between groups of `sensitive`.

    Binary classification: a row is a positive decision when the score of the
    model's last class is at least `threshold`. Groups smaller than
    `min_group_size` are listed as too small and left out of every comparison.
    Several `sensitive` columns give intersectional groups (`a=x & b=y`).

    Examples
    --------
    >>> FairnessGate(sensitive="customer_group", min_demographic_parity_ratio=0.8)
    FairnessGate(sensitive='customer_group', min_demographic_parity_ratio=0.8)
    """

    type_name = "fairness"
    needs = frozenset({"rows"})
    _parameter_constraints = {
        "sensitive": [STRING, STRING_LIST],
        "metrics": [STRING_LIST, NONE],
        "max_demographic_parity_difference": [Interval(float, 0, 1), NONE],
        "min_demographic_parity_ratio": [Interval(float, 0, 1), NONE],
        "max_equalized_odds_difference": [Interval(float, 0, 1), NONE],
        "min_fpr_ratio": [Interval(float, 0, 1), NONE],
        "min_group_size": [Interval(int, 1, None, "left")],
        "threshold": [Interval(float, 0, 1)],
    }

    def __init__(
        self,
        *,
        sensitive: str | list[str],
        metrics: list[str] | None = None,
        max_demographic_parity_difference: float | None = None,
        min_demographic_parity_ratio: float | None = None,
        max_equalized_odds_difference: float | None = None,
        min_fpr_ratio: float | None = None,
        min_group_size: int = 30,
        threshold: float = 0.5,
    ) -> None:
        self.sensitive = sensitive
        self.metrics = metrics
        self.max_demographic_parity_difference = max_demographic_parity_difference
        self.min_demographic_parity_ratio = min_demographic_parity_ratio
        self.max_equalized_odds_difference = max_equalized_odds_difference
        self.min_fpr_ratio = min_fpr_ratio
        self.min_group_size = min_group_size
        self.threshold = threshold

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        require_any(f"gate '{label or cls.type_name}'", params, [c[0] for c in _CRITERIA])
        return gate

    def check_task(self, task: str, where: str = "shipyard.yaml: gate 'fairness'") -> None:
        """Refuse non-classification tasks and unknown metric names."""
        from shipyard.evaluation.metrics import check_metric_names

        if task != "classification":
            raise ConfigError(
                f"{where}: the fairness gate compares positive decisions between groups, so it needs a "
                f"binary classification task; this project's task is {task!r}. Remove the gate or "
                "compare error metrics per group with 'slices' instead."
            )
        check_metric_names(task, as_list(self.metrics), where=f"{where}.metrics")

    def evaluate(self, ctx: GateContext) -> CheckResult:
        from shipyard.evaluation.fairness import disparities, group_labels, group_table

        rows = require_rows(ctx, self)
        where = f"gate '{self.type_name}'"
        self.check_task(ctx.task, where)
        columns = as_list(self.sensitive)
        check_names([("sensitive", c) for c in columns], list(rows.columns), where, "the test rows")
        classes = ctx.candidate.classes
        if len(classes) != 2:
            raise ConfigError(
                f"{where}: the rate criteria need a binary classifier; the model has {len(classes)} "
                f"classes {list(classes)}. Use 'slices' to compare metrics per group instead."
            )
        groups = group_labels(rows, columns)
        table = group_table(
            ctx.y_true, ctx.candidate, groups, threshold=self.threshold, metrics=as_list(self.metrics)
        )
        result = disparities(table, self.min_group_size)
        group_rows = _group_rows(table, self.min_group_size)
        violations, observed, expected, worst = self._judge(result)
        small = ", ".join(f"'{r['group']}' ({r['size']} rows)" for r in group_rows if not r["eligible"])
        note = f"; too small to compare (< {self.min_group_size} rows): {small}" if small else ""
        subject = ", ".join(columns)
        evidence = {
            "sensitive": columns,
            "threshold": self.threshold,
            "min_group_size": self.min_group_size,
            "groups": group_rows,
            "too_small": result.too_small,
            "disparities": {k: d.to_dict() for k, d in result.disparities.items()},
            "violations": [{"reason": r.value, "message": m} for r, m in violations],
        }
        common: dict[str, Any] = {
            "check": self.type_name,
            "subject": subject,
            "observed": observed,
            "expected": expected,
        }
        if violations:
            return CheckResult(
                **common,
                status=Status.FAILED,
                message=f"fairness across {subject}: {'; '.join(m for _, m in violations)}{note} -> FAIL",
                reason=violations[0][0],
                hint="Inspect the per-group table in the evidence; rebalance or reweight the training data, "
                "or choose per-group thresholds, then re-run.",
                examples=[r for r in group_rows if r["group"] in worst],
                evidence=evidence,
            )
        shown = ", ".join(f"{k} = {v:.3g}" for k, v in observed.items())
        eligible = sum(r["eligible"] for r in group_rows)
        return CheckResult(
            **common,
            status=Status.PASSED,
            message=f"fairness across {subject} ({eligible} groups compared): {shown}{note} -> PASS",
            evidence=evidence,
        )

    def _judge(
        self, result: FairnessResult
    ) -> tuple[list[tuple[Reason, str]], dict[str, float], dict[str, Any], set[str | None]]:
        """Violations of the configured bounds, observed and expected values, the worst groups."""
        violations: list[tuple[Reason, str]] = []
        observed: dict[str, float] = {}
        expected: dict[str, Any] = {}
        worst: set[str | None] = set()
        for option, name, kind, reason in _CRITERIA:
            bound = getattr(self, option)
            if bound is None:
                continue
            d = result.disparities[name]
            observed[name], expected[option] = d.value, bound
            if math.isnan(d.value):
                violations.append((Reason.INCONCLUSIVE, f"{name} cannot be computed: {self._few(result)}"))
            elif (kind == "max" and d.value > bound) or (kind == "min" and d.value < bound):
                side = "above the maximum" if kind == "max" else "below the minimum"
                violations.append(
                    (
                        reason,
                        f"{name} = {d.value:.3g} is {side} {bound:g} ({_RATE_NAMES[d.rate]} {d.low:.3g} in "
                        f"'{d.low_group}' vs {d.high:.3g} in '{d.high_group}')",
                    )
                )
                worst.update({d.low_group, d.high_group})
        return violations, observed, expected, worst

    def _few(self, result: FairnessResult) -> str:
        eligible = len(result.table) - len(result.too_small)
        return (
            f"only {eligible} group(s) have at least {self.min_group_size} rows (and both labels where a "
            "rate needs them); lower 'min_group_size' or collect more data"
        )
