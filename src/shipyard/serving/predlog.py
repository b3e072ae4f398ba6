"""The prediction and feedback logs: Parquet parts under `<project>/.shipyard/`, written off the request path.

Layout (hive-partitioned by day, one row per scored input row per route):

    .shipyard/predictions/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet
    .shipyard/predictions/_wal/<server_id>/part-<unix_ms>-<uuid8>.jsonl   not yet in Parquet
    .shipyard/predictions/_quarantine/part-<unix_ms>-<uuid8>.jsonl        could not be written, kept
    .shipyard/predictions/_counters/<server_id>.json                      each server's own counts
    .shipyard/feedback/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet

Every prediction part has the same columns and types: the contract columns below, `proba_<class>`
per class, and `input.<name>` typed by the project schema (`logtable`). Folders starting with
`_` are skipped by hive-partitioned readers. Readers (delivery, monitoring) use DuckDB
`read_parquet(prediction_glob(root), hive_partitioning=true)` or `pyarrow.dataset` and must
tolerate a missing folder. The prediction log is written by `prediction_log.PredictionLog`;
`LogWriter` (the feedback log) appends through a bounded queue drained by one background
thread: a full queue drops rows and counts them rather than stalling a request, and
`close()` writes everything still queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = [
    "BATCH_ROWS",
    "ERROR",
    "FEEDBACK_DIR",
    "INPUT_PREFIX",
    "INPUT_RAW",
    "LABEL",
    "LATENCY_MS",
    "MODEL_VERSION",
    "PREDICTION",
    "PREDICTIONS_DIR",
    "PROBA_PREFIX",
    "QUARANTINE_DIR",
    "REQUEST_ID",
    "ROUTE",
    "ROUTES",
    "ROW",
    "SCORE",
    "STATUS",
    "STATUSES",
    "TS",
    "WAL_DIR",
    "LogWriter",
    "feedback_dir",
    "feedback_glob",
    "part_path",
    "prediction_glob",
    "prediction_log_dir",
]

PREDICTIONS_DIR = "predictions"
FEEDBACK_DIR = "feedback"
WAL_DIR = "_wal"  # inside a log folder: write-ahead segments not yet in Parquet
QUARANTINE_DIR = "_quarantine"  # inside a log folder: rows whose part could not be written, kept

REQUEST_ID = "request_id"  # string
ROW = "row"  # int32: index of the row within its request
TS = "ts"  # timestamp[us, UTC]: when the request arrived (feedback: when the label arrived)
MODEL_VERSION = "model_version"  # string
ROUTE = "route"  # string, one of ROUTES
STATUS = "status"  # string, one of STATUSES
LATENCY_MS = "latency_ms"  # float64: time of the model call that scored the row
BATCH_ROWS = "batch_rows"  # int32: rows in that model call; per-row model time = latency_ms / batch_rows
ERROR = "error"  # string: why the model or server failed on the row (status "error"); else null
PREDICTION = "prediction"  # string: the label (classification) or the value (regression)
SCORE = "score"  # float64: positive-class / max probability, or the predicted value; null on error
PROBA_PREFIX = "proba_"  # float64 per class: proba_<class>
INPUT_PREFIX = "input."  # input columns, typed by the project schema: input.<name>
INPUT_RAW = "input_raw"  # string: JSON of the row's fields that fit no typed input column, else null
LABEL = "label"  # feedback: the ground-truth label as a string

ROUTES = ("production", "canary", "shadow")
STATUSES = ("ok", "error")


def prediction_log_dir(project_root: str | Path) -> Path:
    """Folder of the prediction log (may not exist yet)."""
    return Path(project_root) / ".shipyard" / PREDICTIONS_DIR


def feedback_dir(project_root: str | Path) -> Path:
    """Folder of the feedback (delayed ground truth) log (may not exist yet)."""
    return Path(project_root) / ".shipyard" / FEEDBACK_DIR


def prediction_glob(project_root: str | Path) -> str:
    """`read_parquet` pattern matching every prediction part."""
    return f"{prediction_log_dir(project_root)}/**/*.parquet"


def feedback_glob(project_root: str | Path) -> str:
    """`read_parquet` pattern matching every feedback part."""
    return f"{feedback_dir(project_root)}/**/*.parquet"


def part_path(folder: Path, when: datetime | None = None) -> Path:
    """A new, unique part file name in today's (UTC) partition of `folder`."""
    when = when or datetime.now(UTC)
    name = f"part-{int(when.timestamp() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    return folder / f"date={when:%Y-%m-%d}" / name


RETRY_DELAYS_S = (0.05, 0.25, 1.0)  # waits before each retry of a part that could not be written

Chunk = Callable[[], Any]  # builds a pyarrow.Table; called on the writer thread


class LogWriter:
    """Append row chunks to Parquet parts from one background thread (the feedback log).

    `submit(build, rows)` queues a zero-argument callable that returns a `pyarrow.Table`
    (built on the writer thread, so the request path only pays for the closure). Parts are
    written every `flush_rows` rows or `flush_interval_s` seconds. When more than
    `max_queue_rows` rows wait, new chunks are dropped and counted in `dropped_rows`. A part
    that cannot be written is retried, then its chunks are kept in `_quarantine/` as Arrow IPC
    files (`quarantined_rows`); rows that could not be kept either count in `failed_rows`.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_queue_rows: int = 100_000,
        flush_rows: int = 20_000,
        flush_interval_s: float = 1.0,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.max_queue_rows = max_queue_rows
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.dropped_rows = 0
        self.written_rows = 0
        self.failed_rows = 0
        self.quarantined_rows = 0
        self._on_drop = on_drop
        self._queued_rows = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Chunk, int] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name=f"shipyard-log-{self.folder.name}", daemon=True
        )
        self._closed = False
        self._thread.start()

    def submit(self, build: Chunk, rows: int) -> bool:
        """Queue a chunk of `rows` rows; False (and counted) when the queue is full or closed."""
        with self._lock:
            if self._closed or self._queued_rows + rows > self.max_queue_rows:
                self.dropped_rows += rows
                dropped = True
            else:
                self._queued_rows += rows
                dropped = False
        if dropped:
            if self._on_drop is not None:
                self._on_drop(rows)
            return False
        self._queue.put((build, rows))
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop accepting chunks, write every queued one, and wait for the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        pending: list[Any] = []
        pending_rows = 0
        deadline = time.monotonic() + self.flush_interval_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = ()  # timer tick: flush what is pending
            if item is None:
                self._write(pending, pending_rows)
                return
            if item:
                build, rows = item
                with self._lock:
                    self._queued_rows -= rows
                try:
                    pending.append(build())
                    pending_rows += rows
                except Exception:  # noqa: BLE001 - a bad chunk must not stop the log
                    logger.exception("Could not build a prediction log chunk of %d rows", rows)
                    self.failed_rows += rows
            if pending_rows >= self.flush_rows or time.monotonic() >= deadline:
                self._write(pending, pending_rows)
                pending, pending_rows = [], 0
                deadline = time.monotonic() + self.flush_interval_s

    def _write(self, tables: list[Any], rows: int) -> None:
        if not tables:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = part_path(self.folder)
        error: Exception | None = None
        for delay in (0.0, *RETRY_DELAYS_S):
            time.sleep(delay)
            try:
                table = pa.concat_tables(tables, promote_options="permissive")
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp")
                pq.write_table(table, tmp)
                tmp.replace(path)
                self.written_rows += rows
                return
            except Exception as exc:  # noqa: BLE001 - retried, then quarantined; never silently dropped
                error = exc
        logger.error("Could not write %d rows to %s after retries: %s", rows, path, error)
        self._quarantine(tables, rows, path)

    def _quarantine(self, tables: list[Any], rows: int, path: Path) -> None:
        """Keep the rows of a part that could not be written, one Arrow IPC file per chunk."""
        import pyarrow as pa

        folder = self.folder / QUARANTINE_DIR
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for i, table in enumerate(tables):
                target = str(folder / f"{path.stem}-{i}.arrow")
                with pa.OSFile(target, "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                    out.write_table(table)
        except Exception:  # noqa: BLE001 - counted and logged: the server keeps serving
            logger.exception("Could not quarantine %d rows in %s; they are lost", rows, folder)
            self.failed_rows += rows
            return
        self.quarantined_rows += rows
