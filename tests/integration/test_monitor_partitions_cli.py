"""`shipyard monitor drift --current <folder>` through the real CLI: partitioned Parquet is read
one partition at a time, here or on Ray, and bad partitions are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from cli_helpers import Cli, write_tiny_project


def _export(frame: pd.DataFrame, folder: Path, parts: int = 4) -> Path:
    """A daily export: hive folders, one Parquet file each, and Spark's `_SUCCESS` marker."""
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        day = folder / f"date=2026-03-0{i + 1}"
        day.mkdir(parents=True)
        frame.iloc[rows].to_parquet(day / "part-00000.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    return folder


def _inputs(project: Path, *, shift: float = 0.0) -> pd.DataFrame:
    data = pd.read_csv(project / "data.csv").drop(columns="label")
    return data.assign(x1=data.x1 + shift)


def test_a_clean_folder_passes_and_a_shifted_one_names_its_column(tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    clean = _export(_inputs(cli.project), tmp_path / "clean")
    out = tmp_path / "clean.json"
    cli("monitor", "drift", "--reference", "data.csv", "--current", str(clean), "--json", str(out), check=0)
    summary = json.loads(out.read_text())["summary"]
    assert summary["verdict"] == "no_drift" and summary["current_rows"] == 400
    assert summary["current"].endswith("clean (4 partitions)")
    shifted = _export(_inputs(cli.project, shift=1.0), tmp_path / "shifted")
    out = tmp_path / "shifted.json"
    args = ("--current", str(shifted), "--executor", "ray", "--json", str(out))
    proc = cli("monitor", "drift", "--reference", "data.csv", *args, check=1)
    assert "x1 drifted" in proc.stderr
    assert json.loads(out.read_text())["summary"]["columns_drifted"] == ["x1"]


def test_a_stray_file_in_the_folder_is_named_with_exit_2(tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    folder = _export(_inputs(cli.project), tmp_path / "export")
    (folder / "date=2026-03-02" / "readme.txt").write_text("exported by the nightly job\n")
    proc = cli("monitor", "drift", "--reference", "data.csv", "--current", str(folder), check=2)
    assert "readme.txt is not a Parquet file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unknown_executor_is_a_usage_error(tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    folder = _export(_inputs(cli.project), tmp_path / "export")
    args = ("--current", str(folder), "--executor", "spark")
    proc = cli("monitor", "drift", "--reference", "data.csv", *args, check=2)
    assert "The executor must be one of local, ray. Got 'spark'" in proc.stderr
