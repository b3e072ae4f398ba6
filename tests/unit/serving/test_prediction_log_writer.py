"""The prediction log writer: parts in daily partitions, flush on close, drops counted when full."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from shipyard.serving import predlog
from shipyard.serving.predlog import LogWriter


def chunk(start: int, n: int):
    return lambda: pa.table({predlog.REQUEST_ID: [f"r{i}" for i in range(start, start + n)]})


def test_close_writes_every_queued_row_into_a_dated_partition(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path, flush_rows=1000, flush_interval_s=60)
    for i in range(10):
        assert writer.submit(chunk(i * 7, 7), 7)
    writer.close()
    parts = list(tmp_path.glob("date=*/part-*.parquet"))
    assert parts and all(p.parent.name.startswith("date=20") for p in parts)
    ids = ds.dataset(tmp_path, partitioning="hive").to_table().column(predlog.REQUEST_ID).to_pylist()
    assert sorted(ids) == sorted(f"r{i}" for i in range(70))
    assert writer.written_rows == 70 and writer.dropped_rows == 0
    assert not list(tmp_path.rglob(".*.tmp"))


def test_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    release = threading.Event()
    dropped: list[int] = []

    def slow() -> pa.Table:
        release.wait(5)
        return pa.table({predlog.REQUEST_ID: ["slow"]})

    writer = LogWriter(tmp_path, max_queue_rows=10, on_drop=dropped.append)
    writer.submit(slow, 1)
    accepted = [writer.submit(chunk(i, 4), 4) for i in range(5)]
    release.set()
    writer.close()
    assert accepted.count(False) >= 2
    assert writer.dropped_rows == sum(dropped) == 4 * accepted.count(False)
    assert not writer.submit(chunk(0, 1), 1)  # closed: counted, never raises


def test_a_broken_chunk_is_counted_and_the_rest_still_written(tmp_path: Path) -> None:
    def broken() -> pa.Table:
        raise ValueError("bad rows")

    writer = LogWriter(tmp_path)
    writer.submit(broken, 3)
    writer.submit(chunk(0, 2), 2)
    writer.close()
    assert writer.failed_rows == 3 and writer.written_rows == 2


def test_paths_follow_the_contract(tmp_path: Path) -> None:
    assert predlog.prediction_log_dir(tmp_path) == tmp_path / ".shipyard" / "predictions"
    assert predlog.feedback_dir(tmp_path) == tmp_path / ".shipyard" / "feedback"
    assert predlog.prediction_glob(tmp_path).endswith("predictions/**/*.parquet")
    name = predlog.part_path(tmp_path).name
    assert (
        name.startswith("part-")
        and name.endswith(".parquet")
        and len(name.split("-")[2]) == len("12345678.parquet")
    )


def test_a_part_that_cannot_be_written_is_retried_then_quarantined(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(predlog, "RETRY_DELAYS_S", (0.0,))
    folder = tmp_path / "feedback"
    folder.mkdir()
    writer = LogWriter(folder, flush_interval_s=60)
    (folder / predlog.part_path(folder).parent.name).write_text("a file where the partition should be")
    writer.submit(chunk(0, 3), 3)
    writer.close()
    kept = list((folder / predlog.QUARANTINE_DIR).glob("*.arrow"))
    assert len(kept) == 1 and pa.ipc.open_file(kept[0]).read_all().num_rows == 3
    assert (writer.written_rows, writer.quarantined_rows, writer.failed_rows) == (0, 3, 0)
