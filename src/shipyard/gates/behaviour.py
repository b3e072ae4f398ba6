"""Behavioural gates (CheckList style): invariance, directional expectation, minimum functionality.

Invariance and directional gates perturb one column of a seeded sample of the raw
test rows (see `gates.perturbations`), check the perturbed rows against the schema,
and compare the model's scores before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from shipyard.core.params import NONE, STRING, Interval, OfType, Options
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates._probe import (
    check_column,
    example_rows,
    positive_score,
    require,
    row_changes,
    score_matrix,
)
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.perturbations import (
    KINDS,
    NUMERIC_KINDS,
    describe_invalid,
    invalid_rows,
    parse_perturbation,
    perturb,
    sample_rows,
)

_EXAMPLES = 5
_PERTURBATION = [
    Options(frozenset(KINDS)),
    OfType(dict, "a mapping with a 'kind' (e.g. {kind: noise, scale: 0.01})"),
    OfType(str, "a 'module:function' reference"),
]
_COMMON: dict[str, list[Any]] = {
    "column": [STRING, NONE],
    "max_rows": [Interval(int, 1, None)],
    "on_invalid": [Options(frozenset({"fail", "skip"}))],
}


class _PerturbationGate(Gate):
    """Shared steps: sample, perturb, check against the schema, score before and after."""

    needs: ClassVar[frozenset[str]] = frozenset({"rows", "model", "schema"})
    column: str | None
    perturbation: Any
    max_rows: int
    on_invalid: str

    @classmethod
    def from_params(cls, params: Any, *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        if isinstance(gate, _PerturbationGate):
            gate._check(f"gate '{label or cls.type_name}'")
        return gate

    def _spec(self, rows: pd.DataFrame | None = None) -> Any:
        """The perturbation as configured (invariance picks one from the column when absent)."""
        return self.perturbation

    def _check(self, owner: str) -> tuple[str, dict[str, Any]]:
        kind, options = parse_perturbation(self._spec(), owner)
        if self.column is None and ":" not in kind:
            raise ConfigError(f"{owner} needs the option 'column' (the column to perturb).")
        return kind, options

    def lint(self, *, schema: Any, project_root: Path, where: str) -> None:
        """Static checks against the schema, run by `shipyard.pipeline.lint`."""
        check_column(schema, self.column, f"{where}.column")
        kind, options = self._check(where)
        if self.column is None:
            return
        spec = schema.column(self.column)
        if kind in NUMERIC_KINDS and spec.dtype not in ("int", "float"):
            raise ConfigError(
                f"{where}.perturbation: kind '{kind}' needs a numeric column; '{self.column}' is "
                f"{spec.dtype} in the schema. Use swap_categories, shuffle or set."
            )
        if kind == "set" and spec.categories is not None and options["value"] not in spec.categories:
            raise ConfigError(
                f"{where}.perturbation.value: {options['value']!r} is not an allowed value of "
                f"'{self.column}' (schema categories: {list(spec.categories)})."
            )

    def _owner(self) -> str:
        return f"gate '{self.type_name}'"

    def _perturb(self, ctx: GateContext) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, CheckResult | None]:
        """(sampled rows, perturbed rows, origin of each, a failed result if the data is invalid)."""
        rows = sample_rows(require(ctx, "rows", self._owner()), self.max_rows, ctx.seed)
        perturbed, origins = perturb(
            rows,
            self.column,
            self._spec(rows),
            owner=self._owner(),
            schema=ctx.schema,
            seed=ctx.seed,
            project_root=ctx.project_root,
        )
        bad, findings = invalid_rows(rows, perturbed, origins, ctx.schema)
        if bad.any() and (self.on_invalid == "fail" or bad.all()):
            message = f"the perturbation produced data the schema rejects: {describe_invalid(findings)}"
            failed = CheckResult(
                check=self.type_name,
                status=Status.FAILED,
                message=message,
                subject=self.column or "",
                reason=Reason.INVALID_PERTURBATION,
                observed=int(bad.sum()),
                expected="perturbed rows that pass the schema",
                hint="This judges the test, not the model: use a smaller perturbation, or "
                "'on_invalid: skip' to leave those rows out.",
                examples=findings,
            )
            return rows, perturbed, origins, failed
        return rows, perturbed[~bad].reset_index(drop=True), origins[~bad], None


class InvarianceGate(_PerturbationGate):
    """Pass when perturbing `column` moves the score by more than `max_change` on at most a
    `max_violations` share of rows. With no `perturbation`, categorical columns get
    `swap_categories` and numeric ones `noise`."""

    type_name = "invariance"
    _parameter_constraints = {
        **_COMMON,
        "perturbation": [*_PERTURBATION, NONE],
        "max_change": [Interval(float, 0, None)],
        "max_violations": [Interval(float, 0, 1)],
    }

    def __init__(
        self,
        *,
        column: str | None = None,
        perturbation: Any = None,
        max_change: float = 0.05,
        max_violations: float = 0.01,
        max_rows: int = 2000,
        on_invalid: str = "fail",
    ) -> None:
        self.column = column
        self.perturbation = perturbation
        self.max_change = max_change
        self.max_violations = max_violations
        self.max_rows = max_rows
        self.on_invalid = on_invalid

    def _spec(self, rows: pd.DataFrame | None = None) -> Any:
        if self.perturbation is not None:
            return self.perturbation
        column = None if rows is None or self.column not in rows.columns else rows[self.column]
        numeric = column is not None and pd.api.types.is_numeric_dtype(column)
        return "noise" if numeric and not pd.api.types.is_bool_dtype(column) else "swap_categories"

    def evaluate(self, ctx: GateContext) -> CheckResult:
        model = require(ctx, "model", self._owner())
        rows, perturbed, origins, failed = self._perturb(ctx)
        if failed is not None:
            return failed
        before = score_matrix(model, rows, ctx.task)
        after = score_matrix(model, perturbed, ctx.task)
        per_variant = row_changes(before[origins], after)
        change = np.zeros(len(rows))
        np.maximum.at(change, origins, per_variant)
        judged = np.unique(origins)
        violated = judged[change[judged] > self.max_change]
        share = len(violated) / max(len(judged), 1)
        evidence = {
            "rows": len(judged),
            "violations": len(violated),
            "max_observed_change": float(change.max(initial=0.0)),
            "perturbation": self._spec(rows),
            "skipped_rows": len(rows) - len(judged),
        }
        fields: dict[str, Any] = {
            "subject": self.column or "",
            "observed": share,
            "expected": f"<= {self.max_violations}",
        }
        what = f"perturbing '{self.column}' ({evidence['perturbation']})"
        if share <= self.max_violations:
            return CheckResult(
                check=self.type_name,
                status=Status.PASSED,
                message=f"{what} moved the score by more than {self.max_change} on {share:.1%} of "
                f"{len(judged)} rows (allowed {self.max_violations:.1%}) -> PASS",
                evidence=evidence,
                **fields,
            )
        worst = violated[np.argsort(-change[violated])][:_EXAMPLES]
        return CheckResult(
            check=self.type_name,
            status=Status.FAILED,
            message=f"{what} moved the score by more than {self.max_change} on {share:.1%} of "
            f"{len(judged)} rows (allowed {self.max_violations:.1%}); largest change "
            f"{evidence['max_observed_change']:.3g}",
            reason=Reason.INVARIANCE_VIOLATED,
            hint=f"The model depends on '{self.column}', which should not matter: drop it from the "
            "features, or find what it stands in for.",
            examples=example_rows(rows, worst, change=change[worst]),
            evidence=evidence,
            **fields,
        )


class DirectionalGate(_PerturbationGate):
    """Pass when the perturbation moves the score in the `expect`ed direction (by more than
    `min_delta`) on at least a `min_share` of rows. The score is the probability of `label`
    (default: the positive class of a binary classifier) or the predicted value."""

    type_name = "directional"
    _parameter_constraints = {
        **_COMMON,
        "perturbation": _PERTURBATION,
        "expect": [Options(frozenset({"increase", "decrease"}))],
        "min_share": [Interval(float, 0, 1)],
        "min_delta": [Interval(float, 0, None)],
        "label": [STRING, Interval(int, None, None), NONE],
    }

    def __init__(
        self,
        *,
        perturbation: Any,
        column: str | None = None,
        expect: str = "increase",
        min_share: float = 0.9,
        min_delta: float = 0.0,
        label: str | int | None = None,
        max_rows: int = 2000,
        on_invalid: str = "fail",
    ) -> None:
        self.perturbation = perturbation
        self.column = column
        self.expect = expect
        self.min_share = min_share
        self.min_delta = min_delta
        self.label = label
        self.max_rows = max_rows
        self.on_invalid = on_invalid

    def _check(self, owner: str) -> tuple[str, dict[str, Any]]:
        kind, options = super()._check(owner)
        if kind in ("swap_categories", "shuffle"):
            raise ConfigError(
                f"{owner}: a directional expectation needs a perturbation with a direction "
                f"(scale, shift, set or your function); got '{kind}'."
            )
        return kind, options

    def evaluate(self, ctx: GateContext) -> CheckResult:
        model = require(ctx, "model", self._owner())
        rows, perturbed, origins, failed = self._perturb(ctx)
        if failed is not None:
            return failed
        before = positive_score(model, rows, ctx.task, self.label, self._owner())[origins]
        after = positive_score(model, perturbed, ctx.task, self.label, self._owner())
        delta = after - before
        sign = 1.0 if self.expect == "increase" else -1.0
        ok = sign * delta > self.min_delta
        share = float(ok.mean()) if len(ok) else 0.0
        evidence = {
            "rows": len(ok),
            "as_expected": int(ok.sum()),
            "unchanged": int((delta == 0).sum()),
            "opposite": int((sign * delta < 0).sum()),
            "mean_change": float(delta.mean()) if len(delta) else 0.0,
            "perturbation": self.perturbation,
            "skipped_rows": len(rows) - len(ok),
        }
        what = f"perturbing '{self.column}' ({self.perturbation})"
        fields: dict[str, Any] = {
            "subject": self.column or "",
            "observed": share,
            "expected": f">= {self.min_share}",
        }
        verdict = f"{what} made the score {self.expect} on {share:.1%} of {len(ok)} rows"
        if share >= self.min_share:
            return CheckResult(
                check=self.type_name,
                status=Status.PASSED,
                message=f"{verdict} (required {self.min_share:.1%}) -> PASS",
                evidence=evidence,
                **fields,
            )
        wrong = np.flatnonzero(~ok)[np.argsort(sign * delta[~ok])][:_EXAMPLES]
        return CheckResult(
            check=self.type_name,
            status=Status.FAILED,
            message=f"{verdict}, below the required {self.min_share:.1%} ({evidence['opposite']} moved "
            f"the other way, {evidence['unchanged']} did not move)",
            reason=Reason.DIRECTIONAL_EXPECTATION_FAILED,
            hint=f"The model does not respond to '{self.column}' as expected; check the feature "
            "that carries it, or the expectation.",
            examples=example_rows(rows, origins[wrong], score_before=before[wrong], score_after=after[wrong]),
            evidence=evidence,
            **fields,
        )
