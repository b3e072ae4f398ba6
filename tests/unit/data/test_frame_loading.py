"""`load_frame`: CSV, Parquet file, Parquet folder, and the errors for what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.data import load_frame
from shipyard.errors import ConfigError

FRAME = pd.DataFrame({"x": [1, 2, 3], "city": ["a", "b", "c"], "y": [0.5, 1.5, 2.5]})


def _assert_same(loaded: pd.DataFrame) -> None:
    assert list(loaded.columns) == ["x", "city", "y"]
    assert loaded["x"].tolist() == [1, 2, 3]
    assert loaded["city"].tolist() == ["a", "b", "c"]
    assert loaded["y"].tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("name", ["data.csv", "data.CSV", "data.csv.gz"])
def test_reads_csv(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    FRAME.to_csv(path, index=False)
    _assert_same(load_frame(path))


@pytest.mark.parametrize("name", ["data.parquet", "data.pq"])
def test_reads_parquet_file(tmp_path: Path, name: str) -> None:
    FRAME.to_parquet(tmp_path / name)
    _assert_same(load_frame(str(tmp_path / name)))


def test_reads_folder_of_parquet_parts_and_skips_marker_files(tmp_path: Path) -> None:
    FRAME.iloc[:2].to_parquet(tmp_path / "part-0.parquet")
    FRAME.iloc[2:].to_parquet(tmp_path / "part-1.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    loaded = load_frame(tmp_path)
    _assert_same(loaded.sort_values("x").reset_index(drop=True))


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_csv_gives_empty_frame(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    loaded = load_frame(path)
    assert isinstance(loaded, pd.DataFrame)
    assert len(loaded) == 0


def test_header_only_csv_keeps_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("x,city,y\n")
    loaded = load_frame(path)
    assert list(loaded.columns) == ["x", "city", "y"]
    assert len(loaded) == 0


def test_missing_path_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(ConfigError, match=r"No data at .*nope\.csv.*data\.source") as info:
        load_frame(path)
    assert "Parquet" in str(info.value)


@pytest.mark.parametrize("name", ["data.xlsx", "data.json", "data"])
def test_unsupported_extension_names_path_and_supported_types(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x\n1\n")
    with pytest.raises(ConfigError, match="unsupported file type") as info:
        load_frame(path)
    message = str(info.value)
    assert name in message
    assert ".csv" in message and ".parquet" in message


def test_folder_without_parquet_files_is_rejected(tmp_path: Path) -> None:
    FRAME.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(ConfigError, match="holds no Parquet files"):
        load_frame(tmp_path)


def test_damaged_parquet_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(ConfigError, match=r"Cannot read .*broken\.parquet"):
        load_frame(path)
