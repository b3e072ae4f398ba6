"""The prediction log's writer: a write-ahead file on the request path, Parquet parts off it.

Each model call's rows are appended as one JSON line (`logtable` describes it) to this
server's current segment, `<log dir>/_wal/<server_id>/part-<unix_ms>-<uuid8>.jsonl`, with one
`write` system call before the replies leave the predict thread. So a process killed at any
moment (SIGKILL, out of memory) has every answered row on disk: the bound on what it loses is
0 answered rows. A background thread seals the segment every `flush_interval_s` seconds (or
`flush_rows` rows) and converts it into the Parquet part of the same name, then deletes it.

A segment whose part cannot be written is retried, then moved to `<log dir>/_quarantine/`
(the JSON lines are kept as they are) and counted; only rows that could be put neither in a
part nor in the quarantine are lost, and those are counted too (`ServerCounters`). At start,
segments left by a server that is no longer running (its lock is free) are converted; a part
that already exists is never written twice.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from shipyard.data.schema import Schema
from shipyard.errors import ServingError
from shipyard.serving import predlog as P
from shipyard.serving.counters import ServerCounters
from shipyard.serving.logtable import LogSchema
from shipyard.serving.payload import MISSING
from shipyard.serving.predlog import RETRY_DELAYS_S

logger = logging.getLogger(__name__)

_LOCK = ".lock"


def _default(value: Any) -> Any:
    """JSON for what orjson does not know: a missing field is null, anything else its text."""
    return None if value is MISSING else str(value)


def _plain(value: Any) -> Any:
    """`value` with integers beyond 64 bits (JSON allows them, orjson does not) as text."""
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def encode(record: dict[str, Any]) -> bytes:
    """One write-ahead line for `record`."""
    try:
        line = orjson.dumps(record, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # a huge integer in an input: kept as its text
        line = orjson.dumps(
            {**record, "inputs": _plain(record["inputs"])},
            default=_default,
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
    return line + b"\n"


def read_segment(path: Path) -> list[dict[str, Any]]:
    """The complete records of a segment; a torn last line (the process died mid-write) is skipped."""
    records = []
    for line in path.read_bytes().split(b"\n"):
        if not line:
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            logger.warning("Skipped a torn line in %s (the server stopped while writing it).", path)
    return records


def _part_for(log_dir: Path, segment: Path) -> Path:
    """The Parquet part a segment becomes: same name, in the partition of its start day (UTC)."""
    ms = int(segment.stem.split("-")[1])
    day = datetime.fromtimestamp(ms / 1000, UTC)
    return log_dir / f"date={day:%Y-%m-%d}" / f"{segment.stem}.parquet"


class PredictionLog:
    """Appends prediction records durably and turns them into Parquet parts in the background."""

    def __init__(
        self,
        folder: str | Path,
        schema: Schema | None,
        counters: ServerCounters,
        *,
        flush_rows: int = 50_000,
        flush_interval_s: float = 2.0,
    ) -> None:
        self.folder = Path(folder)
        self.layout = LogSchema(schema)
        self.counters = counters
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self._wal = self.folder / P.WAL_DIR / counters.server_id
        try:
            self._wal.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self._wal / _LOCK, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise ServingError(
                f"Cannot write the prediction log under {self.folder}: {exc}. "
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

    def append(self, record: dict[str, Any]) -> None:
        """Write one record's line to the current segment (a single `write`), before the reply."""
        rows = sum(r[1] for r in record["requests"])
        version = record["version"]
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
        logger.error("Lost %d prediction log rows of version %s: %s", rows, version, why)
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
        """Seal the current segment and write every sealed one as a Parquet part."""
        with self._flushing:  # the writer thread, or a caller who wants the rows readable now
            self._seal()
            while self._sealed:
                segment, versions = self._sealed[0]
                self._convert(segment, versions)
                self._sealed.pop(0)
            self.counters.write()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            closing = self._closed
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must live on; every row is counted
                logger.exception("The prediction log flush failed; retrying at the next interval")
            if closing:
                return

    def _convert(self, segment: Path, versions: Counter[str] | None = None) -> int:
        """Segment -> Parquet part (retried), else -> quarantine, else counted as lost; rows kept."""
        part = _part_for(self.folder, segment)
        if part.exists():  # written before a crash, segment not yet deleted: never twice
            segment.unlink(missing_ok=True)
            return 0
        records = read_segment(segment)
        if versions is None:
            versions = Counter()
            for record in records:
                versions[record["version"]] += sum(r[1] for r in record["requests"])
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

    def _write_part(self, records: list[dict[str, Any]], part: Path) -> None:
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
            "Could not write %d prediction log rows to Parquet (%s: %s); they are kept in %s. "
            "Fix the cause, then run `shipyard` against them or read them as JSON lines.",
            rows, type(error).__name__, error, target,
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
                if not any(folder.glob("part-*.jsonl")):
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        if rows:
            logger.warning("Recovered %d prediction log rows left by a server that stopped.", rows)
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
        if not any(self._wal.glob("part-*.jsonl")):
            shutil.rmtree(self._wal, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        """What `/v1/models` shows of the log: this server's row counts (never a path)."""
        counters = self.counters
        return {
            "server_id": counters.server_id,
            "written_rows": counters.total("rows_logged"),
            "quarantined_rows": counters.total("rows_quarantined"),
            "lost_rows": counters.total("rows_lost"),
            "recovered_rows": self.recovered_rows,
        }
