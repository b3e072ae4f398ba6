"""Reading partitioned Parquet: hive keys, skipped files, and a clear error naming the bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.partitions import map_partitions, open_partitions
from shipyard.errors import ConfigError


def _write(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _part(n: int = 3, **extra: object) -> pd.DataFrame:
    return pd.DataFrame({"x": [float(i) for i in range(n)], "c": ["a"] * n, **extra})


def test_hive_keys_become_columns_and_marker_files_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "date=2026-01-01/part-0.parquet", _part(3))
    _write(tmp_path, "date=2026-01-02/part-0.parquet", _part(2))
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "date=2026-01-01" / ".part-0.parquet.crc").write_bytes(b"\x00crc")
    data = open_partitions(tmp_path)
    assert data.rows == 5 and len(data.partitions) == 2
    assert data.schema.names == ["x", "c", "date"]
    table = pa.Table.from_batches(list(data.batches(["date", "x"], 10)))
    assert table.column("date").to_pylist() == ["2026-01-01"] * 3 + ["2026-01-02"] * 2
    assert table.column("x").to_pylist() == [0.0, 1.0, 2.0, 0.0, 1.0]


def test_a_file_uri_reads_through_pyarrow_fs_as_an_s3_prefix_would(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part(4))
    data = open_partitions(f"file://{tmp_path}")
    assert data.rows == 4 and data.partitions[0].path.endswith("a.parquet")


def test_integer_and_float_partitions_of_one_column_are_compatible(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part(2))
    _write(tmp_path, "b.parquet", pd.DataFrame({"x": [1, 2], "c": ["b", "c"]}))  # int64, no NaN here
    assert open_partitions(tmp_path).rows == 4


def test_an_empty_folder_says_it_holds_no_parquet_files(tmp_path: Path) -> None:
    (tmp_path / "_SUCCESS").write_text("")
    with pytest.raises(ConfigError, match=r"holds no Parquet files"):
        open_partitions(tmp_path)


def test_a_missing_location_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"No data at .*nowhere"):
        open_partitions(tmp_path / "nowhere")


def test_a_file_that_is_not_parquet_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part())
    (tmp_path / "notes.csv").write_text("x,c\n1,a\n")
    with pytest.raises(ConfigError, match=r"notes\.csv is not a Parquet file"):
        open_partitions(tmp_path)


def test_a_partition_missing_a_column_is_named_with_the_column(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part())
    _write(tmp_path, "b.parquet", _part().drop(columns="c"))
    with pytest.raises(ConfigError, match=r"Partition .*b\.parquet has no column 'c'"):
        open_partitions(tmp_path)


def test_a_partition_with_an_extra_column_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part())
    _write(tmp_path, "b.parquet", _part(y=[1, 2, 3]))
    with pytest.raises(ConfigError, match=r"b\.parquet has column 'y'"):
        open_partitions(tmp_path)


def test_a_partition_storing_a_column_as_another_type_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "a.parquet", _part())
    _write(tmp_path, "b.parquet", pd.DataFrame({"x": ["1", "2"], "c": ["a", "b"]}))
    with pytest.raises(ConfigError, match=r"Column 'x' is \w*string in partition .*b\.parquet but double"):
        open_partitions(tmp_path)


def test_an_unknown_executor_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"one of local, ray\. Got 'spark'"):
        map_partitions(len, ["ab"], executor="spark")  # type: ignore[arg-type]
    assert map_partitions(len, ["ab", "c"]) == [2, 1]


def test_a_damaged_partition_is_named_when_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.parquet", pd.DataFrame({"x": np.arange(10_000, dtype=float)}))
    raw = bytearray(path.read_bytes())
    raw[100:4000] = b"\xff" * 3900  # the data pages; the footer still reads
    path.write_bytes(bytes(raw))
    data = open_partitions(tmp_path)
    with pytest.raises(ConfigError, match=r"Cannot read partition .*a\.parquet: .*damaged"):
        list(data.batches(["x"], 1000))
