"""Batch rules: a clean batch from the reference's source passes; seeded faults fail, naming the column.

Statistical rules are checked over several seeds (the `seed` fixture) and sizes.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.core.results import Reason, Report, Severity, Status
from shipyard.data import (
    Schema,
    infer_schema,
    propose_max_duplicate_fraction,
    propose_min_rows,
    read_schema,
    validate,
)
from shipyard.data._allowances import binomial_sf, exceedance_pvalue, upper_bound, verdict

TARGET = "label"
BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "batch_validation.py"


def _validate(df: pd.DataFrame, schema: Schema, **kwargs: object) -> Report:
    return validate(df, schema, target=TARGET, task="classification", **kwargs)


def _split(draw, seed: int, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a held-out 20 % batch of one draw."""
    frame = draw(seed, rows)
    cut = int(rows * 0.8)
    return frame.iloc[:cut], frame.iloc[cut:].reset_index(drop=True)


def _findings(report: Report, column: str) -> list[tuple[str, Severity]]:
    found = [r for r in report.results if r.subject == column and r.status is Status.FAILED]
    return [(r.check, r.severity) for r in found]


def test_upper_bound_is_the_rule_of_three_and_clopper_pearson() -> None:
    assert upper_bound(0, 1000, 0.95) == pytest.approx(3 / 1000, rel=0.01)
    # Clopper-Pearson: P(Binomial(n, bound) <= k) = 1 - confidence.
    bound = upper_bound(7, 500)
    assert 1 - binomial_sf(8, 500, bound) == pytest.approx(0.001, rel=1e-3)
    assert upper_bound(500, 500) == 1.0


def test_exceedance_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    n, m, k = 40, 10, 2
    hits = sum((rng.random(m) > rng.random(n).max()).sum() >= k for _ in range(20_000))
    assert hits / 20_000 == pytest.approx(exceedance_pvalue(k, m, n), abs=0.01)


@pytest.mark.parametrize(
    ("count", "rows", "allowance", "expected"),
    [
        (0, 100, 0.0, "pass"),
        (1, 100, 0.0, "fail"),
        (1, 200, 0.01, "pass"),
        (5, 200, 0.01, "warn"),
        (30, 200, 0.01, "fail"),
    ],
)
def test_verdict(count: int, rows: int, allowance: float, expected: str) -> None:
    assert verdict(count, rows, allowance) == expected


@pytest.mark.parametrize("rows", [200, 2_000, 20_000])
def test_a_held_out_batch_passes(draw, seed: int, rows: int) -> None:
    reference, batch = _split(draw, seed, rows)
    schema = infer_schema(reference, target=TARGET)
    rules = {"min_rows": propose_min_rows(len(reference)), "max_duplicate_fraction": 0.01}
    assert _validate(reference, schema, **rules).passed
    report = _validate(batch, schema, **rules)
    assert report.passed, [f.message for f in report.failures]


def test_one_null_where_the_reference_had_none_warns_at_most(draw, seed: int) -> None:
    reference, batch = _split(draw, seed, 2_000)
    schema = infer_schema(reference, target=TARGET)
    assert not schema.column("amount").nullable and schema.column("amount").max_null_fraction > 0
    batch.loc[[3], "amount"] = np.nan
    assert _validate(batch, schema).passed
    batch.loc[:5, "amount"] = np.nan
    assert ("column_nulls", Severity.WARN) in _findings(_validate(batch, schema), "amount")


def test_many_nulls_fail_naming_the_column(draw, seed: int) -> None:
    reference, batch = _split(draw, seed, 2_000)
    schema = infer_schema(reference, target=TARGET)
    batch.loc[batch.index[::10], "balance"] = np.nan  # 10 %
    failure = next(f for f in _validate(batch, schema).failures)
    assert (failure.check, failure.subject, failure.reason) == ("column_nulls", "balance", Reason.NULL_VALUES)
    assert "above the" in failure.message and "max_null_fraction" in failure.hint
    # A column that had nulls may hold a similar share, not three times it.
    batch.loc[batch.index[::4], "age"] = pd.NA
    assert ("column_nulls", Severity.FAIL) in _findings(_validate(batch, schema), "age")


def test_range_slightly_beyond_warns_far_beyond_fails(draw, seed: int) -> None:
    reference, batch = _split(draw, seed, 2_000)
    schema = infer_schema(reference, target=TARGET)
    column = schema.column("balance")
    slightly = batch.copy()
    slightly.loc[0, "balance"] = column.observed_maximum + 1.0
    assert _validate(slightly, schema).passed
    assert ("column_range", Severity.WARN) in _findings(_validate(slightly, schema), "balance")
    far = batch.copy()
    far.loc[0, "balance"] = column.maximum * 10
    report = _validate(far, schema)
    assert [(f.check, f.subject, f.reason) for f in report.failures] == [
        ("column_range", "balance", Reason.ABOVE_MAXIMUM)
    ]
    assert "shipyard schema infer --data <reference>" in report.failures[0].hint
    assert "never from the batch under test" in report.failures[0].hint


def test_many_values_beyond_the_seen_range_fail(draw, seed: int) -> None:
    reference, batch = _split(draw, seed, 2_000)
    schema = infer_schema(reference, target=TARGET)
    shifted = batch.assign(balance=batch["balance"] + 2 * batch["balance"].std())
    failure = next(f for f in _validate(shifted, schema).failures)
    assert (failure.check, failure.subject) == ("column_range", "balance")
    assert "more than chance explains" in failure.message


def test_rare_new_categories_warn_in_a_long_tail_and_fail_en_masse(draw, seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(45)]
    weights = 1 / np.arange(1, 46) ** 1.2
    frame = pd.DataFrame({"city": rng.choice(names, 600, p=weights / weights.sum()), TARGET: [0, 1] * 300})
    schema = infer_schema(frame.iloc[:200], target=TARGET)
    column = schema.column("city")
    assert column.categories is not None and column.max_unseen_fraction > 0.02
    batch = frame.iloc[200:].reset_index(drop=True)
    unseen = ~batch["city"].isin(column.categories)
    assert _validate(batch, schema, max_duplicate_fraction=1.0).passed, f"{unseen.sum()} unseen"
    batch.loc[: len(batch) // 3, "city"] = "brand_new"
    failure = next(f for f in _validate(batch, schema, max_duplicate_fraction=1.0).failures)
    assert (failure.check, failure.subject, failure.reason) == (
        "column_categories",
        "city",
        Reason.UNSEEN_CATEGORY,
    )


def test_schema_without_allowances_still_loads_and_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    old = {
        "version": 1,
        "target": TARGET,
        "rows": 100,
        "columns": [
            {"name": "x", "dtype": "float", "nullable": False, "minimum": 0.0, "maximum": 1.0},
            {"name": TARGET, "dtype": "int", "nullable": False, "unique": False, "categories": [0, 1]},
        ],
    }
    path.write_text(yaml.safe_dump(old))
    schema = read_schema(path)
    assert schema.column("x").max_null_fraction is None and schema.column("x").null_allowance == 0.0
    batch = pd.DataFrame({"x": [0.5, None, 1.5], TARGET: [0, 1, 0]})
    found = {(f.check, f.reason) for f in _validate(batch, schema).failures}
    assert found == {("column_nulls", Reason.NULL_VALUES), ("column_range", Reason.ABOVE_MAXIMUM)}


def test_text_iso_dates_are_datetime_and_a_year_stays_an_int() -> None:
    frame = pd.DataFrame(
        {
            "day": pd.Series(["2024-01-05", "2024-02-10", None, "2024-03-01"], dtype="string[pyarrow]"),
            "stamp": ["2024-01-05T10:00:00Z", "2024-01-06T11:30:00Z", "2024-01-07T00:00:00Z", None],
            "year": [2019, 2019, 2020, 2022],
            "code": ["2024-01", "x", "y", "z"],
            TARGET: [0, 1, 0, 1],
        }
    )
    schema = infer_schema(frame, target=TARGET)
    assert schema.column("year").maximum is None  # new data is newer, as for a date
    assert _validate(frame.assign(year=[2030, 2031, 2031, 2032]), schema).passed
    assert [schema.column(c).dtype for c in ("day", "stamp", "year", "code")] == [
        "datetime",
        "datetime",
        "int",
        "string",
    ]
    assert _validate(frame, schema).passed
    bad = frame.assign(day=["2024-01-05", "05/01/2024", None, "2024-W01-1"])
    failure = next(f for f in _validate(bad, schema).failures)
    assert (failure.check, failure.subject, failure.reason) == ("column_dtype", "day", Reason.WRONG_DTYPE)
    assert "'05/01/2024'" in failure.message and "'2024-W01-1'" in failure.message


def test_every_parquet_dtype_is_inferred_and_validated(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical(rng.choice(["a", "b"], n)),
            "i": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "f": pd.array(rng.normal(size=n), dtype="Float64"),
            "b": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "s": pd.array(rng.choice(["x", "y"], n), dtype="string[pyarrow]"),
            TARGET: rng.integers(0, 2, n),
        }
    )
    frame.loc[3, "i"] = pd.NA
    table = pa.Table.from_pandas(frame, preserve_index=False)
    prices = pa.array([Decimal(f"{v:.2f}") for v in rng.gamma(2, 10, n)], type=pa.decimal128(9, 2))
    hours = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(n) * np.timedelta64(1, "h")
    stamps = pa.array(hours).cast(pa.timestamp("us", tz="Europe/Paris"))
    table = table.append_column("d", prices).append_column("t", stamps)
    pq.write_table(table, tmp_path / "all.parquet")
    data = pd.read_parquet(tmp_path / "all.parquet")
    assert isinstance(data["cat"].dtype, pd.CategoricalDtype) and isinstance(data["d"].iloc[0], Decimal)
    assert str(data["t"].dt.tz) == "Europe/Paris"
    schema = infer_schema(data.iloc[:240], target=TARGET)
    assert {c.name: c.dtype for c in schema.columns} == {
        "cat": "category",
        "i": "int",
        "f": "float",
        "b": "bool",
        "s": "string",
        TARGET: "int",
        "d": "float",
        "t": "datetime",
    }
    batch = data.iloc[240:].reset_index(drop=True)
    assert _validate(batch, schema).passed
    batch["d"] = batch["d"] * Decimal(1000)
    failure = next(f for f in _validate(batch, schema).failures)
    assert (failure.check, failure.subject) == ("column_range", "d")


def test_proposals_pass_their_own_data_and_a_clean_batch(draw, seed: int) -> None:
    rng = np.random.default_rng(seed)
    coarse = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], 5_000),
            "band": rng.choice(["<25", "25-45", "45-65", "65+"], 5_000),
            "edu": rng.integers(1, 6, 5_000),
            TARGET: rng.integers(0, 2, 5_000),
        }
    )
    reference, batch = coarse.iloc[:4_000], coarse.iloc[4_000:]
    rules = {
        "min_rows": propose_min_rows(len(reference)),
        "max_duplicate_fraction": propose_max_duplicate_fraction(reference),
    }
    assert rules["min_rows"] <= len(batch) // 2 and rules["max_duplicate_fraction"] > 0.9
    schema = infer_schema(reference, target=TARGET)
    assert _validate(reference, schema, **rules).passed
    assert _validate(batch, schema, **rules).passed
    short = _validate(batch.iloc[: rules["min_rows"] - 1], schema, **rules)
    assert [f.check for f in short.failures] == ["volume"]


def test_harness_small_form(draw, seed: int) -> None:
    """The decision harness at 1,000 rows: no false alarm; every fault caught, named."""
    spec = importlib.util.spec_from_file_location("batch_validation", BENCHMARK)
    assert spec is not None and spec.loader is not None
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    outcome = harness.trial(1_000, seed)
    assert not outcome["clean_alarm"] and not outcome["own_alarm"], outcome["clean_failures"]
    assert all(outcome[kind] for kind in harness.FAULTS), outcome
