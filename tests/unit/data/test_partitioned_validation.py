"""`validate_partitions`: per-partition counts merged into the report one frame of every row gives.

The data is written as Parquet partitions, and the single-frame report is computed from the
same files read as one frame (`load_frame` of the folder), so both paths see the same dtypes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.results import Report, Status
from shipyard.data import Schema, load_frame, validate
from shipyard.data.partitioned_validation import validate_partitions
from shipyard.data.partitions import open_partitions
from shipyard.errors import ConfigError

TARGET = "label"
PARTS = 7


def write_partitions(frame: pd.DataFrame, folder: Path, parts: int = PARTS) -> Path:
    """`frame` as `parts` Parquet files of unequal sizes, in row order."""
    folder.mkdir(parents=True)
    cuts = np.linspace(0, len(frame), parts + 1).astype(int)
    cuts[1:-1] += np.arange(1, parts) % 3  # uneven sizes
    for i, (start, stop) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        frame.iloc[start:stop].to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return folder


def _both(frame: pd.DataFrame, schema: Schema, folder: Path, **rules: object) -> tuple[Report, Report]:
    write_partitions(frame, folder)
    single = validate(load_frame(folder), schema, target=TARGET, task="classification", **rules)
    parted = validate_partitions(
        open_partitions(folder), schema, target=TARGET, task="classification", **rules
    )
    return single, parted


def _same(single: Report, parted: Report) -> None:
    assert [r.to_dict() for r in parted.results] == [r.to_dict() for r in single.results]


def _nulls(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    df.loc[rng.choice(len(df), 40, replace=False), "amount"] = np.nan
    return df


def _out_of_range(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    rows = rng.choice(len(df), 9, replace=False)
    df.loc[rows, "amount"] = df.amount.max() * np.linspace(3, 9, 9)
    df.loc[rows[:3], "balance"] = df.balance.min() - 1.0
    return df


def _unseen(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    rows = rng.choice(len(df), 30, replace=False)
    df.loc[rows, "merchant_category"] = [f"new-{i % 8}" for i in range(30)]
    return df


def _duplicates(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows of the first partitions repeated in the last ones: only a merge across partitions sees them."""
    copies = df.iloc[rng.choice(len(df) // 3, 25, replace=False)]
    return pd.concat([df, copies], ignore_index=True)


def _labels(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    df = df.copy()
    df[TARGET] = df[TARGET].astype("Int64")
    df.loc[rng.choice(len(df), 4, replace=False), TARGET] = pd.NA
    df.loc[rng.choice(len(df), 3, replace=False), TARGET] = 7
    return df


def _text_dates(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Dates as ISO text, but a few (in several partitions) written day first."""
    text = df.created_at.dt.strftime("%Y-%m-%dT%H:%M:%S")
    bad = rng.choice(len(df), 12, replace=False)
    text.iloc[bad] = df.created_at.iloc[bad].dt.strftime("%d/%m/%Y")
    return df.assign(created_at=text)


def _everything(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return _labels(_duplicates(_unseen(_out_of_range(_nulls(df, rng), rng), rng), rng), rng)


FAULTS: dict[str, Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]] = {
    "clean": lambda df, rng: df,
    "nulls": _nulls,
    "out_of_range": _out_of_range,
    "unseen": _unseen,
    "duplicates": _duplicates,
    "labels": _labels,
    "text_dates": _text_dates,
    "everything": _everything,
}


FLAGS = {
    "nulls": {"column_nulls"},
    "out_of_range": {"column_range"},
    "unseen": {"column_categories"},
    "duplicates": {"duplicate_rows", "column_unique"},
    "labels": {"label_values"},
    "text_dates": {"column_dtype"},
    "everything": {"column_nulls", "column_range", "column_categories", "duplicate_rows", "label_values"},
}


@pytest.mark.parametrize("fault", FAULTS)
def test_partitions_give_the_single_frame_report(
    schema: Schema, seed: int, tmp_path: Path, fault: str, draw: Callable[..., pd.DataFrame]
) -> None:
    batch = FAULTS[fault](draw(seed + 100, rows=1_200), np.random.default_rng(seed))
    single, parted = _both(batch, schema, tmp_path / "parts")
    _same(single, parted)
    flagged = {r.check for r in single.results if r.status is Status.FAILED}
    assert single.passed if fault == "clean" else FLAGS[fault] <= flagged, flagged


def _partitions_changed(
    frame: pd.DataFrame,
    folder: Path,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    changed: tuple[int, ...] = (2,),
) -> Path:
    folder.mkdir(parents=True)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 4)):
        part = frame.iloc[rows]
        (change(part) if i in changed else part).to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def test_text_in_a_number_column_of_one_partition_names_the_file(
    schema: Schema, tmp_path: Path, draw: Callable[..., pd.DataFrame]
) -> None:
    folder = _partitions_changed(draw(7), tmp_path / "parts", lambda p: p.assign(age=p.age.astype(str)))
    with pytest.raises(ConfigError, match=r"Column 'age' is \w+ in partition .*part-2\.parquet"):
        validate_partitions(open_partitions(folder), schema, target=TARGET, task="classification")


def test_fractions_in_an_int_column_of_two_partitions_fail_its_dtype(
    schema: Schema, tmp_path: Path, draw: Callable[..., pd.DataFrame]
) -> None:
    """One frame of the same rows fails the same check with the same examples and count; its dtype
    is pandas' common dtype of the parts (Float64), the partitions' that of the first odd part."""
    change = lambda p: p.assign(age=p.age.astype("float64") + 0.5)  # noqa: E731
    folder = _partitions_changed(draw(7), tmp_path / "parts", change, changed=(1, 3))
    parted = validate_partitions(open_partitions(folder), schema, target=TARGET, task="classification")
    whole = pd.concat([pd.read_parquet(f) for f in sorted(folder.iterdir())], ignore_index=True)
    single = validate(whole, schema, target=TARGET, task="classification")
    (failure,) = parted.failures
    (expected,) = single.failures
    assert (failure.check, failure.subject, failure.observed) == ("column_dtype", "age", "float64")
    assert expected.observed == "Float64"
    assert failure.message == expected.message.replace("Float64", "float64")
    assert (failure.examples, failure.evidence) == (expected.examples, expected.evidence)
    assert [r.to_dict() for r in parted.results[2:]] == [r.to_dict() for r in single.results[2:]]
