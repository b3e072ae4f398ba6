"""The log writer: a write-ahead file on the request path, Parquet parts off it.

Both logs use it: the prediction log (`logtable.LogSchema` turns its records into rows)
and the feedback log (`logtable.FeedbackLayout`). Each record (one model call's rows, or
one `/feedback` request's labels) is appended as one JSON line to this server's current
segment, `<log dir>/_wal/<server_id>/part-<unix_ms>-<uuid8>.jsonl`, with one `write` system
call before the reply leaves. So a process killed at any moment (SIGKILL, out of memory)
has every answered row on disk: the bound on what it loses is 0 answered rows. A
background thread seals the segment every `flush_interval_s` seconds (or `flush_rows`
rows) and converts it into the Parquet part of the same name, then deletes it. With an
object store the part goes to the server's outbox and is uploaded from there
(`part_upload`); a part that cannot be uploaded stays local and is retried.

A segment whose part cannot be written is retried, then moved to `<log dir>/_quarantine/`
(the JSON lines are kept as they are) and counted; only rows that could be put neither in a
part nor in the quarantine are lost, and those are counted too (`ServerCounters`). At start,
segments and outboxes left by a server that is no longer running (its lock is free) are
converted and uploaded; a part that already exists is never written twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from shipyard.errors import ServingError
from shipyard.serving import predlog as P
from shipyard.serving.counters import ServerCounters
from shipyard.serving.part_upload import OUTBOX, PartUploader
from shipyard.serving.predlog import RETRY_DELAYS_S
from shipyard.serving.wal import encode, read_segment
from shipyard.workspace.logs import LogLocation

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)

_LOCK = ".lock"


def _part_for(log_dir: Path, segment: Path) -> Path:
    """The Parquet part a segment becomes: same name, in the partition of its start day (UTC)."""
    ms = int(segment.stem.split("-")[1])
    day = datetime.fromtimestamp(ms / 1000, UTC)
    return log_dir / f"date={day:%Y-%m-%d}" / f"{segment.stem}.parquet"


Record = TypeVar("Record", bound=Mapping[str, Any])  # `logtable.PredictionRecord`, `logtable.FeedbackRecord`
_Record_contra = TypeVar("_Record_contra", bound=Mapping[str, Any], contravariant=True)


class Layout(Protocol[_Record_contra]):
    """How a log's records become rows: a table of them, and whose rows a record holds."""

    def to_table(self, records: Sequence[_Record_contra]) -> pa.Table:
        """One `pyarrow.Table` of every row of `records`."""
        ...

    def tally(self, record: _Record_contra) -> tuple[str, int]:
        """The model version a record's rows are counted under, and how many rows it holds."""
        ...


class SegmentLog(Generic[Record]):
    """Appends records durably and turns them into Parquet parts in the background.

    `shared`: the workspace's log location when it has an object store; the parts of this
    log (`folder`'s name is its kind, "predictions" or "feedback") are then uploaded there,
    each upload reported to `on_upload(ok)`.
    """

    def __init__(
        self,
        folder: str | Path,
        layout: Layout[Record],
        counters: ServerCounters,
        *,
        flush_rows: int = 50_000,
        flush_interval_s: float = 2.0,
        shared: LogLocation | None = None,
        on_upload: Callable[[bool], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.layout = layout
        self.counters = counters
        self.uploader = (
            None
            if shared is None or shared.store is None
            else PartUploader(shared, self.folder.name, on_upload)
        )
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self._wal = self.folder / P.WAL_DIR / counters.server_id
        try:
            self._wal.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self._wal / _LOCK, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise ServingError(
                f"Cannot write the {self.folder.name} log under {self.folder}: {exc}. "
                "Make the folder writable, or serve with --no-log."
            ) from None
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._fd: int | None = None
        self._segment: Path | None = None
        self._segment_rows = 0
        self._versions: Counter[str] = Counter()
        self._sealed: list[tuple[Path, Counter[str]]] = []
        self._closed = False
        self._wake = threading.Event()
        self.recovered_rows = self._recover()
        self._thread = threading.Thread(target=self._run, name="shipyard-predlog", daemon=True)
        self._thread.start()

    # -- the request path -------------------------------------------------------------------

    def append(self, record: Record) -> None:
        """Write one record's line to the current segment (a single `write`), before the reply."""
        version, rows = self.layout.tally(record)
        try:
            line = encode(record)
        except (TypeError, ValueError) as exc:  # never expected: the record is built by `scoring`
            self._lost(version, rows, f"could not encode the record: {exc}")
            return
        with self._lock:
            if self._closed:
                self._lost(version, rows, "the log was already closed")
                return
            try:
                if self._fd is None:
                    self._open_segment()
                assert self._fd is not None
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                self._lost(version, rows, f"could not append to {self._segment}: {exc}")
                self._seal_locked()  # a torn line may end this segment: the next line starts a new one
                return
            self._segment_rows += rows
            self._versions[version] += rows
            full = self._segment_rows >= self.flush_rows
        if full:
            self._wake.set()

    def _open_segment(self) -> None:
        name = f"part-{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.jsonl"
        self._segment = self._wal / name
        self._fd = os.open(self._segment, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)

    def _lost(self, version: str, rows: int, why: str) -> None:
        logger.error("Lost %d %s log rows of version %s: %s", rows, self.folder.name, version, why)
        self.counters.add(version, rows_lost=rows)

    # -- the background thread --------------------------------------------------------------

    def _seal(self) -> None:
        with self._lock:
            self._seal_locked()

    def _seal_locked(self) -> None:
        if self._fd is None:
            return
        try:
            os.close(self._fd)
        except OSError as exc:
            logger.warning("Could not close %s: %s", self._segment, exc)
        if self._segment is not None:
            self._sealed.append((self._segment, self._versions))
        self._fd, self._segment, self._segment_rows, self._versions = None, None, 0, Counter()

    def flush(self) -> None:
        """Seal the current segment, write every sealed one as a Parquet part (and upload it)."""
        with self._flushing:  # the writer thread, or a caller who wants the rows readable now
            self._seal()
            while self._sealed:
                segment, versions = self._sealed[0]
                self._convert(segment, versions)
                self._sealed.pop(0)
            written = self.counters.write()
            if self.uploader is not None:
                self.uploader.upload(self._wal)
                if written and self.counters.path is not None:
                    self.uploader.put_counters(self.counters.server_id, self.counters.path)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            closing = self._closed
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must live on; every row is counted
                logger.exception("The %s log flush failed; retrying at the next interval", self.folder.name)
            if closing:
                return

    def _convert(self, segment: Path, versions: Counter[str] | None = None) -> int:
        """Segment -> Parquet part (retried), else -> quarantine, else counted as lost; rows kept.

        The part goes into the local log, or into the outbox of the segment's server when shared.
        """
        parts = self.folder if self.uploader is None else segment.parent / OUTBOX
        part = _part_for(parts, segment)
        if part.exists():  # written before a crash, segment not yet deleted: never twice
            segment.unlink(missing_ok=True)
            return 0
        records: list[Record] = read_segment(segment)
        if versions is None:
            versions = Counter()
            for record in records:
                version, rows = self.layout.tally(record)
                versions[version] += rows
        error: Exception | None = None
        if records:
            for delay in (0.0, *RETRY_DELAYS_S):
                time.sleep(delay)
                try:
                    self._write_part(records, part)
                    error = None
                    break
                except Exception as exc:  # noqa: BLE001 - retried, then quarantined and counted
                    error = exc
        if error is None:
            for version, rows in versions.items():
                self.counters.add(version, rows_logged=rows)
            segment.unlink(missing_ok=True)
            return sum(versions.values())
        return self._quarantine(segment, versions, error)

    def _write_part(self, records: list[Record], part: Path) -> None:
        import pyarrow.parquet as pq

        table = self.layout.to_table(records)
        part.parent.mkdir(parents=True, exist_ok=True)
        tmp = part.with_name(f".{part.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, part)

    def _quarantine(self, segment: Path, versions: Counter[str], error: Exception) -> int:
        target = self.folder / P.QUARANTINE_DIR / segment.name
        rows = sum(versions.values())
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(segment, target)
        except OSError as exc:
            for version, n in versions.items():
                self._lost(version, n, f"{error}; and it could not be quarantined: {exc}")
            return 0
        logger.error(
            "Could not write %d %s log rows to Parquet (%s: %s); they are kept in %s. "
            "Fix the cause, then run `shipyard` against them or read them as JSON lines.",
            rows, self.folder.name, type(error).__name__, error, target,
        )  # fmt: skip
        for version, n in versions.items():
            self.counters.add(version, rows_quarantined=n)
        return rows

    def _recover(self) -> int:
        """Convert the segments of servers that stopped (their lock is free); rows recovered."""
        rows = 0
        for folder in sorted(p for p in self._wal.parent.iterdir() if p.is_dir() and p != self._wal):
            lock = folder / _LOCK
            try:
                fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # that server is still running: its segments are its own
                os.close(fd)
                continue
            try:
                for segment in sorted(folder.glob("part-*.jsonl")):
                    rows += self._convert(segment)
                if self.uploader is not None:
                    self.uploader.upload(folder)
                if not self._holds_rows(folder):
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        if rows:
            logger.warning("Recovered %d %s log rows left by a server that stopped.", rows, self.folder.name)
            self.counters.write()
        return rows

    # -- shutdown ---------------------------------------------------------------------------

    def close(self, timeout: float | None = 60.0) -> None:
        """Stop the thread, write every row still in a segment, and release this server's folder."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        os.close(self._lock_fd)
        if not self._holds_rows(self._wal):
            shutil.rmtree(self._wal, ignore_errors=True)

    def _holds_rows(self, wal_folder: Path) -> bool:
        """Whether a server's folder still has segments, or parts waiting for the object store."""
        if any(wal_folder.glob("part-*.jsonl")):
            return True
        return self.uploader is not None and bool(self.uploader.pending(wal_folder))

    def describe(self) -> dict[str, Any]:
        """What `/v1/models` shows of the log: this server's row counts (never a path), and with an
        object store its uploads (`failed_uploads`: rounds that left a part for later)."""
        counters = self.counters
        described = {
            "server_id": counters.server_id,
            "written_rows": counters.total("rows_logged"),
            "quarantined_rows": counters.total("rows_quarantined"),
            "lost_rows": counters.total("rows_lost"),
            "recovered_rows": self.recovered_rows,
        }
        if self.uploader is not None:
            described["uploaded_parts"] = self.uploader.uploaded_parts
            described["pending_parts"] = len(self.uploader.pending(self._wal))
            described["failed_uploads"] = self.uploader.failed_uploads
        return described
