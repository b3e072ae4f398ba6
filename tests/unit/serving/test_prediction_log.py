"""The prediction log: a fixed schema whatever the requests held, a write-ahead file, quarantine,
recovery after a crash, and the server's own counters."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from serving_fixtures import SCHEMA

from shipyard.serving import predlog as P
from shipyard.serving.counters import ServerCounters, read_counters
from shipyard.serving.logtable import LogSchema
from shipyard.serving.prediction_log import SegmentLog
from shipyard.serving.wal import encode

JUNK = ["2026-W01-1", "2026-001", "abc", "", "1e5", None, 1e308, -(2**63), 2**63 - 1, True, 3, 2.5,
        [1, 2], {"a": 1}, "2026-11-01T10:00:00Z", "2026-11-01"]  # fmt: skip


def record(version: str = "1", n: int = 2, *, ok: bool = True, inputs: dict[str, list[Any]] | None = None,
           request_id: str = "r") -> dict[str, Any]:  # fmt: skip
    inputs = inputs or {"x1": [0.5] * n, "x2": [None] * n, "n": [3] * n, "color": ["g"] * n,
                        "when": ["2026-11-01T10:00:00"] * n}  # fmt: skip
    return {
        "version": version, "route": "production", "status": "ok" if ok else "error",
        "error": None if ok else "RuntimeError: boom", "latency_ms": 2.0, "batch_rows": n,
        "requests": [[request_id, n, 1_790_000_000.5]], "inputs": inputs,
        "prediction": ["1"] * n if ok else None, "score": [0.7] * n if ok else None,
        "proba": {"0": [0.3] * n, "1": [0.7] * n} if ok else None,
    }  # fmt: skip


def expected_inputs() -> dict[str, pa.DataType]:
    return {"input.x1": pa.float64(), "input.x2": pa.float64(), "input.n": pa.int64(),
            "input.color": pa.string(), "input.when": pa.timestamp("us")}  # fmt: skip


def test_input_columns_take_the_schema_types_and_misfits_go_to_input_raw() -> None:
    junk = {"x1": ["1.5", 2], "x2": [None, True], "n": [2**70, 4.0], "color": [3, "g"],
            "when": ["2026-W01-1", "2026-11-01T10:00:00+02:00"], "extra": ["k", None]}  # fmt: skip
    table = LogSchema(SCHEMA).to_table([record(ok=False, inputs=junk), record()])
    assert {n: table.schema.field(n).type for n in expected_inputs()} == expected_inputs()
    rows = table.to_pylist()
    assert len(rows) == 4
    assert [json.loads(r[P.INPUT_RAW]) if r[P.INPUT_RAW] else None for r in rows] == [
        {"x1": "1.5", "n": 2**70, "color": 3, "when": "2026-W01-1", "extra": "k"},
        {"x2": True},
        None,
        None,
    ]
    assert rows[1]["input.x1"] == 2.0 and rows[1]["input.n"] == 4 and rows[1]["input.color"] == "g"
    assert rows[1]["input.when"].hour == 8  # UTC wall time
    assert [r[P.STATUS] for r in rows] == ["error", "error", "ok", "ok"]
    assert rows[0][P.SCORE] is None and rows[2][P.SCORE] == 0.7 and rows[0]["proba_1"] is None


@pytest.mark.parametrize("seed", range(5))
def test_fuzzed_records_always_give_the_same_schema_and_every_row(seed: int) -> None:
    rng = random.Random(seed)
    layout = LogSchema(SCHEMA)
    reference = layout.to_table([record()]).schema
    records = []
    for i in range(40):
        n = rng.randint(1, 4)
        inputs = {name: [rng.choice(JUNK) for _ in range(n)] for name in ("x1", "x2", "n", "color", "when")}
        records.append(
            orjson.loads(encode(record(n=n, ok=rng.random() < 0.5, inputs=inputs, request_id=f"{i}")))
        )
    for chunk in (records[:1], records[:7], records):
        table = layout.to_table(chunk)
        assert table.schema == reference
        assert table.num_rows == sum(r["requests"][0][1] for r in chunk)


def test_without_a_schema_each_column_keeps_the_type_it_was_first_seen_with() -> None:
    layout = LogSchema(None)
    first = layout.to_table([record(inputs={"a": [1, 2], "b": ["x", "y"]})])
    second = layout.to_table([record(inputs={"a": ["text", 3.5], "b": [1, "z"]})])
    assert first.schema == second.schema
    assert second.column("input.a").to_pylist() == [None, 3.5]
    assert second.column(P.INPUT_RAW).to_pylist() == ['{"a":"text","b":1}', None]


def logged(folder: Path) -> pa.Table:
    return ds.dataset(folder, partitioning="hive").to_table()


def test_append_then_close_writes_every_row_and_the_counters(tmp_path: Path) -> None:
    counters = ServerCounters(tmp_path, server_id="s1")
    log = SegmentLog(tmp_path, LogSchema(SCHEMA), counters, flush_interval_s=60)
    for i in range(10):
        log.append(record(version=str(1 + i % 2), request_id=f"r{i}"))
    log.close()
    assert logged(tmp_path).num_rows == 20
    assert not (tmp_path / P.WAL_DIR / "s1").exists()
    totals = read_counters(tmp_path)
    assert {v: c.rows_logged for v, c in totals.items()} == {"1": 10, "2": 10}
    assert log.describe()["written_rows"] == 20 and log.describe()["lost_rows"] == 0


def test_a_part_that_cannot_be_written_is_quarantined_and_counted(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("shipyard.serving.prediction_log.RETRY_DELAYS_S", (0.0,))
    counters = ServerCounters(tmp_path, server_id="s1")
    log = SegmentLog(tmp_path, LogSchema(SCHEMA), counters, flush_interval_s=60)
    log.append(record(n=3))
    # A file where the day's partition folder should be: every Parquet write fails.
    for day in ("date=" + d for d in {_day()}):
        (tmp_path / day).write_text("not a folder")
    log.close()
    quarantined = list((tmp_path / P.QUARANTINE_DIR).glob("part-*.jsonl"))
    assert len(quarantined) == 1 and len(quarantined[0].read_bytes().splitlines()) == 1
    counts = read_counters(tmp_path)["1"]
    assert (counts.rows_logged, counts.rows_quarantined, counts.rows_lost) == (0, 3, 0)


def _day() -> str:
    from datetime import UTC, datetime

    return f"{datetime.now(UTC):%Y-%m-%d}"


def test_segments_of_a_dead_server_are_recovered_once(tmp_path: Path) -> None:
    dead = tmp_path / P.WAL_DIR / "dead-server"
    dead.mkdir(parents=True)
    segment = dead / "part-1790000000000-abcdef12.jsonl"
    segment.write_bytes(encode(record(n=2)) + encode(record(n=3)) + b'{"torn": ')
    counters = ServerCounters(tmp_path, server_id="s2")
    log = SegmentLog(tmp_path, LogSchema(SCHEMA), counters)
    log.close()
    assert log.recovered_rows == 5 and logged(tmp_path).num_rows == 5
    assert not dead.exists()
    # The part already exists: a segment left behind again is deleted, never written twice.
    dead.mkdir()
    segment.write_bytes(encode(record(n=2)) + encode(record(n=3)))
    SegmentLog(tmp_path, LogSchema(SCHEMA), ServerCounters(tmp_path, server_id="s3")).close()
    assert logged(tmp_path).num_rows == 5 and not segment.exists()


def test_a_live_server_keeps_its_own_segments(tmp_path: Path) -> None:
    first = SegmentLog(
        tmp_path, LogSchema(SCHEMA), ServerCounters(tmp_path, server_id="a"), flush_interval_s=60
    )
    first.append(record())
    second = SegmentLog(tmp_path, LogSchema(SCHEMA), ServerCounters(tmp_path, server_id="b"))
    second.close()
    assert second.recovered_rows == 0 and list((tmp_path / P.WAL_DIR / "a").glob("*.jsonl"))
    first.close()
    assert logged(tmp_path).num_rows == 2


def test_an_append_that_cannot_be_written_is_counted_as_lost(tmp_path: Path) -> None:
    counters = ServerCounters(tmp_path, server_id="s1")
    log = SegmentLog(tmp_path, LogSchema(SCHEMA), counters, flush_interval_s=60)
    log.close()
    log.append(record(n=4))
    assert read_counters(tmp_path) == {} and counters.snapshot()["1"].rows_lost == 4


def test_read_counters_sums_every_server_and_skips_broken_files(tmp_path: Path) -> None:
    for server, errors in (("a", 1), ("b", 2)):
        counters = ServerCounters(tmp_path, server_id=server)
        counters.add("7", requests=10, errors=errors, rows_scored=9, rows_logged=9)
        assert counters.write()
    (tmp_path / "_counters" / "c.json").write_text("{half")
    written = json.loads((tmp_path / "_counters" / "a.json").read_text())
    assert set(written) == {"server_id", "started_at", "updated_at", "versions"}
    totals = read_counters(tmp_path)["7"]
    assert (totals.requests, totals.errors, totals.rows_scored, totals.rows_logged) == (20, 3, 18, 18)
    assert not [p for p in os.listdir(tmp_path / "_counters") if p.endswith(".tmp")]


def test_the_server_logs_ok_and_error_rows_together_and_reports_the_counts(tmp_path: Path) -> None:
    from serving_fixtures import make_state, model_set, run_app
    from serving_fixtures import record as request_row

    state = make_state(tmp_path, model_set())

    async def scenario(client) -> tuple[list[int], dict[str, Any], str]:
        codes = []
        for i in range(6):
            rows = [request_row(i), request_row(i + 1)]
            if i == 2:
                rows[0]["when"] = "2026-W01-1"  # passes a lenient check, fails the model's parsing
            codes.append((await client.post("/predict", json=rows)).status_code)
        described = (await client.get("/v1/models")).json()["prediction_log"]
        state.predictions.flush()
        return codes, described, (await client.get("/metrics")).text

    codes, described, metrics = run_app(state, scenario)
    assert codes.count(200) >= 5 and set(codes) <= {200, 422, 500}
    table = logged(predlog_dir := tmp_path / P.PREDICTIONS_DIR)
    assert table.num_rows == 2 * (codes.count(200) + codes.count(500))
    assert set(described) >= {"written_rows", "quarantined_rows", "lost_rows", "recovered_rows"}
    assert 'shipyard_prediction_log_rows_total{model_version="1",outcome="lost"} 0.0' in metrics
    assert f'outcome="logged"}} {float(table.num_rows)}' in metrics
    counts = read_counters(predlog_dir)["1"]
    assert counts.requests == codes.count(200) + codes.count(500) and counts.errors == codes.count(500)
    assert counts.rows_logged == table.num_rows and set(table.column(P.BATCH_ROWS).to_pylist()) == {2}
