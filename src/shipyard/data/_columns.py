"""Column checks of a `Schema`, run by pandera (lazily: every failure) and read back as results.

Each `ColumnSchema` becomes a pandera `Column`: a dtype-family check, nullability,
uniqueness, `ge`/`le` bounds and `isin` categories. Each pandera `SchemaError`
becomes one failed `CheckResult` for one (check, column); every check id that
found nothing gets one passed row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.config import ValidationDepth, config_context
from pandera.engines import pandas_engine
from pandera.errors import SchemaError, SchemaErrors

from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data._dtypes import fits_family
from shipyard.data._examples import plural
from shipyard.data._failures import Rule, translate, unexpected_column
from shipyard.data.schema import ColumnSchema, Schema

# Check ids in the order their results are listed.
_CHECKS = (
    "column_presence",
    "column_dtype",
    "column_nulls",
    "column_range",
    "column_categories",
    "column_unique",
)
_PASSED = {
    "column_presence": "All schema columns are present, and no others ({cols}).",
    "column_dtype": "Dtypes match the schema ({cols}).",
    "column_nulls": "No nulls where the schema forbids them ({cols}).",
    "column_range": "All values are within the schema range ({cols}).",
    "column_categories": "All values were seen in the reference data ({cols}).",
    "column_unique": "No repeated values in unique columns ({cols}).",
}


@dataclass(frozen=True)
class _FamilyDtype(pandas_engine.DataType):
    """A pandera dtype that accepts every pandas dtype of one schema family."""

    family: str
    type: Any = field(default=np.dtype(object), repr=False, init=False)

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        return data_container is not None and fits_family(data_container, self.family)

    def __str__(self) -> str:
        return self.family


def _rules(column: ColumnSchema, *, is_target: bool, task: str) -> list[Rule]:
    """The value checks of a column. The target's labels are checked by the label checks instead."""
    rules = []
    if not is_target or task == "regression":
        if column.minimum is not None:
            rules.append(Rule("column_range", Reason.BELOW_MINIMUM, column.minimum))
        if column.maximum is not None:
            rules.append(Rule("column_range", Reason.ABOVE_MAXIMUM, column.maximum))
    if column.categories is not None and not is_target:
        rules.append(Rule("column_categories", Reason.UNSEEN_CATEGORY, column.categories))
    return rules


def _pandera_check(rule: Rule) -> pa.Check:
    if rule.reason is Reason.BELOW_MINIMUM:
        return pa.Check.ge(rule.bound)
    if rule.reason is Reason.ABOVE_MAXIMUM:
        return pa.Check.le(rule.bound)
    return pa.Check.isin(list(rule.bound))


def _run_pandera(df: pd.DataFrame, schema: pa.DataFrameSchema) -> list[SchemaError]:
    # Pin pandera's switches: its environment variables could otherwise turn validation off.
    with config_context(
        validation_enabled=True,
        validation_depth=ValidationDepth.SCHEMA_AND_DATA,
        use_narwhals_backend=False,
    ):
        try:
            schema.validate(df, lazy=True, inplace=True)
        except SchemaErrors as exc:
            return list(exc.schema_errors)
    return []


def check_columns(
    df: pd.DataFrame, schema: Schema, *, task: str, repeated: dict[str, int] | None = None
) -> list[CheckResult]:
    """Check each column of `df` against `schema`: failures first, then one passed row per check.

    `repeated` maps column names the data repeats to their number of copies; `df`
    holds only the first copy of each.
    """
    rules: dict[str, list[Rule]] = {}
    columns: dict[str, pa.Column] = {}
    applies: Counter[str] = Counter(column_presence=len(schema.columns))
    for column in schema.columns:
        is_target = column.name == schema.target
        rules[column.name] = _rules(column, is_target=is_target, task=task)
        nullable = column.nullable or is_target
        unique = column.unique and not is_target
        applies.update(
            ["column_dtype"]
            + ["column_nulls"] * (not nullable)
            + ["column_unique"] * unique
            + list({r.check for r in rules[column.name]})
        )
        columns[column.name] = pa.Column(
            _FamilyDtype(column.dtype),
            checks=[_pandera_check(r) for r in rules[column.name]],
            nullable=nullable,
            unique=unique,
            name=column.name,
        )
    errors = _run_pandera(df, pa.DataFrameSchema(columns, strict=True, coerce=False))
    failures = [unexpected_column(name, copies) for name, copies in (repeated or {}).items()]
    failures += [f for f in (translate(e, df, rules) for e in errors) if f is not None]
    # A column of the wrong dtype reports that alone (and its nulls): comparing its
    # values with the schema's bounds and categories says nothing more.
    wrong = {f.subject for f in failures if f.check == "column_dtype"}
    kept: dict[tuple[str, str, Reason | None], CheckResult] = {}
    for f in failures:
        if f.subject not in wrong or f.check in ("column_dtype", "column_nulls"):
            kept.setdefault((f.check, f.subject, f.reason), f)  # both bounds may fail to compare
    order = {name: i for i, name in enumerate(schema.names)}
    failed = sorted(kept.values(), key=lambda f: (_CHECKS.index(f.check), order.get(f.subject, len(order))))
    passed = [
        CheckResult(
            check=check,
            status=Status.PASSED,
            message=_PASSED[check].format(cols=plural(applies[check], "column")),
            observed=0,
            evidence={"columns": applies[check]},
        )
        for check in _CHECKS
        if applies[check] and check not in {f.check for f in failed}
    ]
    return failed + passed
