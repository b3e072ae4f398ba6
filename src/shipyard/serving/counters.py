"""Each server's own cumulative per-version counters, kept apart from the prediction log.

A log fault must never hide errors, so the live analysis reads these counters beside the log.
Every server process writes its counters atomically (temporary file, then `os.replace`) at
every log flush and on close to `<prediction log dir>/_counters/<server_id>.json`:

    {"server_id": str, "started_at": ISO-8601 UTC, "updated_at": ISO-8601 UTC,
     "versions": {"<version>": {"requests": int, "errors": int, "rows_scored": int,
                                "rows_logged": int, "rows_quarantined": int, "rows_lost": int}}}

`read_servers(log_dir)` reads every server's file (the one reader of them: rollout analysis
diffs it per server), `read_counters(log_dir)` sums them per version. The folder name starts
with `_`, so hive-partitioned readers of the log skip it.

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> counters = ServerCounters(folder, server_id="a")
    >>> counters.add("3", requests=2, errors=1, rows_scored=4)
    >>> _ = counters.write()
    >>> read_counters(folder)["3"].errors
    1
    >>> read_counters(folder / "missing")
    {}
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

COUNTERS_DIR = "_counters"
FIELDS = ("requests", "errors", "rows_scored", "rows_logged", "rows_quarantined", "rows_lost")


@dataclass(frozen=True)
class RouteCounters:
    """Cumulative counts of one model version, summed over every server that served it.

    `requests`: requests routed to the version and answered (any status); `errors`: of those,
    the ones where the model or the server failed; `rows_scored`: rows the model scored;
    `rows_logged`: rows written to the prediction log's Parquet parts; `rows_quarantined`:
    rows kept in `_quarantine/` because their part could not be written; `rows_lost`: rows in
    neither (each one is also reported in the server's own log).
    """

    version: str
    requests: int = 0
    errors: int = 0
    rows_scored: int = 0
    rows_logged: int = 0
    rows_lost: int = 0
    rows_quarantined: int = 0


def counters_dir(log_dir: str | Path) -> Path:
    """Folder of the counters files inside a prediction log folder."""
    return Path(log_dir) / COUNTERS_DIR


def _now() -> str:
    return datetime.now(UTC).isoformat()


def new_server_id() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ServerCounters:
    """Thread-safe per-version counters of one server process, written to its own file."""

    def __init__(self, log_dir: str | Path | None, *, server_id: str | None = None) -> None:
        self.server_id = server_id or new_server_id()
        self.started_at = _now()
        self.path = None if log_dir is None else counters_dir(log_dir) / f"{self.server_id}.json"
        self._lock = threading.Lock()
        self._versions: dict[str, dict[str, int]] = {}
        self.on_add: Callable[[str, dict[str, int]], None] | None = None  # e.g. the server's metrics

    def add(self, version: str, **deltas: int) -> None:
        """Add `deltas` (keyword per field of `FIELDS`) to `version`'s counts."""
        with self._lock:
            counts = self._versions.setdefault(version, dict.fromkeys(FIELDS, 0))
            for name, delta in deltas.items():
                counts[name] += delta
        if self.on_add is not None:
            self.on_add(version, deltas)

    def snapshot(self) -> dict[str, RouteCounters]:
        with self._lock:
            return {v: RouteCounters(v, **c) for v, c in self._versions.items()}

    def total(self, name: str) -> int:
        """One field summed over every version."""
        with self._lock:
            return sum(c[name] for c in self._versions.values())

    def write(self) -> bool:
        """Replace this server's file with the current counts; False (logged) when it failed."""
        if self.path is None:
            return False
        with self._lock:
            payload = {
                "server_id": self.server_id,
                "started_at": self.started_at,
                "updated_at": _now(),
                "versions": {v: dict(c) for v, c in self._versions.items()},
            }
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(payload))
            os.replace(tmp, self.path)
        except OSError as exc:
            logger.error("Could not write the server counters to %s: %s", self.path, exc)
            return False
        return True


def _counts(entry: Any) -> dict[str, int]:
    if not isinstance(entry, dict):
        return {}
    return {k: int(v) for k, v in entry.items() if k in FIELDS and isinstance(v, int | float)}


@dataclass(frozen=True)
class ServerCounts:
    """One server's file: when that server process started, and its counts per version."""

    server_id: str
    started_at: str
    versions: dict[str, RouteCounters]


def read_servers(log_dir: str | Path) -> dict[str, ServerCounts]:
    """Every server's counters by server id; `{}` when there are none yet.

    A file that cannot be read or parsed (being replaced, or half-copied by hand) is skipped
    with a warning.
    """
    folder = counters_dir(log_dir)
    if not folder.is_dir():
        return {}
    found: dict[str, ServerCounts] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            versions = data["versions"]
            server = ServerCounts(
                str(data["server_id"]),
                str(data.get("started_at", "")),
                {str(v): RouteCounters(str(v), **_counts(c)) for v, c in versions.items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("Skipped the unreadable counters file %s: %s", path, exc)
            continue
        found[server.server_id] = server
    return found


def read_counters(log_dir: str | Path) -> dict[str, RouteCounters]:
    """Every server's counters summed per model version; `{}` when there are none yet."""
    totals: dict[str, dict[str, int]] = {}
    for server in read_servers(log_dir).values():
        for version, counts in server.versions.items():
            total = totals.setdefault(version, dict.fromkeys(FIELDS, 0))
            for name in FIELDS:
                total[name] += getattr(counts, name)
    return {v: RouteCounters(v, **c) for v, c in totals.items()}
