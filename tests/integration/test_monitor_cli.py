"""`shipyard monitor drift` and `monitor performance` through the real CLI, on a registered model
with its stored profile and a prediction/feedback log laid out as the server writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import Cli, write_tiny_project

CONCEPT = """\
evaluation: {latency_samples: 10, warmup: 0}
monitoring:
  concept: {window: 100, max_metric_drop: 0.1}
"""
NOW = datetime.now(UTC)


def _write_part(root: Path, folder: str, when: datetime, columns: dict[str, pa.Array]) -> None:
    part = (
        root
        / ".shipyard"
        / folder
        / f"date={when:%Y-%m-%d}"
        / f"part-{int(when.timestamp() * 1000)}-0a1b2c3d.parquet"
    )
    part.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), part)


def write_predictions(root: Path, when: datetime, rows: pd.DataFrame, prefix: str) -> list[str]:
    """Contract 4: the trained model's outputs, one row per scored input row; returns the labels."""
    from shipyard.training.packaging import load_servable

    n = len(rows)
    model = next((root / ".shipyard" / "cache" / "train").glob("*/model"))
    outputs = load_servable(model).outputs(rows)
    score, labels = outputs.y_score[:, 1], outputs.y_pred.astype(str)
    _write_part(
        root,
        "predictions",
        when,
        {
            "request_id": pa.array([f"{prefix}{i}" for i in range(n)]),
            "row": pa.array(np.zeros(n, dtype=np.int32)),
            "ts": pa.array([when + timedelta(seconds=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
            "model_version": pa.array(["1"] * n),
            "route": pa.array(["production"] * n),
            "status": pa.array(["ok"] * n),
            "latency_ms": pa.array(np.ones(n)),
            "prediction": pa.array(labels),
            "score": pa.array(score),
            "proba_0": pa.array(1 - score),
            "proba_1": pa.array(score),
            "input.x1": pa.array(rows["x1"].to_numpy()),
            "input.x2": pa.array(rows["x2"].to_numpy()),
            "input.color": pa.array(rows["color"].to_numpy()),
        },
    )
    return list(labels)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A registered production model, a stable recent log and a shifted log 10 days old."""
    cli = Cli(write_tiny_project(tmp_path_factory.mktemp("monitor") / "tiny", extra_yaml=CONCEPT))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    data = pd.read_csv(cli.project / "data.csv")
    recent = NOW - timedelta(hours=2)
    predicted = write_predictions(cli.project, recent, data, "r")
    shifted = data.assign(x1=data["x1"] + 2.0, x2=data["x2"] - 2.0, color="blue")
    write_predictions(cli.project, NOW - timedelta(days=10), shifted, "old")
    # feedback: right for the first 200 labelled predictions, then always wrong
    truth = [p if i < 200 else ("0" if p == "1" else "1") for i, p in enumerate(predicted)]
    _write_part(
        cli.project,
        "feedback",
        NOW - timedelta(hours=1),
        {
            "request_id": pa.array([f"r{i}" for i in range(len(truth))]),
            "row": pa.array(np.zeros(len(truth), dtype=np.int32)),
            "label": pa.array(truth),
            "ts": pa.array([NOW - timedelta(hours=1)] * len(truth), pa.timestamp("us", tz="UTC")),
        },
    )
    return cli


def test_recent_traffic_matches_the_stored_profile(served: Cli) -> None:
    proc = served("monitor", "drift", check=0)
    assert "0 of 3 columns drifted" in proc.stdout
    report = json.loads((served.project / ".shipyard" / "monitoring" / "drift.json").read_text())
    names = {f["name"] for f in report["features"]}
    assert names == {"x1", "x2", "color", "prediction"}  # the target is not profiled
    assert report["summary"]["current_rows"] == 400 and report["summary"]["exact"] is False
    html = (served.project / ".shipyard" / "monitoring" / "drift.html").read_text()
    assert html.count("<svg") == 4


def test_a_shifted_window_fails_with_every_drifted_column_named(served: Cli, tmp_path: Path) -> None:
    args = ("--window", "30d", "--version", "1", "--json", str(tmp_path / "d.json"))
    proc = served("monitor", "drift", *args, check=1)
    assert "Check failed (drift checks)" in proc.stderr
    assert "dataset drift" in proc.stderr
    summary = json.loads((tmp_path / "d.json").read_text())["summary"]
    assert set(summary["columns_drifted"]) == {"x1", "x2", "color"}
    assert summary["prediction_drift"]


def test_exact_statistics_from_two_files(served: Cli, tmp_path: Path) -> None:
    data = pd.read_csv(served.project / "data.csv")
    data.drop(columns="label").assign(x1=lambda f: f.x1 * 3).to_parquet(tmp_path / "cur.parquet")
    current, html = str(tmp_path / "cur.parquet"), str(tmp_path / "r.html")
    proc = served(
        "monitor", "drift", "--reference", "data.csv", "--current", current, "--html", html, check=1
    )
    assert "1 of 3 columns drifted" in proc.stdout and "x1" in proc.stdout
    assert "x1 drifted" in proc.stderr  # one drifted column fails the check (fail_on: column)
    assert "exact (reference data)" in (tmp_path / "r.html").read_text()


def test_nothing_to_compare_is_a_usage_error(served: Cli, tmp_path: Path) -> None:
    proc = served("monitor", "drift", "--window", "1m", check=2)
    assert "No rows to compare" in proc.stderr and "--window" in proc.stderr
    empty = Cli(write_tiny_project(tmp_path / "empty"))
    proc = empty("monitor", "drift", "--reference", "data.csv", check=2)
    assert "holds no predictions yet" in proc.stderr


def test_too_few_rows_is_its_own_verdict_with_exit_2(served: Cli, tmp_path: Path) -> None:
    data = pd.read_csv(served.project / "data.csv").drop(columns="label")
    data.head(40).assign(x1=lambda f: f.x1 + 5.0).to_parquet(tmp_path / "few.parquet")
    out = tmp_path / "few.json"
    proc = served("monitor", "drift", "--current", str(tmp_path / "few.parquet"), "--json", str(out), check=2)
    assert "Too few rows" in proc.stdout and "monitoring.min_rows = 100" in proc.stdout
    summary = json.loads(out.read_text())["summary"]
    assert summary["verdict"] == "too_few_rows" and summary["columns_drifted"] == []


def test_performance_alerts_when_labels_disagree(served: Cli, tmp_path: Path) -> None:
    proc = served("monitor", "performance", "--json", str(tmp_path / "p.json"), check=1)
    assert "ALERT" in proc.stdout and "Check failed (performance checks)" in proc.stderr
    payload = json.loads((tmp_path / "p.json").read_text())
    assert payload["rows"] == 400
    detectors = {a["detector"] for a in payload["alerts"]}
    assert {"adwin", "page_hinkley", "rolling_accuracy"} <= detectors
    assert all(a["index"] >= 200 for a in payload["alerts"]), "no alert while labels agree"
    assert served("monitor", "performance", "--window", "1m", check=2).returncode == 2


@pytest.mark.parametrize(
    ("trigger", "window", "fired"),
    [
        ("on_degradation", None, "degradation"),  # labels disagree after row 200
        ("on_drift", None, None),  # the last 7 days look like training
        ("on_drift", "30d", "drift"),  # the window reaches the shifted traffic
    ],
)
def test_each_live_trigger_fires_alone_on_the_logs(
    served: Cli, trigger: str, window: str | None, fired: str | None
) -> None:
    path = served.project / "shipyard.yaml"
    original = path.read_text()
    policy = original + f"retrain: {{{trigger}: true}}\n"
    if window:
        policy = policy.replace("monitoring:\n", f"monitoring:\n  window: {window}\n")
    path.write_text(policy)
    try:
        proc = served("retrain", "--if-needed", "--json", check=0)
    finally:
        path.write_text(original)
    decision = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [t["trigger"] for t in decision["triggers"] if t["fired"]] == ([fired] if fired else [])
    # the same data and code are cached: a fired trigger retrains, but nothing new is built
    assert decision["outcome"] == ("unchanged" if fired else "skipped")
