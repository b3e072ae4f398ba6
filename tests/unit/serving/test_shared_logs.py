"""The logs through an object store: each server uploads its own partition, a reader sees every
partition, and an upload that fails keeps the rows for a later round. Also the feedback log,
which the same writer writes, and the paths of the embedded layout."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from serving_fixtures import SCHEMA
from test_prediction_log import record

from shipyard.errors import ConfigError
from shipyard.serving import predlog as P
from shipyard.serving.counters import ServerCounters, read_counters
from shipyard.serving.logtable import FeedbackLayout, LogSchema
from shipyard.serving.part_upload import OUTBOX
from shipyard.serving.prediction_log import SegmentLog
from shipyard.workspace.logs import LogLocation
from shipyard.workspace.objects import FolderStore


def shared(machine: Path, store: FolderStore) -> LogLocation:
    """One clone's view of the shared logs: its own folder, the store, its own mirror."""
    return LogLocation(machine / ".shipyard", store, "logs/m", machine / "mirror")


def serve(
    location: LogLocation, server_id: str, requests: int, uploads: list[bool] | None = None
) -> SegmentLog:
    """A server's prediction log that has answered `requests` requests of 2 rows."""
    counters = ServerCounters(location.folder(P.PREDICTIONS_DIR), server_id=server_id)
    log = SegmentLog(
        location.folder(P.PREDICTIONS_DIR),
        LogSchema(SCHEMA),
        counters,
        flush_interval_s=60,
        shared=location,
        on_upload=None if uploads is None else uploads.append,
    )
    for i in range(requests):
        log.append(record(request_id=f"{server_id}-{i}"))
    return log


def rows(folder: Path) -> list[dict]:
    return ds.dataset(folder, partitioning="hive").to_table(columns=[P.REQUEST_ID, "server"]).to_pylist()


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shipyard.serving.part_upload.RETRY_DELAYS_S", (0.0,))


def test_two_servers_write_their_own_partitions_and_a_reader_elsewhere_sees_both(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "bucket")
    first, second = (
        serve(shared(tmp_path / "a", store), "s1", 3),
        serve(shared(tmp_path / "b", store), "s2", 2),
    )
    first.close()
    second.close()
    keys = store.list("logs/m/predictions")
    assert {k.split("/")[3] for k in keys if k.endswith(".parquet")} == {"server=s1", "server=s2"}
    assert "logs/m/predictions/_counters/s1.json" in keys
    assert not list((tmp_path / "a" / ".shipyard").rglob("*.parquet"))  # uploaded, then removed locally
    reader = shared(tmp_path / "c", store)
    seen = rows(reader.readable(P.PREDICTIONS_DIR))
    assert len(seen) == 10 and {r["server"] for r in seen} == {"s1", "s2"}
    counts = read_counters(reader.readable(P.PREDICTIONS_DIR))["1"]
    assert (counts.rows_logged, counts.rows_lost) == (10, 0)
    third = serve(shared(tmp_path / "a", store), "s3", 1)
    third.close()
    assert len(rows(reader.readable(P.PREDICTIONS_DIR))) == 12  # new parts are fetched, old ones kept


def test_an_upload_that_fails_keeps_the_rows_and_a_later_round_uploads_them(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.write_text("a file where the store's folder should be: every put fails")
    location = shared(tmp_path / "a", FolderStore(bucket))
    uploads: list[bool] = []
    log = serve(location, "s1", 4, uploads)
    log.flush()
    assert uploads == [False]  # what the server's metrics count
    described = log.describe()
    assert (described["written_rows"], described["pending_parts"]) == (8, 1)
    assert described["failed_uploads"] >= 1 and described["uploaded_parts"] == 0
    bucket.unlink()  # the store is back
    log.append(record(request_id="later"))
    log.close()
    assert log.describe()["uploaded_parts"] == 2 and uploads == [False, True, True]
    reader = shared(tmp_path / "c", FolderStore(bucket))
    assert len(rows(reader.readable(P.PREDICTIONS_DIR))) == 10


def test_parts_a_stopped_server_could_not_upload_are_uploaded_by_the_next_one(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.write_text("store down")
    location = shared(tmp_path / "a", FolderStore(bucket))
    serve(location, "s1", 2).close()
    outbox = location.folder(P.PREDICTIONS_DIR) / P.WAL_DIR / "s1" / OUTBOX
    assert len(list(outbox.rglob("*.parquet"))) == 1  # kept through the stop
    bucket.unlink()
    serve(location, "s2", 0).close()
    assert not outbox.parent.exists()
    assert {
        r["server"] for r in rows(shared(tmp_path / "c", FolderStore(bucket)).readable("predictions"))
    } == {"s1"}


def test_without_a_store_the_log_stays_in_the_embedded_layout(tmp_path: Path) -> None:
    location = LogLocation(tmp_path / ".shipyard")
    serve(location, "s1", 2).close()
    parts = list(location.folder(P.PREDICTIONS_DIR).glob("date=*/part-*.parquet"))
    assert len(parts) == 1 and location.readable(P.PREDICTIONS_DIR) == location.folder(P.PREDICTIONS_DIR)


def test_feedback_is_written_by_the_same_writer_and_kept_when_it_cannot_be(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("shipyard.serving.prediction_log.RETRY_DELAYS_S", (0.0,))
    folder = tmp_path / P.FEEDBACK_DIR
    log = SegmentLog(folder, FeedbackLayout(), ServerCounters(None, server_id="s1"), flush_interval_s=60)
    log.append({"ts": 1_790_000_000.0, "labels": [["r1", 0, "1"], ["r1", 1, "0"]]})
    log.flush()
    table = ds.dataset(folder, partitioning="hive").to_table()
    assert table.select([P.REQUEST_ID, P.ROW, P.LABEL]).to_pylist() == [
        {"request_id": "r1", "row": 0, "label": "1"},
        {"request_id": "r1", "row": 1, "label": "0"},
    ]
    day = folder / f"date={datetime.now(UTC):%Y-%m-%d}"  # parts go to the day their segment began
    shutil.rmtree(day)
    day.write_text("a file where the partition should be")
    log.append({"ts": 1_790_000_000.0, "labels": [["r2", 0, "1"]]})
    log.close()
    assert log.describe()["quarantined_rows"] == 1
    assert len(list((folder / P.QUARANTINE_DIR).glob("part-*.jsonl"))) == 1


def test_paths_follow_the_contract(tmp_path: Path) -> None:
    location = LogLocation(tmp_path)
    assert location.folder(P.PREDICTIONS_DIR) == tmp_path / "predictions"
    assert location.folder(P.FEEDBACK_DIR) == tmp_path / "feedback"
    name = P.part_path(tmp_path).name
    assert name.startswith("part-") and name.endswith(".parquet") and len(name.split("-")[2]) == 16


def test_the_mirror_keeps_the_retention_or_what_a_reader_asks_and_never_the_servers_parts(
    tmp_path: Path,
) -> None:
    store = FolderStore(tmp_path / "bucket")
    serve(shared(tmp_path / "a", store), "s1", 2).close()  # a part of today, uploaded
    old_day = datetime.now(UTC) - timedelta(days=40)
    key = f"logs/m/predictions/server=s1/date={old_day:%Y-%m-%d}/part-1.parquet"
    (tmp_path / "bucket" / key).parent.mkdir(parents=True)
    shutil.copyfile(next((tmp_path / "bucket").rglob("part-*.parquet")), tmp_path / "bucket" / key)
    machine = tmp_path / "b" / ".shipyard"  # a server and a reader on one machine, as Workspace lays them
    reader = LogLocation(machine, store, "logs/m", machine / "logs-cache" / "m", retention_days=7)
    bucket = tmp_path / "bucket-down"
    bucket.write_text("store down: this server's part stays local")
    server = serve(LogLocation(machine, FolderStore(bucket), "logs/m"), "s2", 1)
    server.flush()
    old_local = machine / P.PREDICTIONS_DIR / f"date={old_day:%Y-%m-%d}" / "part-9.parquet"
    old_local.parent.mkdir(parents=True)
    old_local.write_bytes(b"a server's own part, older than the retention")
    unuploaded = sorted(machine.joinpath(P.PREDICTIONS_DIR).rglob("*.parquet"))

    assert len(rows(reader.readable(P.PREDICTIONS_DIR))) == 4  # today's part only
    since = datetime.now(UTC) - timedelta(days=45)
    assert len(rows(reader.readable(P.PREDICTIONS_DIR, since=since))) == 8  # a longer window fetches it
    assert len(rows(reader.readable(P.PREDICTIONS_DIR))) == 4  # and the next read prunes it again
    (tmp_path / "bucket" / key).unlink()
    assert sorted(machine.joinpath(P.PREDICTIONS_DIR).rglob("*.parquet")) == unuploaded
    assert len(unuploaded) == 2 and old_local.read_bytes().startswith(b"a server's own part")
    server.close()


def test_a_mirror_that_overlaps_the_servers_folders_is_refused(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "bucket")
    for mirror in (tmp_path / ".shipyard", tmp_path / ".shipyard" / "feedback"):
        with pytest.raises(ConfigError, match="overlaps the servers' log folder"):
            LogLocation(tmp_path / ".shipyard", store, "logs/m", mirror)
