"""Where the prediction and feedback logs live, for the servers that write them and the readers.

A server always writes under `local` (`.shipyard/` by default): its write-ahead segments
and its Parquet parts (`shipyard.serving.predlog` draws the layout). With an object store
(`state.object_store`) each server also uploads its closed parts, one partition per server:

    logs/<model>/predictions/server=<server_id>/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet
    logs/<model>/predictions/_counters/<server_id>.json
    logs/<model>/feedback/server=<server_id>/date=YYYY-MM-DD/part-<unix_ms>-<uuid8>.parquet

and readers (`shipyard monitor`, the retrain triggers, rollout analysis) read every
server's partition through a local mirror, `.shipyard/logs-cache/<model>/`, refreshed on
each read: parts are immutable, so only new keys are downloaded (counters every time).
Without an object store, readers read `local` itself: the embedded layout of one machine.

The mirror is only a cache, pruned on each read of it: a copy whose key the store no longer
holds is removed, and so is a part of a day wholly before the read's horizon (kept: the last
`state.logs_cache_days` days, or further back when the reader asks for more: a longer
`--window`, the labels since the last training). Such parts are not fetched either. Nothing
outside the mirror is touched: the servers' own parts under `local` are never pruned here.

Examples:
    >>> location = LogLocation(Path("/srv/demo/.shipyard"))
    >>> location.folder("predictions")
    PosixPath('/srv/demo/.shipyard/predictions')
    >>> location.readable("feedback")
    PosixPath('/srv/demo/.shipyard/feedback')
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    from shipyard.workspace.objects import ObjectStore

KINDS = ("predictions", "feedback")  # the logs: shipyard.serving.predlog's folder names
COUNTERS = "_counters"  # mutable objects: fetched again on every read
SERVER_PARTITION = "server="
DATE_PARTITION = "date="
STALE_COPY_S = 3600  # a temporary copy this old was left by a reader that died mid-copy


@dataclass(frozen=True)
class LogLocation:
    """The folder servers write the logs in, and (optionally) the store they share them through."""

    local: Path
    store: ObjectStore | None = None
    prefix: str = ""  # the store's log folder of this model: logs/<model>
    mirror: Path | None = None  # the local copy of the store's logs readers read
    retention_days: float | None = None  # mirrored parts kept (see the module docstring); None: all

    def __post_init__(self) -> None:
        if self.mirror is None:
            return
        for kind in KINDS:  # pruning the mirror must never reach a server's unuploaded parts
            own, copy = self.folder(kind).resolve(), (self.mirror / kind).resolve()
            if own == copy or own in copy.parents or copy in own.parents:
                raise ConfigError(
                    f"The logs mirror {self.mirror} overlaps the servers' log folder {own}: "
                    "give the mirror a folder of its own."
                )

    def folder(self, kind: str) -> Path:
        """Where this machine's server writes the `kind` log ("predictions" or "feedback")."""
        return self.local / kind

    def key(self, kind: str, server_id: str, relative: str) -> str:
        """The store key of a part this server wrote (`relative`: `date=…/part-….parquet`)."""
        return f"{self.prefix}/{kind}/{SERVER_PARTITION}{server_id}/{relative}"

    def counters_key(self, server_id: str) -> str:
        return f"{self.prefix}/predictions/{COUNTERS}/{server_id}.json"

    def readable(self, kind: str, *, since: datetime | None = None) -> Path:
        """A local folder with every server's `kind` parts: the store's, copied in first, or `local`'s.

        `since`: the oldest row the reader needs, when older than the retention allows.
        `ServiceUnavailableError` (naming the store) when the store cannot be reached.
        """
        if self.store is None or self.mirror is None:
            return self.folder(kind)
        return mirror(self.store, f"{self.prefix}/{kind}", self.mirror / kind, since=self._horizon(since))

    def _horizon(self, since: datetime | None) -> datetime | None:
        """The oldest time a mirrored part must cover: the retention's, or `since` when older."""
        if self.retention_days is None:
            return None
        horizon = datetime.now(UTC) - timedelta(days=self.retention_days)
        return horizon if since is None else min(horizon, since)

    def readable_root(self) -> Path:
        """A local folder whose `predictions/` and `feedback/` hold every server's parts (both refreshed)."""
        for kind in KINDS:
            folder = self.readable(kind)
        return folder.parent


def mirror(store: ObjectStore, prefix: str, folder: Path, *, since: datetime | None = None) -> Path:
    """Make `folder` a copy of the objects under `prefix`, keyed by their names below it: copy what
    `folder` lacks (counters always) and remove what the store no longer holds. With `since`, parts
    of a day that ended before it (`date=` partition) are neither copied nor kept. Returns `folder`."""
    wanted = {}
    for key in store.list(prefix):
        relative = key[len(prefix) :].lstrip("/")
        if since is None or not _before(relative, since):
            wanted[relative] = key
    _prune(folder, set(wanted))
    for relative, key in wanted.items():
        target = folder / relative
        if target.exists() and not relative.startswith(COUNTERS):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")  # two readers may copy at once
        if store.get(key, tmp):
            os.replace(tmp, target)
    return folder


def _before(relative: str, since: datetime) -> bool:
    """Whether every row of the part at `relative` is older than `since`. Its `date=` partition is
    the day its segment began, and a segment may run past midnight: a day's parts are only
    counted older from the day after next."""
    for name in relative.split("/"):
        if name.startswith(DATE_PARTITION):
            try:
                day = date.fromisoformat(name.removeprefix(DATE_PARTITION))
            except ValueError:
                return False  # not a partition of ours: kept
            return day + timedelta(days=1) < since.date()
    return False


def _prune(folder: Path, wanted: set[str]) -> None:
    """Remove every file under `folder` not in `wanted` (names relative to it), then empty folders.

    A temporary copy (`.name.<uuid8>`) of another reader is left alone unless it is stale."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):  # files before the folders holding them
        if path.is_dir():
            with suppress(OSError):  # not empty (another reader is copying into it): kept
                path.rmdir()
            continue
        if path.name.startswith("."):
            if time.time() - path.stat().st_mtime > STALE_COPY_S:
                path.unlink(missing_ok=True)
        elif path.relative_to(folder).as_posix() not in wanted:
            path.unlink(missing_ok=True)
