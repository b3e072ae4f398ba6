"""Content-addressed stage outputs under `.shipyard/cache/<stage>/<key>/`.

A stage writes into a temporary folder that is renamed into place only when it
succeeds, so a crash never leaves a half-written entry that a rerun would trust.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_DONE = ".complete"


class StageCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:32]

    def lookup(self, stage: str, key: str) -> Path | None:
        path = self.path(stage, key)
        return path if (path / _DONE).exists() else None

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


def _remove_abandoned(final: Path, older_than_s: float = 3600.0) -> None:
    """Temporary folders of runs that were killed outright (SIGKILL) and never cleaned up."""
    now = time.time()
    for leftover in final.parent.glob(f".{final.name}-*"):
        if now - leftover.stat().st_mtime > older_than_s:
            shutil.rmtree(leftover, ignore_errors=True)
