"""The prediction and feedback logs: Parquet parts in the workspace's logs folder, written off
the request path.

Layout under `Workspace.logs_dir` (the project's state folder by default), hive-partitioned
by day, one row per scored input row per route:

    predictions/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet
    predictions/_wal/<server_id>/part-<unix_ms>-<uuid8>.jsonl   not yet in Parquet
    predictions/_quarantine/part-<unix_ms>-<uuid8>.jsonl        could not be written, kept
    predictions/_counters/<server_id>.json                      each server's own counts
    feedback/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet     (and its _wal/, _quarantine/)

With an object store the parts go to the store instead, one `server=<server_id>` partition
per server (`shipyard.workspace.logs` draws that layout), and readers read every partition.

Every prediction part has the same columns and types: the contract columns below, `proba_<class>`
per class, and `input.<name>` typed by the project schema (`logtable`). Folders starting with
`_` are skipped by hive-partitioned readers. Readers (delivery, monitoring) get the folder
from `Workspace.logs` (`LogLocation.readable(PREDICTIONS_DIR)`), read it with DuckDB
`read_parquet('<folder>/**/*.parquet', hive_partitioning=true)` or `pyarrow.dataset`, and
must tolerate a missing folder. Both logs are written by `prediction_log.SegmentLog`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

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
    "part_path",
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


def part_path(folder: Path, when: datetime | None = None) -> Path:
    """A new, unique part file name in today's (UTC) partition of `folder`."""
    when = when or datetime.now(UTC)
    name = f"part-{int(when.timestamp() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    return folder / f"date={when:%Y-%m-%d}" / name


RETRY_DELAYS_S = (0.05, 0.25, 1.0)  # waits before each retry of a part that could not be written
