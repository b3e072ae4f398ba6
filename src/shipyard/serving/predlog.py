"""The prediction and feedback logs: Parquet parts under `<project>/.shipyard/`, written off the request path.

Layout (hive-partitioned by day, one row per scored input row per route):

    .shipyard/predictions/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet
    .shipyard/predictions/_wal/<server_id>/part-<unix_ms>-<uuid8>.jsonl   not yet in Parquet
    .shipyard/predictions/_quarantine/part-<unix_ms>-<uuid8>.jsonl        could not be written, kept
    .shipyard/predictions/_counters/<server_id>.json                      each server's own counts
    .shipyard/feedback/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet     (and its _wal/, _quarantine/)

With an object store the parts go to the store instead, one `server=<server_id>` partition
per server (`shipyard.workspace.logs` draws that layout), and readers read every partition.

Every prediction part has the same columns and types: the contract columns below, `proba_<class>`
per class, and `input.<name>` typed by the project schema (`logtable`). Folders starting with
`_` are skipped by hive-partitioned readers. Readers (delivery, monitoring) use DuckDB
`read_parquet(prediction_glob(root), hive_partitioning=true)` or `pyarrow.dataset` and must
tolerate a missing folder. Both logs are written by `prediction_log.SegmentLog`.
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
