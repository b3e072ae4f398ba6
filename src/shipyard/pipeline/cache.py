"""Content-addressed stage outputs under `.shipyard/cache/<stage>/<key>/`.

A stage writes into a temporary folder that is renamed into place only when it
succeeds, so a crash never leaves a half-written entry that a rerun would trust.
With a shared object store (`state.object_store`), each completed entry is also stored
there as one tar object, and an entry missing here is fetched from it: a second clone's
unchanged run trains nothing. `prefetch` brings several such entries at once, so a run
that finds every stage cached waits for one round trip to the store, not one per stage.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shipyard.errors import IntegrityError
from shipyard.workspace.objects import ObjectStore, concurrently

_DONE = ".complete"


class StageCache:
    def __init__(self, root: Path, shared: ObjectStore | None = None) -> None:
        self.root = root
        self.shared = shared

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:32]

    def lookup(self, stage: str, key: str) -> Path | None:
        path = self.path(stage, key)
        if (path / _DONE).exists():
            return path
        if self.shared is not None and self._fetch(self.shared, stage, key):
            return path
        return None

    def prefetch(self, entries: Sequence[tuple[str, str]]) -> None:
        """Fetch the shared entries of these `(stage, key)` pairs that are missing here, several
        at a time (`workspace.objects.concurrently`), so that the `lookup`s that follow find them
        in place.

        What is fetched, and what is refused, is what `lookup` would fetch or refuse; an error
        is raised for the first failing entry in `entries` order, once the others are done.
        """
        shared = self.shared
        missing = [(stage, key) for stage, key in entries if not (self.path(stage, key) / _DONE).exists()]
        if shared is not None:
            concurrently(lambda entry: self._fetch(shared, *entry), missing)

    def _object(self, stage: str, key: str) -> str:
        return f"cache/{stage}/{key[:32]}.tar"

    def _fetch(self, shared: ObjectStore, stage: str, key: str) -> bool:
        """Unpack the shared entry into place (atomically); False when there is none."""
        final = self.path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            archive = tmp / "entry.tar"
            if not shared.get(self._object(stage, key), archive):
                return False
            unpacked = tmp / "entry"
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(unpacked, filter="data")  # refuses links and paths out of the folder
            except tarfile.TarError as exc:
                raise IntegrityError(
                    f"The shared cache entry {self._object(stage, key)} in {shared.description} is not a "
                    f"clean archive ({exc}); refusing it. Delete that object, then run again."
                ) from None
            if not (unpacked / _DONE).exists():
                return False
            if not final.exists():
                os.replace(unpacked, final)
            return True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _share(self, shared: ObjectStore, stage: str, key: str) -> None:
        final = self.path(stage, key)
        fd, archive = tempfile.mkstemp(prefix=f".{final.name}-", suffix=".tar", dir=final.parent)
        os.close(fd)
        try:
            with tarfile.open(archive, "w") as tar:
                tar.add(final, arcname=".")
            shared.put(self._object(stage, key), Path(archive))
        finally:
            os.unlink(archive)

    @contextmanager
    def store(self, stage: str, key: str) -> Iterator[Path]:
        """Yield an empty folder; on success it becomes the cached output of (stage, key)."""
        final = self.path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            yield tmp
            (tmp / _DONE).touch()
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        if self.shared is not None:
            self._share(self.shared, stage, key)


def _remove_abandoned(final: Path, older_than_s: float = 3600.0) -> None:
    """Temporary folders of runs that were killed outright (SIGKILL) and never cleaned up."""
    now = time.time()
    for leftover in final.parent.glob(f".{final.name}-*"):
        if now - leftover.stat().st_mtime > older_than_s:
            shutil.rmtree(leftover, ignore_errors=True)
