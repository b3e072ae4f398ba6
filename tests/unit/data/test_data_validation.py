"""`validate`: one test per failure kind, several at once, passing data, and the message form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.results import CheckResult, Reason, Report, Status
from shipyard.data import Schema, infer_schema, load_frame, validate
from shipyard.errors import ConfigError, DataValidationError

TARGET = "label"
CHECK_IDS = {
    "volume",
    "column_presence",
    "column_dtype",
    "column_nulls",
    "column_range",
    "column_categories",
    "column_unique",
    "duplicate_rows",
    "label_values",
    "class_balance",
}


def _validate(df: pd.DataFrame, schema: Schema, **kwargs: object) -> Report:
    kwargs.setdefault("task", "classification")
    return validate(df, schema, target=TARGET, **kwargs)


def _only_failure(report: Report) -> CheckResult:
    assert len(report.failures) == 1, [f.message for f in report.failures]
    return report.failures[0]


def test_reference_data_passes_every_check(reference: pd.DataFrame, schema: Schema) -> None:
    report = _validate(reference, schema)
    assert report.kind == "data"
    assert report.passed, [f.message for f in report.failures]
    checks = [r.check for r in report.results]
    assert set(checks) == CHECK_IDS
    assert len(checks) == len(set(checks))  # one passed row per check id, not per column
    assert all(r.status is Status.PASSED for r in report.results)


def test_missing_column(reference: pd.DataFrame, schema: Schema) -> None:
    failure = _only_failure(_validate(reference.drop(columns="amount"), schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_presence",
        "amount",
        Reason.MISSING_COLUMN,
    )
    assert failure.message.startswith("Column 'amount' is missing (expected by schema.yaml).")


def test_extra_column(reference: pd.DataFrame, schema: Schema) -> None:
    failure = _only_failure(_validate(reference.assign(foo=1), schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_presence",
        "foo",
        Reason.UNEXPECTED_COLUMN,
    )
    assert failure.message.startswith("Column 'foo' is not in the schema.")


def test_repeated_column_name(reference: pd.DataFrame, schema: Schema) -> None:
    doubled = pd.concat([reference, reference[["amount"]]], axis=1)
    failure = _only_failure(_validate(doubled, schema))
    assert (failure.subject, failure.reason, failure.observed) == (
        "amount",
        Reason.UNEXPECTED_COLUMN,
        2,
    )


@pytest.mark.parametrize("storage", [object, "str"])
def test_wrong_dtype_shows_the_values_that_do_not_parse(
    reference: pd.DataFrame, schema: Schema, storage: object
) -> None:
    amount = reference["amount"].astype(str).astype(storage)
    amount.iloc[[3, 8]] = ["n/a", "12,5"]
    failure = _only_failure(_validate(reference.assign(amount=amount), schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_dtype",
        "amount",
        Reason.WRONG_DTYPE,
    )
    assert failure.message.startswith(
        f"Column 'amount' has dtype {amount.dtype}, expected float ('n/a', '12,5')."
    )
    assert list(failure.examples) == ["n/a", "12,5"]


def test_nulls_where_an_old_schema_allows_none(reference: pd.DataFrame, strict_schema: Schema) -> None:
    df = reference.copy()
    df.loc[[4, 17, 99], "amount"] = np.nan
    failure = _only_failure(_validate(df, strict_schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_nulls",
        "amount",
        Reason.NULL_VALUES,
    )
    assert failure.observed == 3
    assert list(failure.examples) == [4, 17, 99]
    assert "Column 'amount' has 3 null values" in failure.message
    assert "(rows 4, 17, 99)" in failure.message


def test_nulls_allowed_in_nullable_int_column(reference: pd.DataFrame, strict_schema: Schema) -> None:
    assert strict_schema.column("age").nullable
    df = reference.copy()
    df.loc[:50, "age"] = pd.NA
    assert _validate(df, strict_schema).passed


@pytest.mark.parametrize(
    ("side", "reason"),
    [("minimum", Reason.BELOW_MINIMUM), ("maximum", Reason.ABOVE_MAXIMUM)],
)
def test_out_of_range(reference: pd.DataFrame, schema: Schema, side: str, reason: Reason) -> None:
    bound = getattr(schema.column("balance"), side)
    outside = [bound - 1.0, bound - 5.0] if side == "minimum" else [bound + 1.0, bound + 5.0]
    df = reference.copy()
    df.loc[[2, 3], "balance"] = outside
    failure = _only_failure(_validate(df, schema))
    assert (failure.check, failure.subject, failure.reason) == ("column_range", "balance", reason)
    assert failure.observed == 2
    assert failure.expected == f"{'>=' if side == 'minimum' else '<='} {bound}"
    assert list(failure.examples) == outside


def test_out_of_range_on_both_sides_gives_two_results(reference: pd.DataFrame, schema: Schema) -> None:
    column = schema.column("balance")
    df = reference.copy()
    df.loc[[1, 2], "balance"] = [column.minimum - 1, column.maximum + 1]
    reasons = [f.reason for f in _validate(df, schema).failures]
    assert reasons == [Reason.BELOW_MINIMUM, Reason.ABOVE_MAXIMUM]


def test_unseen_category(reference: pd.DataFrame, strict_schema: Schema) -> None:
    df = reference.copy()
    df.loc[[5, 6, 7], "merchant_category"] = "crypto"
    failure = _only_failure(_validate(df, strict_schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_categories",
        "merchant_category",
        Reason.UNSEEN_CATEGORY,
    )
    assert failure.observed == 3
    assert failure.message.startswith(
        "Column 'merchant_category' has 3 values (0.75% of rows) not seen in the reference data "
        "('crypto'). If the new categories are expected, re-infer the schema from the reference data "
        "(`shipyard schema infer --data <reference>`, never from the batch under test) and review the diff."
    )


def test_duplicate_values_in_unique_column(reference: pd.DataFrame, schema: Schema) -> None:
    df = reference.copy()
    df.loc[1, "transaction_id"] = df.loc[0, "transaction_id"]
    failure = _only_failure(_validate(df, schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_unique",
        "transaction_id",
        Reason.DUPLICATE_VALUES,
    )
    assert failure.observed == 2


@pytest.mark.parametrize("frame", ["no rows", "no columns"])
def test_empty_frame_fails_volume_and_skips_the_rest(
    reference: pd.DataFrame, schema: Schema, frame: str
) -> None:
    df = reference.iloc[:0] if frame == "no rows" else pd.DataFrame()
    report = _validate(df, schema)
    failure = _only_failure(report)
    assert (failure.check, failure.reason, failure.observed) == ("volume", Reason.EMPTY_DATA, 0)
    assert [r.status for r in report.results] == [Status.FAILED, Status.SKIPPED]


def test_zero_byte_csv_is_reported_not_crashed(schema: Schema, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    failure = _only_failure(_validate(load_frame(path), schema))
    assert failure.reason is Reason.EMPTY_DATA


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [({"min_rows": 1000}, Reason.TOO_FEW_ROWS), ({"max_rows": 100}, Reason.TOO_MANY_ROWS)],
)
def test_volume_limits(reference: pd.DataFrame, schema: Schema, kwargs: dict, reason: Reason) -> None:
    failure = _only_failure(_validate(reference, schema, **kwargs))
    assert (failure.check, failure.reason, failure.observed) == ("volume", reason, len(reference))


def test_single_class_label(reference: pd.DataFrame, schema: Schema) -> None:
    failure = _only_failure(_validate(reference.assign(label=0), schema))
    assert (failure.check, failure.subject, failure.reason) == (
        "class_balance",
        TARGET,
        Reason.SINGLE_CLASS,
    )
    assert "a single class (0)" in failure.message


def test_single_class_is_fine_for_regression(reference: pd.DataFrame, schema: Schema) -> None:
    report = _validate(reference.assign(label=0), schema, task="regression")
    assert report.passed
    assert "class_balance" not in {r.check for r in report.results}


def test_class_imbalance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = 4000
    reference = pd.DataFrame({"x": rng.normal(size=rows), TARGET: rng.integers(0, 2, rows)})
    schema = infer_schema(reference, target=TARGET)
    rare = np.zeros(rows, dtype=int)
    rare[rng.choice(rows, 2, replace=False)] = 1  # 0.05 % of rows
    failure = _only_failure(_validate(reference.assign(label=rare), schema))
    assert (failure.check, failure.reason) == ("class_balance", Reason.CLASS_IMBALANCE)
    assert failure.observed == pytest.approx(2 / rows)
    assert failure.evidence["class_counts"] == {"0": rows - 2, "1": 2}
    assert _validate(reference.assign(label=rare), schema, min_class_fraction=0.0001).passed


def test_duplicate_rows(reference: pd.DataFrame, schema: Schema) -> None:
    repeated = reference.iloc[:20]
    df = pd.concat([reference, repeated], ignore_index=True)
    report = _validate(df, schema)
    by_check = {f.check: f for f in report.failures}
    failure = by_check["duplicate_rows"]
    assert failure.reason is Reason.DUPLICATE_ROWS
    assert failure.observed == 20
    assert list(failure.examples) == list(range(len(reference), len(reference) + 5))
    assert "more than the 1% allowed" in failure.message
    loose = _validate(df, schema, max_duplicate_fraction=0.1)
    assert "duplicate_rows" not in {f.check for f in loose.failures}


def test_invalid_labels(reference: pd.DataFrame, schema: Schema) -> None:
    labels = reference[TARGET].astype(float)
    labels.iloc[[0, 1]] = np.nan
    labels.iloc[[2, 3, 4]] = 7
    failures = _validate(reference.assign(label=labels), schema).failures
    assert [(f.check, f.reason, f.observed) for f in failures] == [
        ("label_values", Reason.INVALID_LABEL, 2),
        ("label_values", Reason.INVALID_LABEL, 3),
    ]
    assert "2 missing labels (rows 0, 1)" in failures[0].message
    assert "3 labels not seen in the reference data (7.0)" in failures[1].message


def test_several_failures_at_once_are_all_reported(reference: pd.DataFrame, strict_schema: Schema) -> None:
    df = reference.drop(columns="is_weekend").assign(foo="x")
    df.loc[[1, 2], "amount"] = [1e9, 2e9]
    df.loc[3, "balance"] = np.nan
    df.loc[4, "merchant_category"] = "crypto"
    df["channel"] = df["channel"].astype(str)  # still a string column: no failure
    df["created_at"] = df["created_at"].dt.strftime("%d/%m/%Y")  # text, but no ISO date
    report = _validate(df, strict_schema)
    assert {(f.check, f.subject, f.reason) for f in report.failures} == {
        ("column_presence", "is_weekend", Reason.MISSING_COLUMN),
        ("column_presence", "foo", Reason.UNEXPECTED_COLUMN),
        ("column_range", "amount", Reason.ABOVE_MAXIMUM),
        ("column_nulls", "balance", Reason.NULL_VALUES),
        ("column_categories", "merchant_category", Reason.UNSEEN_CATEGORY),
        ("column_dtype", "created_at", Reason.WRONG_DTYPE),
    }
    assert report.headline().startswith("6 of ")
    with pytest.raises(DataValidationError) as info:
        report.raise_for_status()
    assert info.value.report is report
    assert report.to_json()  # examples and observed values serialise


REINFER_HINT = (
    "If the new range is expected, re-infer the schema from the reference data "
    "(`shipyard schema infer --data <reference>`, never from the batch under test) and review the diff."
)


def test_message_names_column_count_and_examples() -> None:
    reference = pd.DataFrame({"amount": np.linspace(0.0, 100.0, 50), TARGET: [0, 1] * 25})
    schema = infer_schema(reference, target=TARGET)
    assert schema.column("amount").observed_maximum == 100.0
    assert schema.column("amount").maximum == 180.0  # 100 + (q90 - q10 = 80)
    few = reference.copy()
    few.loc[[0, 1, 3], "amount"] = [61234.5, 99000.0, 61234.5]
    assert _only_failure(_validate(few, schema)).message == (
        "Column 'amount' has 3 values above the schema maximum 180.0; the reference data's highest "
        f"was 100.0 (61234.5, 99000.0). {REINFER_HINT}"
    )
    many = reference.copy()
    many.loc[:11, "amount"] = np.arange(200.0, 212.0)
    failure = _only_failure(_validate(many, schema))
    assert failure.message.startswith(
        "Column 'amount' has 12 values above the schema maximum 180.0; the reference data's highest "
        "was 100.0 (e.g. 200.0, 201.0, 202.0, 203.0, 204.0)."
    )
    assert list(failure.examples) == [200.0, 201.0, 202.0, 203.0, 204.0]
    assert failure.hint == REINFER_HINT


@pytest.mark.parametrize("storage", [object, "str", "category"])
def test_string_columns_accept_any_storage(reference: pd.DataFrame, schema: Schema, storage: object) -> None:
    text = {name: reference[name].astype(str).astype(storage) for name in ("merchant_category", "channel")}
    assert _validate(reference.assign(**text), schema).passed


@pytest.mark.parametrize("dtype", ["int64", "int32", "Int64", "float64"])
def test_int_column_accepts_ints_and_whole_floats(
    reference: pd.DataFrame, schema: Schema, dtype: str
) -> None:
    assert _validate(
        reference.assign(transaction_id=reference["transaction_id"].astype(dtype)), schema
    ).passed


def test_int_column_with_nulls_read_as_float_reports_nulls_not_dtype(
    reference: pd.DataFrame, strict_schema: Schema
) -> None:
    ids = reference["transaction_id"].astype(float)
    ids.iloc[0] = np.nan
    failure = _only_failure(_validate(reference.assign(transaction_id=ids), strict_schema))
    assert failure.reason is Reason.NULL_VALUES


def test_fractional_floats_in_int_column_are_a_dtype_failure(reference: pd.DataFrame, schema: Schema) -> None:
    ids = reference["transaction_id"].astype(float)
    ids.iloc[0] = 1000.5
    failure = _only_failure(_validate(reference.assign(transaction_id=ids), schema))
    assert failure.reason is Reason.WRONG_DTYPE
    assert list(failure.examples) == [1000.5]


def test_float_column_accepts_integral_values(reference: pd.DataFrame, schema: Schema) -> None:
    whole = reference["amount"].round().astype("int64")
    assert _validate(reference.assign(amount=whole), schema).passed


def test_time_zone_mismatch_is_reported_once(reference: pd.DataFrame, schema: Schema) -> None:
    aware = reference["created_at"].dt.tz_localize("UTC")
    failure = _only_failure(_validate(reference.assign(created_at=aware), schema))
    assert (failure.subject, failure.reason) == ("created_at", Reason.WRONG_DTYPE)
    assert "cannot be compared with its schema range" in failure.message


def test_regression_target_is_range_checked(reference: pd.DataFrame, schema: Schema) -> None:
    failure = _only_failure(_validate(reference.assign(label=50), schema, task="regression"))
    assert (failure.check, failure.subject, failure.reason) == (
        "column_range",
        TARGET,
        Reason.ABOVE_MAXIMUM,
    )


def test_missing_target_skips_label_checks(reference: pd.DataFrame, schema: Schema) -> None:
    report = _validate(reference.drop(columns=TARGET), schema)
    assert [f.reason for f in report.failures] == [Reason.MISSING_COLUMN]
    skipped = [r for r in report.results if r.status is Status.SKIPPED]
    assert [(r.check, r.subject) for r in skipped] == [("label_values", TARGET)]


def test_list_cells_skip_the_duplicate_check(reference: pd.DataFrame, schema: Schema) -> None:
    df = reference.assign(tags=[[1, 2]] * len(reference))
    report = _validate(df, schema)
    assert [f.subject for f in report.failures] == ["tags"]
    assert [r.check for r in report.results if r.status is Status.SKIPPED] == ["duplicate_rows"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "clasification"}, "The 'task' option of validate must be one of"),
        ({"max_duplicate_fraction": 1.5}, "The 'max_duplicate_fraction' option of validate"),
        ({"min_rows": -1}, "The 'min_rows' option of validate must be an int in [0, inf]"),
        ({"target": "y"}, "The target 'y' does not match the schema's target 'label'"),
    ],
)
def test_bad_arguments_raise_config_error(
    reference: pd.DataFrame, schema: Schema, kwargs: dict, message: str
) -> None:
    arguments = {"target": TARGET, "task": "classification", **kwargs}
    with pytest.raises(ConfigError) as info:
        validate(reference, schema, **arguments)
    assert message in str(info.value)


def test_parquet_copy_of_reference_validates(reference: pd.DataFrame, schema: Schema, tmp_path: Path) -> None:
    reference.to_parquet(tmp_path / "data.parquet")
    report = _validate(load_frame(tmp_path / "data.parquet"), schema)
    assert report.passed, [f.message for f in report.failures]
