"""Target leakage: one feature that alone predicts the target, or training rows from the future."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.core.params import NONE, Interval, OfType, Options
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates._columns import STRING_LIST, as_list, check_names, require_rows
from shipyard.gates.base import Gate, GateContext

if TYPE_CHECKING:
    from shipyard.data.schema import Schema

BOOL = OfType(bool, "a bool")


def _later_than(train: pd.Series, test: pd.Series) -> tuple[int, Any, Any]:
    """Training rows strictly later than the earliest test row, the latest train and earliest test value."""
    earliest, latest = test.min(), train.max()
    later = int((train > earliest).sum()) if pd.notna(earliest) else 0
    return later, latest, earliest


class LeakageGate(Gate):
    """Fail when a single feature predicts the target almost perfectly, or the split leaks time.

    (a) Each raw column (target excluded) and/or each model input feature is scored
    alone on the test rows: ROC AUC (either direction; categoricals through their
    target rate fitted on the training rows) above `max_single_feature_auc`, or R²
    above `max_single_feature_r2` for regression. (b) With `check_time`, a `time`
    split must put no training row after the earliest test row in `split.column`,
    and a random or stratified split must not be used on rows with a date/time column.

    Examples
    --------
    >>> LeakageGate(ignore=["transaction_id"])
    LeakageGate(ignore=['transaction_id'])
    """

    type_name = "leakage"
    needs = frozenset({"rows", "train_rows", "model"})
    _parameter_constraints = {
        "max_single_feature_auc": [Interval(float, 0.5, 1)],
        "max_single_feature_r2": [Interval(float, 0, 1)],
        "features": [Options(frozenset({"raw", "model", "both"}))],
        "columns": [STRING_LIST, NONE],
        "ignore": [STRING_LIST, NONE],
        "check_time": [BOOL],
    }

    def __init__(
        self,
        *,
        max_single_feature_auc: float = 0.99,
        max_single_feature_r2: float = 0.99,
        features: str = "both",
        columns: list[str] | None = None,
        ignore: list[str] | None = None,
        check_time: bool = True,
    ) -> None:
        self.max_single_feature_auc = max_single_feature_auc
        self.max_single_feature_r2 = max_single_feature_r2
        self.features = features
        self.columns = columns
        self.ignore = ignore
        self.check_time = check_time

    def required_context(self) -> frozenset[str]:
        """The candidate model is loaded only when its input features are scored."""
        return self.needs if self.features != "raw" else self.needs - {"model"}

    def check_columns(self, columns: Sequence[str], where: str = "shipyard.yaml: gate 'leakage'") -> None:
        """Names in `columns`/`ignore` must be raw columns when only raw columns are scored.

        Model feature names are known only once the features code runs; they are
        checked when the gate is evaluated.
        """
        if self.features == "raw":
            check_names(self._named(), columns, where, "the schema")

    def lint(self, *, schema: Schema, where: str, **_: Any) -> None:
        """Called by `shipyard.pipeline.lint` before anything runs."""
        self.check_columns(schema.names, where)

    def _named(self) -> list[tuple[str, str]]:
        return [
            (f"{key}[{i}]", name)
            for key in ("columns", "ignore")
            for i, name in enumerate(as_list(getattr(self, key)))
        ]

    def _frames(self, ctx: GateContext, target: str) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
        """(source, train, test) frames of candidate features, without the target."""
        rows, train = require_rows(ctx, self), require_rows(ctx, self, "train_rows")
        frames = []
        if self.features in ("raw", "both"):
            frames.append(("raw", train.drop(columns=[target]), rows.drop(columns=[target])))
        if self.features in ("model", "both"):
            if ctx.model is None:
                raise ConfigError(
                    f"gate '{self.type_name}' scores the model's input features (features: "
                    f"{self.features!r}), but the gate context has no model. Pass model= to GateContext."
                )
            frames.append(
                ("model", pd.DataFrame(ctx.model.transform(train)), pd.DataFrame(ctx.model.transform(rows)))
            )
        return frames

    def _scores(self, ctx: GateContext, target: str) -> list[dict[str, Any]]:
        from shipyard.evaluation.leakage import single_feature_score

        train_rows = require_rows(ctx, self, "train_rows")
        y_train = train_rows[target].to_numpy()
        frames = self._frames(ctx, target)
        available = list(dict.fromkeys(str(c) for _, _, test in frames for c in test.columns))
        check_names(self._named(), available, f"gate '{self.type_name}'", "the test rows or model features")
        chosen, skip = set(as_list(self.columns)), set(as_list(self.ignore))
        metric = "r2" if ctx.task == "regression" else "auc"
        scored, seen = [], set()
        for source, train, test in frames:
            for name in test.columns:
                if str(name) in seen or str(name) in skip or (chosen and str(name) not in chosen):
                    continue
                seen.add(str(name))
                value = single_feature_score(
                    train[name].reset_index(drop=True),
                    y_train,
                    test[name].reset_index(drop=True),
                    ctx.y_true,
                    task=ctx.task,
                    classes=ctx.candidate.classes,
                )
                scored.append({"feature": str(name), "source": source, metric: value})
        return scored

    def _time(self, ctx: GateContext, target: str) -> tuple[list[tuple[Reason, str]], dict[str, Any]]:
        rows, train = require_rows(ctx, self), require_rows(ctx, self, "train_rows")
        split = ctx.split
        if split is None:
            return [], {"checked": False, "why": "the split configuration was not given"}
        if split.method == "time":
            columns = [split.column] if split.column in rows.columns and split.column in train.columns else []
        else:
            columns = [
                str(c) for c in rows.columns if c != target and pd.api.types.is_datetime64_any_dtype(rows[c])
            ]
        columns = [c for c in columns if c not in as_list(self.ignore)]
        found, facts = [], []
        for column in columns:
            later, latest, earliest = _later_than(train[column], rows[column])
            facts.append(
                {
                    "column": column,
                    "later_train_rows": later,
                    "latest_train": latest,
                    "earliest_test": earliest,
                }
            )
            if not later:
                continue
            if split.method == "time":
                text = (
                    f"the time split on '{column}' put {later} of {len(train)} training rows after the "
                    f"earliest test row (latest train {latest}, earliest test {earliest})"
                )
            else:
                text = (
                    f"split.method is '{split.method}' but '{column}' holds dates: {later} of {len(train)} "
                    f"training rows are later than the earliest test row ({earliest}); use "
                    f"split.method: time with column: {column}, or add '{column}' to the gate's 'ignore'"
                )
            found.append((Reason.TIME_LEAKAGE, text))
        return found, {"checked": True, "method": split.method, "columns": facts}

    def evaluate(self, ctx: GateContext) -> CheckResult:
        rows = require_rows(ctx, self)
        target = ctx.target or (ctx.schema.target if ctx.schema is not None else "")
        if target not in rows.columns:
            raise ConfigError(
                f"gate '{self.type_name}': the target column {target!r} is not in the test rows. "
                "Pass target= to GateContext."
            )
        scored = self._scores(ctx, target)
        metric, limit = (
            ("r2", self.max_single_feature_r2)
            if ctx.task == "regression"
            else ("auc", self.max_single_feature_auc)
        )
        leaked = sorted(
            (s for s in scored if not math.isnan(s[metric]) and s[metric] > limit), key=lambda s: -s[metric]
        )
        violations = [
            (
                Reason.SINGLE_FEATURE_LEAKAGE,
                f"{s['source']} feature '{s['feature']}' alone predicts the target with {metric.upper()} "
                f"{s[metric]:.4f} (max {limit:g})",
            )
            for s in leaked
        ]
        time_found, time_evidence = self._time(ctx, target) if self.check_time else ([], {"checked": False})
        violations += time_found
        top = sorted((s for s in scored if not math.isnan(s[metric])), key=lambda s: -s[metric])[:5]
        evidence = {
            "metric": metric,
            "limit": limit,
            "features": scored,
            "time": time_evidence,
            "violations": [{"reason": r.value, "message": m} for r, m in violations],
        }
        common: dict[str, Any] = {
            "check": self.type_name,
            "subject": "features",
            "observed": {s["feature"]: s[metric] for s in top},
            "expected": f"{metric} <= {limit:g} for each single feature; no training row after the test rows",
            "evidence": evidence,
        }
        if violations:
            return CheckResult(
                **common,
                status=Status.FAILED,
                reason=violations[0][0],
                message="leakage: " + "; ".join(m for _, m in violations) + " -> FAIL",
                hint="A feature computed from the label or from after the prediction time leaks the "
                "answer: drop it (or list it under 'ignore' if it is legitimate), and split by time "
                "when rows are dated.",
                examples=[
                    *leaked[:5],
                    *[f for f in time_evidence.get("columns", []) if f["later_train_rows"]],
                ],
            )
        best = (
            f"; best single feature '{top[0]['feature']}' {metric.upper()} {top[0][metric]:.3f}"
            if top
            else ""
        )
        return CheckResult(
            **common,
            status=Status.PASSED,
            message=f"no leakage found in {len(scored)} features{best} -> PASS",
        )
