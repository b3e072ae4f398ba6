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

Examples:
    >>> location = LogLocation(Path("/srv/demo/.shipyard"))
    >>> location.folder("predictions")
    PosixPath('/srv/demo/.shipyard/predictions')
    >>> location.readable("feedback")
    PosixPath('/srv/demo/.shipyard/feedback')
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.workspace.objects import ObjectStore

KINDS = ("predictions", "feedback")  # the logs: shipyard.serving.predlog's folder names
COUNTERS = "_counters"  # mutable objects: fetched again on every read
SERVER_PARTITION = "server="


@dataclass(frozen=True)
class LogLocation:
    """The folder servers write the logs in, and (optionally) the store they share them through."""

    local: Path
    store: ObjectStore | None = None
    prefix: str = ""  # the store's log folder of this model: logs/<model>
    mirror: Path | None = None  # the local copy of the store's logs readers read

    def folder(self, kind: str) -> Path:
        """Where this machine's server writes the `kind` log ("predictions" or "feedback")."""
        return self.local / kind

    def key(self, kind: str, server_id: str, relative: str) -> str:
        """The store key of a part this server wrote (`relative`: `date=…/part-….parquet`)."""
        return f"{self.prefix}/{kind}/{SERVER_PARTITION}{server_id}/{relative}"

    def counters_key(self, server_id: str) -> str:
        return f"{self.prefix}/predictions/{COUNTERS}/{server_id}.json"

    def readable(self, kind: str) -> Path:
        """A local folder with every server's `kind` parts: the store's, copied in first, or `local`'s.

        `ServiceUnavailableError` (naming the store) when the store cannot be reached.
        """
        if self.store is None or self.mirror is None:
            return self.folder(kind)
        return mirror(self.store, f"{self.prefix}/{kind}", self.mirror / kind)

    def readable_root(self) -> Path:
        """A local folder whose `predictions/` and `feedback/` hold every server's parts (both refreshed)."""
        for kind in KINDS:
            folder = self.readable(kind)
        return folder.parent


def mirror(store: ObjectStore, prefix: str, folder: Path) -> Path:
    """Copy every object under `prefix` that `folder` lacks (counters always) into `folder`,
    keyed by its name below `prefix`; returns `folder`."""
    for key in store.list(prefix):
        relative = key[len(prefix) :].lstrip("/")
        target = folder / relative
        if target.exists() and not relative.startswith(COUNTERS):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")  # two readers may copy at once
        if store.get(key, tmp):
            os.replace(tmp, target)
    return folder
