"""Batches through the real CLI: a held-out 20 % of the same source passes, seeded faults fail.

The project's data is Parquet written by pyarrow with every dtype a user's file can
hold (category, nullable Int64/Float64/boolean, string[pyarrow], a tz-aware
timestamp, ISO dates as text, a `year`, decimal128), so inference, validation,
training, packaging and the smoke load-back all see them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from cli_helpers import Cli, write_tiny_project

MODEL = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression


def features(df):
    return pd.DataFrame(
        {
            "x1": df.x1.astype("float64"),
            "x2": df.x2.astype("Float64").fillna(0).astype("float64"),
            "n": df.n.astype("Float64").fillna(0).astype("float64"),
            "price": df.price.astype("float64"),
            "g": (df.color.astype(str) == "g").astype(int),
            "flag": df.flag.astype("boolean").fillna(False).astype(int),
        }
    )


def train(X, y, params):
    return LogisticRegression().fit(X, y)
"""


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    n = pd.array(rng.integers(0, 50, rows), dtype="Int64")
    n[rng.random(rows) < 0.02] = pd.NA
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": pd.array(x2, dtype="Float64"),
            "n": n,
            "flag": pd.array(rng.random(rows) < 0.3, dtype="boolean"),
            "color": pd.Categorical(rng.choice(["r", "g"], rows)),
            "city": pd.array(rng.choice(["paris", "rome", "oslo"], rows), dtype="string[pyarrow]"),
            "day": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, rows), unit="D")
            ).strftime("%Y-%m-%d"),
            "year": rng.integers(2015, 2024, rows),
            "label": (x1 + 0.5 * x2 + rng.normal(scale=0.5, size=rows) > 0).astype(int),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    prices = pa.array([Decimal(f"{v:.2f}") for v in rng.gamma(2, 20, rows)], type=pa.decimal128(10, 2))
    seconds = np.datetime64("2024-01-01T00:00:00", "us") + rng.integers(0, 86400 * 60, rows) * np.timedelta64(
        1, "s"
    )
    when = pa.array(seconds).cast(pa.timestamp("us", tz="UTC"))
    return table.append_column("price", prices).append_column("when", when)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = write_tiny_project(tmp_path_factory.mktemp("dtypes") / "p", model_py=MODEL)
    table = _table(1_000, seed=3)
    pq.write_table(table.slice(0, 800), root / "data.parquet")
    pq.write_table(table.slice(800), root / "batch.parquet")
    pq.write_table(table.slice(0, 200), root / "sample.parquet")
    for name in ("data.csv", "sample.csv"):
        (root / name).unlink()
    policy = yaml.safe_load((root / "shipyard.yaml").read_text())
    policy["data"].update(source="data.parquet", sample="sample.parquet", min_rows=80)
    (root / "shipyard.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    cli = Cli(root)
    cli("schema", "infer", check=0)
    return cli


def test_schema_records_every_dtype(project: Cli) -> None:
    columns = {c["name"]: c for c in yaml.safe_load((project.project / "schema.yaml").read_text())["columns"]}
    assert {name: c["dtype"] for name, c in columns.items()} == {
        "x1": "float",
        "x2": "float",
        "n": "int",
        "flag": "bool",
        "color": "category",
        "city": "string",
        "day": "datetime",
        "year": "int",
        "label": "int",
        "price": "float",
        "when": "datetime",
    }
    assert 0 < columns["x1"]["max_null_fraction"] < 0.02
    assert columns["x1"]["observed_maximum"] < columns["x1"]["maximum"]


def test_a_held_out_batch_passes_validate_run_and_smoke(project: Cli) -> None:
    validated = project("validate", str(project.project / "batch.parquet"), check=0)
    assert "data checks passed" in validated.stdout
    ran = project("run", "--data", str(project.project / "batch.parquet"), check=0)
    assert "approved" in ran.stdout
    smoked = project("smoke", check=0)
    assert "Smoke passed" in smoked.stdout


@pytest.mark.parametrize(
    ("column", "fault"),
    [
        ("x1", lambda df: df.assign(x1=df.x1.where(df.index % 8 != 0))),  # 12.5 % nulls
        ("price", lambda df: df.assign(price=df.price * Decimal(1000))),  # a unit change
        ("city", lambda df: df.assign(city=df.city.where(df.index % 3 != 0, "atlantis"))),
        ("n", lambda df: df.assign(n=df.n.astype("Float64") + 0.5)),  # a type change
    ],
)
def test_seeded_faults_exit_1_naming_the_column(project: Cli, column: str, fault) -> None:
    batch = pd.read_parquet(project.project / "batch.parquet")
    path = project.project / f"fault_{column}.parquet"
    fault(batch).to_parquet(path)
    proc = project("validate", str(path), check=1)
    failed = [line for line in proc.stdout.splitlines() if "FAIL" in line]
    assert any(f"'{column}'" in line or f" {column} " in line for line in failed), proc.stdout
    assert "schema infer --data <reference>" in proc.stdout.replace("\n", " ").replace("│", "")


def test_run_on_a_faulty_batch_exits_1_before_training(project: Cli) -> None:
    batch = pd.read_parquet(project.project / "batch.parquet")
    path = project.project / "fault_run.parquet"
    batch.assign(x2=batch.x2.where(batch.index % 5 != 0)).to_parquet(path)
    proc = project("run", "--data", str(path), check=1)
    assert "x2" in proc.stdout + proc.stderr and "approved" not in proc.stdout


def _partitions(frame: pd.DataFrame, folder: Path, parts: int = 4) -> Path:
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.mark.parametrize(
    ("name", "fault", "executor"),
    [
        ("clean", lambda df: df, "local"),
        ("nulls", lambda df: df.assign(x1=df.x1.where(df.index % 8 != 0)), "local"),
        ("city", lambda df: df.assign(city=df.city.where(df.index % 3 != 0, "atlantis")), "local"),
        ("repeats", lambda df: pd.concat([df, df.iloc[:30]], ignore_index=True), "ray"),
    ],
)
def test_a_folder_of_partitions_gets_the_report_of_one_file(
    project: Cli, name: str, fault, executor: str
) -> None:
    batch = fault(pd.read_parquet(project.project / "batch.parquet"))
    single = project.project / f"batch_{name}.parquet"
    batch.to_parquet(single, index=False)
    folder = _partitions(batch, project.project / f"parts_{name}")
    code = 0 if name == "clean" else 1
    one = project("validate", str(single), check=code)
    parted = project("validate", str(folder), "--executor", executor, check=code)
    assert parted.stdout == one.stdout  # the same rows, messages and examples
    assert ("FAIL" in parted.stdout) is (code == 1)


def test_an_unknown_executor_is_a_usage_error(project: Cli) -> None:
    folder = _partitions(pd.read_parquet(project.project / "batch.parquet"), project.project / "parts_spark")
    proc = project("validate", str(folder), "--executor", "spark", check=2)
    assert "The executor must be one of local, ray. Got 'spark'" in proc.stderr
