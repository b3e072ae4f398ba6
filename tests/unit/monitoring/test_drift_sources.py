"""Sources: the prediction log over a time window (DuckDB), Parquet and CSV files, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.data.profile import PREDICTION, build_profile
from shipyard.errors import ConfigError
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.sources import PredictionLogSource, open_source, parse_window, read_labelled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def write_log_part(folder: Path, when: datetime, frame: pd.DataFrame, *, route: str = "production") -> None:
    """One part in the layout serving writes (contract 4): hive `date=`, inputs as `input.<name>`."""
    n = len(frame)
    table = pa.table(
        {
            "request_id": pa.array([f"r{when:%H%M}-{i // 2}" for i in range(n)], pa.string()),
            "row": pa.array([i % 2 for i in range(n)], pa.int32()),
            "ts": pa.array([when] * n, pa.timestamp("us", tz="UTC")),
            "model_version": pa.array(["1"] * n),
            "route": pa.array([route] * n),
            "status": pa.array(["ok"] * n),
            "latency_ms": pa.array(np.ones(n)),
            "prediction": pa.array((frame["score"] > 0.5).astype(int).astype(str)),
            "score": pa.array(frame["score"].to_numpy()),
            "proba_0": pa.array(1 - frame["score"].to_numpy()),
            "proba_1": pa.array(frame["score"].to_numpy()),
            **{f"input.{c}": pa.Array.from_pandas(frame[c]) for c in frame.columns if c != "score"},
        }
    )
    part = folder / f"date={when:%Y-%m-%d}" / f"part-{int(when.timestamp() * 1000)}-{route[:8]:0<8}.parquet"
    part.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, part)


def _rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"x": rng.normal(shift, 1, n), "c": rng.choice(["a", "b"], n), "score": rng.beta(2, 5 - 2 * shift, n)}
    )


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("log") / "predictions"
    rng = np.random.default_rng(0)
    write_log_part(folder, NOW - timedelta(days=10), _rows(rng, 400, shift=1.0))  # outside a 7d window
    write_log_part(folder, NOW - timedelta(days=2), _rows(rng, 400))
    write_log_part(folder, NOW - timedelta(hours=3), _rows(rng, 400))
    write_log_part(folder, NOW - timedelta(hours=3), _rows(rng, 400, shift=1.0), route="shadow")
    return folder


def test_window_selects_production_rows_and_renames_inputs(log: Path) -> None:
    source = PredictionLogSource.last(log, "7d", now=NOW)
    assert source.schema.names == ["x", "c", PREDICTION]
    rows = sum(b.num_rows for b in source.batches(["x", PREDICTION], batch_rows=300))
    assert rows == 800
    assert len(source.column("c")) == 800
    assert len(PredictionLogSource.last(log, "30d", now=NOW).column("x")) == 1200


def test_drift_against_the_log_in_bounded_batches(log: Path) -> None:
    rng = np.random.default_rng(1)
    reference = _rows(rng, 2000)
    profile = build_profile(reference.drop(columns="score"), scores=reference["score"].to_numpy())
    stable = detect_drift(profile, PredictionLogSource.last(log, "7d", now=NOW), batch_rows=256)
    assert stable.current_rows == 800 and not stable.drifted
    assert {f.name for f in stable.features} == {"x", "c", PREDICTION}
    shifted = detect_drift(profile, PredictionLogSource.last(log, "30d", now=NOW))
    assert {f.name for f in shifted.features if f.drifted} == {"x", PREDICTION}


def test_missing_or_empty_log_is_an_empty_source(tmp_path: Path) -> None:
    source = PredictionLogSource.last(tmp_path / "nothing", "7d", now=NOW)
    assert not source.has_files and source.schema.names == []
    assert list(source.batches(["x"])) == []
    report = detect_drift(build_profile(pd.DataFrame({"x": [1.0, 2.0]})), source)
    assert report.empty and report.features[0].status == "missing"


def test_read_labelled_joins_feedback(log: Path, tmp_path: Path) -> None:
    feedback = tmp_path / "feedback"
    labels = pa.table(
        {
            "request_id": pa.array([f"r{(NOW - timedelta(hours=3)):%H%M}-{i}" for i in range(50)]),
            "row": pa.array([0] * 50, pa.int32()),
            "label": pa.array(["1"] * 50),
            "ts": pa.array([NOW] * 50, pa.timestamp("us", tz="UTC")),
        }
    )
    (feedback / f"date={NOW:%Y-%m-%d}").mkdir(parents=True)
    pq.write_table(labels, feedback / f"date={NOW:%Y-%m-%d}" / "part-1-abcdefgh.parquet")
    frame = read_labelled(log, feedback, NOW - timedelta(days=7), NOW)
    assert len(frame) == 50
    assert {"ts", "prediction", "label", "score", "proba_0", "proba_1"} <= set(frame.columns)
    assert not any(c.startswith("input.") for c in frame.columns)
    assert read_labelled(log, tmp_path / "none", NOW - timedelta(days=7), NOW).empty


def test_files_open_as_sources(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    for name in ("f.parquet", "f.csv"):
        source = open_source(tmp_path / name)
        assert source.schema.names == ["x", "c"]
        assert sum(b.num_rows for b in source.batches(["x"], batch_rows=2)) == 3
    with pytest.raises(ConfigError, match="No data at"):
        open_source(tmp_path / "missing.parquet")


@pytest.mark.parametrize(("text", "expected"), [("30m", timedelta(minutes=30)), ("7d", timedelta(days=7))])
def test_parse_window(text: str, expected: timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["7", "0d", "1y", "d7"])
def test_bad_windows_are_named(text: str) -> None:
    with pytest.raises(ConfigError, match=f"Got '{text}' instead"):
        parse_window(text)
