"""A new user's data with every pandas/Arrow dtype, through the real CLI: `init` (whose smoke
test trains the starter model code), `run`, `validate` (a clean batch passes, a bad one fails
naming its column), `serve` with a JSON request of every column, and `monitor drift`.

One project holds every dtype (init and run cost half a minute each); CSV input and a 100-row
file are checked with `init` alone, whose smoke test trains and scores the starter model.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import Cli
from serve_helpers import Server

pytestmark = pytest.mark.integration
DECIMAL = pd.ArrowDtype(pa.decimal128(10, 2))


def every_dtype(rows: int, seed: int = 0) -> pd.DataFrame:
    """One column per dtype (nulls where the dtype has them) and a binary target `y` they predict."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    holes = rng.random(rows) < 0.1
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, rows)]
    hours = pd.to_timedelta(np.arange(rows), unit="h")
    frame = pd.DataFrame(
        {
            "i8": rng.integers(-5, 5, rows).astype("int8"),
            "u16": rng.integers(0, 1000, rows).astype("uint16"),
            "nint": pd.array(np.where(holes, None, rng.integers(0, 50, rows)), dtype="Int64"),
            "f32": x.astype("float32"),
            "nfloat": pd.array(np.where(holes, None, rng.normal(size=rows)), dtype="Float64"),
            "flag": rng.random(rows) < 0.3,
            "nflag": pd.array(np.where(holes, None, rng.random(rows) < 0.5), dtype="boolean"),
            "s_py": pd.array(rng.choice(["a", "b", "c"], rows), dtype="string[python]"),
            "s_pa": pd.array(rng.choice(["x", "y", None], rows), dtype="string[pyarrow]"),
            "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], rows)),
            "ts": pd.Timestamp("2025-01-01") + hours,
            "ts_tz": pd.Timestamp("2025-01-01", tz="Europe/Paris") + hours,
            "td": pd.to_timedelta(rng.integers(0, 1000, rows), unit="s"),
            "dec": pd.array(
                [Decimal(f"{v:.2f}") for v in rng.uniform(0, 100, rows)],
                dtype=pd.ArrowDtype(pa.decimal128(10, 2)),
            ),
            "day": pd.array(days, dtype=pd.ArrowDtype(pa.date32())),
            "i64pa": pd.array(rng.integers(0, 10, rows), dtype="int64[pyarrow]"),
            "dpa": pd.array(rng.normal(size=rows), dtype="double[pyarrow]"),
        }
    )
    frame["y"] = ((x + (frame["cat"] == "hi") + rng.normal(scale=0.5, size=rows)) > 0.8).astype(int)
    return frame


def as_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a client sends them: durations in seconds, dates as ISO text, decimals as numbers."""
    out = frame.drop(columns="y").astype(object)
    out["td"] = frame["td"].dt.total_seconds()
    out["dec"] = frame["dec"].astype("float64")
    for column in ("ts", "ts_tz", "day"):
        out[column] = frame[column].map(lambda v: v.isoformat())
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in out.to_dict("records")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("dtypes") / "every")
    cli.project.mkdir()
    every_dtype(600).to_parquet(cli.project / "data.parquet")
    proc = cli("init", "--data", "data.parquet", "--target", "y", check=0)
    assert "The proposal holds: smoke passed" in " ".join(proc.stdout.split())
    cli("run", check=0)
    return cli


def test_init_records_every_dtype_in_the_schema(project: Cli) -> None:
    schema = (project.project / "schema.yaml").read_text()
    for name, family in [("td", "float"), ("dec", "float"), ("day", "datetime"), ("ts_tz", "datetime")]:
        assert f"- name: {name}\n  dtype: {family}\n" in schema


def test_a_clean_batch_passes_and_a_bad_one_fails_naming_its_column(project: Cli, tmp_path: Path) -> None:
    batch = every_dtype(300, seed=1)
    batch.to_parquet(tmp_path / "clean.parquet")
    project("validate", str(tmp_path / "clean.parquet"), check=0)
    batch.assign(i8=batch["i8"].where(batch.index != 3, np.int8(120))).to_parquet(tmp_path / "range.parquet")
    proc = project("validate", str(tmp_path / "range.parquet"), check=1)
    assert "i8" in proc.stdout and "120" in proc.stdout
    batch.astype({"u16": object}).assign(u16=lambda f: f["u16"].where(f.index != 5, "lots")).to_csv(
        tmp_path / "typed.csv", index=False
    )
    proc = project("validate", str(tmp_path / "typed.csv"), check=1)
    assert "u16" in proc.stdout and "lots" in proc.stdout


def test_the_served_model_scores_a_json_row_of_every_dtype(project: Cli) -> None:
    project("promote", "1", "--to", "production", check=0)
    rows = as_json(every_dtype(5, seed=2))
    with Server(project.project) as server:
        response = httpx.post(f"{server.url}/predict", json=rows, timeout=30)
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 5
        wrong = [{**rows[0], "td": "a while"}]
        response = httpx.post(f"{server.url}/predict", json=wrong, timeout=30)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["td"]


def test_drift_between_two_files_of_every_dtype(project: Cli, tmp_path: Path) -> None:
    reference = pd.read_parquet(project.project / "data.parquet")
    reference.sample(300, random_state=0).to_parquet(tmp_path / "same.parquet")
    current = str(tmp_path / "same.parquet")
    proc = project("monitor", "drift", "--reference", "data.parquet", "--current", current, check=0)
    assert "all 17 drift checks passed" in " ".join(proc.stdout.split())


@pytest.mark.parametrize(("rows", "suffix"), [(100, "parquet"), (400, "csv")])
def test_init_holds_on_a_small_file_and_on_csv(tmp_path: Path, rows: int, suffix: str) -> None:
    cli = Cli(tmp_path / "p")
    cli.project.mkdir()
    frame = every_dtype(rows)
    if suffix == "csv":
        frame.to_csv(cli.project / "data.csv", index=False)
    else:
        frame.to_parquet(cli.project / "data.parquet")
    proc = cli("init", "--data", f"data.{suffix}", "--target", "y", check=0)
    assert "The proposal holds: smoke passed" in " ".join(proc.stdout.split())
    assert "- name: td\n  dtype: float\n" in (cli.project / "schema.yaml").read_text()


@pytest.mark.parametrize(
    ("column", "values", "named"),
    [
        ("tags", pa.array([[1, 2], [3]] * 50), "list values"),
        ("address", pa.array([{"city": "Lyon", "zip": 69001}] * 100), "struct values"),
        ("opens", pa.array([dt.time(9, 30)] * 100), "time values"),
    ],
    ids=["list", "struct", "time"],
)
def test_init_refuses_a_column_no_schema_dtype_fits_by_name(
    tmp_path: Path, column: str, values: pa.Array, named: str
) -> None:
    cli = Cli(tmp_path / "p")
    cli.project.mkdir()
    table = pa.table({"x": np.arange(100) % 7, column: values, "y": np.arange(100) % 2})
    pq.write_table(table, cli.project / "data.parquet")
    proc = cli("init", "--data", "data.parquet", "--target", "y", check=2)
    assert f"Column '{column}' holds {named}" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
    assert not (cli.project / "shipyard.yaml").exists()


def test_a_folder_of_partitions_validates_as_the_file_does(project: Cli, tmp_path: Path) -> None:
    # Partitions are read as Arrow, not through `load_frame`: durations, dates and decimals too.
    batch = every_dtype(300, seed=3)
    (tmp_path / "parts").mkdir()
    batch.iloc[:150].to_parquet(tmp_path / "parts" / "a.parquet")
    batch.iloc[150:].to_parquet(tmp_path / "parts" / "b.parquet")
    proc = project("validate", str(tmp_path / "parts"), check=0)
    assert "data checks passed" in proc.stdout and "FAILED" not in proc.stdout
