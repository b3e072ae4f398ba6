"""Both object stores keep the same contract: whole objects by key, listed by prefix.

`ArrowStore` is exercised on pyarrow's local file system (a `file://` URL): the same code
path as S3 above `pyarrow.fs`; S3 itself is tested in tests/integration/test_team_logs.py.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.errors import ServiceUnavailableError
from shipyard.workspace.logs import STALE_COPY_S, mirror
from shipyard.workspace.objects import ArrowStore, FolderStore, ObjectStore, concurrently


@pytest.fixture(params=["folder", "arrow"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    root = tmp_path / "bucket"
    root.mkdir()
    return FolderStore(root) if request.param == "folder" else ArrowStore(root.as_uri())


def put(store: ObjectStore, key: str, text: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text(text)
    store.put(key, src)


def test_list_gives_every_key_under_a_prefix_sorted(store: ObjectStore, tmp_path: Path) -> None:
    for key in ("logs/m/p/server=b/x.parquet", "logs/m/p/server=a/y.parquet", "logs/n/p/z.parquet"):
        put(store, key, key, tmp_path)
    assert store.list("logs/m") == ["logs/m/p/server=a/y.parquet", "logs/m/p/server=b/x.parquet"]
    assert store.list("logs/m/") == store.list("logs/m")
    assert store.list("nothing/here") == []


def test_get_and_put_round_trip_and_a_missing_key_is_false(store: ObjectStore, tmp_path: Path) -> None:
    put(store, "a/b.json", "{}", tmp_path)
    assert store.get("a/b.json", tmp_path / "out") and (tmp_path / "out").read_text() == "{}"
    assert not store.get("a/missing.json", tmp_path / "none") and not (tmp_path / "none").exists()


def test_mirror_fetches_new_parts_once_and_counters_every_time(store: ObjectStore, tmp_path: Path) -> None:
    put(store, "logs/m/predictions/server=a/date=2026-12-01/part-1.parquet", "one", tmp_path)
    put(store, "logs/m/predictions/_counters/a.json", '{"n": 1}', tmp_path)
    local = mirror(store, "logs/m/predictions", tmp_path / "mirror")
    part = local / "server=a/date=2026-12-01/part-1.parquet"
    assert part.read_text() == "one" and (local / "_counters/a.json").read_text() == '{"n": 1}'
    part.write_text("kept")  # parts never change: a part already here is not fetched again
    put(store, "logs/m/predictions/_counters/a.json", '{"n": 2}', tmp_path)
    mirror(store, "logs/m/predictions", local)
    assert part.read_text() == "kept" and (local / "_counters/a.json").read_text() == '{"n": 2}'


def drop(store: ObjectStore, key: str, tmp_path: Path) -> None:
    """Delete an object the way the store's own retention would (both stores here are on `bucket/`)."""
    (tmp_path / "bucket" / key).unlink()


def test_mirror_removes_copies_whose_key_the_store_no_longer_holds(
    store: ObjectStore, tmp_path: Path
) -> None:
    for key in (
        "logs/m/predictions/server=a/date=2026-12-01/part-1.parquet",
        "logs/m/predictions/server=a/date=2026-12-02/part-2.parquet",
        "logs/m/predictions/_counters/a.json",
        "logs/m/predictions/_counters/b.json",
    ):
        put(store, key, key, tmp_path)
    local = mirror(store, "logs/m/predictions", tmp_path / "mirror")
    drop(store, "logs/m/predictions/server=a/date=2026-12-01/part-1.parquet", tmp_path)
    drop(store, "logs/m/predictions/_counters/b.json", tmp_path)
    mirror(store, "logs/m/predictions", local)
    left = sorted(p.relative_to(local).as_posix() for p in local.rglob("*"))
    assert left == [
        "_counters",
        "_counters/a.json",
        "server=a",
        "server=a/date=2026-12-02",
        "server=a/date=2026-12-02/part-2.parquet",
    ]  # the emptied day folder went with its part


def test_mirror_neither_fetches_nor_keeps_parts_of_days_before_since(
    store: ObjectStore, tmp_path: Path
) -> None:
    days = ["2026-11-01", "2026-11-29", "2026-11-30", "2026-12-01"]
    for day in days:
        put(store, f"logs/m/feedback/server=a/date={day}/part-1.parquet", day, tmp_path)
    local = mirror(store, "logs/m/feedback", tmp_path / "mirror")
    assert len(list(local.rglob("*.parquet"))) == 4
    since = datetime(2026, 12, 1, 12, tzinfo=UTC)  # a part dated 11-30 may hold rows of 12-01
    for folder in (local, tmp_path / "fresh"):  # pruned where copied before, not fetched where not
        mirror(store, "logs/m/feedback", folder, since=since)
        kept = sorted(p.parent.name for p in folder.rglob("*.parquet"))
        assert kept == ["date=2026-11-30", "date=2026-12-01"]
    assert len(store.list("logs/m/feedback")) == 4  # the store itself is never pruned


def test_mirror_removes_only_stale_temporary_copies(store: ObjectStore, tmp_path: Path) -> None:
    put(store, "logs/m/predictions/server=a/date=2026-12-01/part-1.parquet", "one", tmp_path)
    local = mirror(store, "logs/m/predictions", tmp_path / "mirror")
    day = local / "server=a" / "date=2026-12-01"
    copying, crashed = day / ".part-2.parquet.0123abcd", day / ".part-3.parquet.4567cdef"
    copying.write_text("another reader is copying this")
    crashed.write_text("a reader died copying this")
    old = time.time() - STALE_COPY_S - 60
    os.utime(crashed, (old, old))
    mirror(store, "logs/m/predictions", local)
    assert copying.exists() and not crashed.exists() and (day / "part-1.parquet").exists()


def test_concurrently_keeps_the_order_and_raises_the_first_failure_in_order() -> None:
    assert concurrently(lambda i: i * i, list(range(10))) == [i * i for i in range(10)]
    done: list[int] = []

    def transfer(i: int) -> int:
        if i in (3, 7):
            raise ServiceUnavailableError(f"object {i} unreachable")
        done.append(i)
        return i

    with pytest.raises(ServiceUnavailableError, match="object 3"):
        concurrently(transfer, list(range(10)))
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 8, 9]  # the others still ran to the end
