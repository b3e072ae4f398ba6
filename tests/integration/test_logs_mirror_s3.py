"""The logs mirror over S3 (moto's emulator on 127.0.0.1): a reader's copy follows the bucket, so
a part the bucket's own lifecycle removed, or one older than the retention, leaves the mirror."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.workspace.logs import LogLocation
from shipyard.workspace.objects import ArrowStore

BUCKET = "lake"  # the bucket the `lake` fixture (conftest.py) creates


def test_the_mirror_of_an_s3_store_drops_deleted_and_expired_parts(lake, tmp_path: Path) -> None:
    store = ArrowStore(f"s3://{BUCKET}/team")
    today, old = datetime.now(UTC), datetime.now(UTC) - timedelta(days=40)
    keys = [
        f"logs/m/predictions/server=s1/date={today:%Y-%m-%d}/part-1.parquet",
        f"logs/m/predictions/server=s2/date={today:%Y-%m-%d}/part-2.parquet",
        f"logs/m/predictions/server=s1/date={old:%Y-%m-%d}/part-0.parquet",
    ]
    source = tmp_path / "part"
    for key in keys:
        source.write_text(key)
        store.put(key, source)
    machine = tmp_path / ".shipyard"
    reader = LogLocation(machine, store, "logs/m", machine / "logs-cache" / "m", retention_days=30)

    def mirrored() -> list[str]:
        folder = reader.readable("predictions")
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))

    assert mirrored() == sorted(k.removeprefix("logs/m/predictions/") for k in keys[:2])
    lake.delete_object(Bucket=BUCKET, Key=f"team/{keys[1]}")  # the bucket's lifecycle rule
    assert mirrored() == [keys[0].removeprefix("logs/m/predictions/")]
    assert len(store.list("logs/m")) == 2  # the reader never deletes from the store
