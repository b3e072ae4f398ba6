"""Uploading a server's closed log parts to the shared object store, never losing one.

With an object store (`state.object_store`) a server writes each Parquet part into its
outbox, `<log dir>/_wal/<server_id>/parts/date=…/part-….parquet`, and this uploads it to
`logs/<model>/<kind>/server=<server_id>/date=…/part-….parquet` (`LogLocation.key`), then
deletes the local copy. A part that cannot be uploaded after a few retries stays in the
outbox and is tried again at the next flush (or by the next server started on the folder,
when this one stopped); each failed round is counted. Parts are immutable and named once,
so uploading one twice (a crash between the upload and the delete) writes the same object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.serving.predlog import RETRY_DELAYS_S
from shipyard.workspace.logs import LogLocation

logger = logging.getLogger(__name__)

OUTBOX = "parts"  # inside a server's write-ahead folder: parts waiting for the object store


class PartUploader:
    """Moves the parts in a server's outbox to the object store (see the module docstring)."""

    def __init__(
        self, location: LogLocation, kind: str, on_upload: Callable[[bool], None] | None = None
    ) -> None:
        assert location.store is not None
        self.store = location.store
        self.location = location
        self.kind = kind
        self.on_upload = on_upload or (lambda ok: None)  # e.g. the server's metrics
        self.uploaded_parts = 0
        self.failed_uploads = 0  # rounds that left a part in the outbox

    def pending(self, wal_folder: Path) -> list[Path]:
        """The parts still waiting in a server's outbox, oldest first."""
        outbox = wal_folder / OUTBOX
        return sorted(outbox.rglob("*.parquet"), key=lambda p: p.name) if outbox.is_dir() else []

    def upload(self, wal_folder: Path) -> bool:
        """Upload every part of the server whose write-ahead folder is `wal_folder`; False when
        one failed (it and the rest stay for the next round)."""
        server_id = wal_folder.name
        for part in self.pending(wal_folder):
            relative = part.relative_to(wal_folder / OUTBOX).as_posix()
            if not self._put(self.location.key(self.kind, server_id, relative), part):
                self.on_upload(False)
                return False
            part.unlink(missing_ok=True)
            self.uploaded_parts += 1
            self.on_upload(True)
        return True

    def put_counters(self, server_id: str, path: Path) -> None:
        """Share this server's counters file (replaced at every flush); a failure is retried next time."""
        if path.is_file():
            self._put(self.location.counters_key(server_id), path)

    def _put(self, key: str, path: Path) -> bool:
        error: Exception | None = None
        for delay in (0.0, *RETRY_DELAYS_S):
            time.sleep(delay)
            if not path.is_file():  # another server on the folder uploaded and deleted it
                return True
            try:
                self.store.put(key, path)
                return True
            except (ShipyardError, OSError) as exc:  # retried; the file stays local
                error = exc
        self.failed_uploads += 1
        logger.error(
            "Could not upload %s to the object store %s (%s); it stays in %s and is retried at the "
            "next flush.", key, self.store.description, error, path.parent,
        )  # fmt: skip
        return False
