"""`shipyard monitor drift --current s3://bucket/prefix/` and `shipyard validate s3://...`: partitions
read through pyarrow.fs from an S3 emulator (moto's server, on 127.0.0.1), as from a data lake."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import Cli, write_tiny_project

from shipyard.data.partitions import open_partitions
from shipyard.data.profile import build_profile
from shipyard.monitoring.engine import detect_drift

BUCKET = "lake"  # the bucket the `lake` fixture (conftest.py) creates


def _upload(client, frame: pd.DataFrame, prefix: str, tmp: Path, parts: int = 5) -> str:
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        local = tmp / f"{prefix.replace('/', '_')}-{i}.parquet"
        frame.iloc[rows].to_parquet(local, index=False)
        client.upload_file(str(local), BUCKET, f"{prefix}/date=2026-03-0{i + 1}/part-0.parquet")
    return f"s3://{BUCKET}/{prefix}"


def test_s3_partitions_give_the_verdicts_of_the_frame(lake, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=4000), "c": rng.choice(["a", "b", "c"], 4000)})
    current = pd.DataFrame({"x": rng.normal(0.4, 1.0, 3000), "c": rng.choice(["a", "b", "c"], 3000)})
    profile = build_profile(reference)
    uri = _upload(lake, current, "events", tmp_path)
    data = open_partitions(uri)
    assert len(data.partitions) == 5 and data.rows == 3000
    on_s3, single = detect_drift(profile, data), detect_drift(profile, current)
    assert [f.name for f in on_s3.drifted] == [f.name for f in single.drifted] == ["x"]
    assert on_s3.features[0].results["ks"].statistic == pytest.approx(
        single.features[0].results["ks"].statistic
    )


def test_the_cli_reads_an_s3_prefix_and_names_a_stray_object(lake, tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    inputs = pd.read_csv(cli.project / "data.csv").drop(columns="label")
    uri = _upload(lake, inputs.assign(x1=inputs.x1 + 1.0), "shifted", tmp_path)
    out = tmp_path / "d.json"
    cli("monitor", "drift", "--reference", "data.csv", "--current", uri, "--json", str(out), check=1)
    summary = json.loads(out.read_text())["summary"]
    assert summary["columns_drifted"] == ["x1"] and summary["current"].startswith("s3://lake/shifted")
    lake.put_object(Bucket=BUCKET, Key="shifted/date=2026-03-02/notes.txt", Body=b"not parquet")
    proc = cli("monitor", "drift", "--reference", "data.csv", "--current", uri, check=2)
    assert "shifted/date=2026-03-02/notes.txt is not a Parquet file" in proc.stderr


def test_validate_reads_an_s3_prefix_and_gives_the_report_of_one_file(lake, tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    cli("schema", "infer", check=0)
    batch = pd.read_csv(cli.project / "data.csv")
    batch = pd.concat(
        [batch.assign(x1=batch.x1.where(batch.index % 9 != 0)), batch.iloc[:20]], ignore_index=True
    )
    for i, rows in enumerate(np.array_split(np.arange(len(batch)), 4)):  # flat keys: no hive column
        local = tmp_path / f"batch-{i}.parquet"
        batch.iloc[rows].to_parquet(local, index=False)
        lake.upload_file(str(local), BUCKET, f"batch/part-{i}.parquet")
    batch.to_parquet(tmp_path / "batch.parquet", index=False)
    one = cli("validate", str(tmp_path / "batch.parquet"), check=1)
    on_s3 = cli("validate", f"s3://{BUCKET}/batch", check=1)
    assert on_s3.stdout == one.stdout
    failed = [line.split()[3] for line in one.stdout.splitlines() if "FAILED" in line]
    assert failed == ["column_nulls", "duplicate_rows"], one.stdout


def test_the_cli_takes_the_reference_from_an_s3_prefix(lake, tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "tiny"))
    data = pd.read_csv(cli.project / "data.csv")
    reference = _upload(lake, data, "reference", tmp_path)
    shifted = data.drop(columns="label").assign(x1=data.x1 + 1.0)
    shifted.to_csv(cli.project / "shifted.csv", index=False)
    same = data.drop(columns="label")
    same.to_csv(cli.project / "same.csv", index=False)
    current = _upload(lake, shifted, "current", tmp_path)
    out = tmp_path / "d.json"
    for args, code, drifted in (
        (["--current", "shifted.csv"], 1, ["x1"]),  # s3 reference, local file: profiled reference
        (["--current", current], 1, ["x1"]),  # both on s3
        (["--current", "same.csv"], 0, []),
    ):
        cli("monitor", "drift", "--reference", reference, *args, "--json", str(out), check=code)
        summary = json.loads(out.read_text())["summary"]
        assert summary["columns_drifted"] == drifted, args
        assert summary["reference"].startswith("profile of s3://lake/reference (5 partitions)")
    for location, message in (
        (f"s3://{BUCKET}/nothing", f"No data at s3://{BUCKET}/nothing"),
        (f"s3://{BUCKET}/profile.json", "a profile JSON is read from a local file"),
    ):
        proc = cli("monitor", "drift", "--reference", location, "--current", "same.csv", check=2)
        assert message in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr
