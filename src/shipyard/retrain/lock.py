"""A retrain lock that a crash cannot leave stuck: the kernel drops it when its holder dies.

`fcntl.flock` on a file in the project's state folder: a second holder is refused
at once (never queued), and a killed process releases it with no stale-lock
clean-up. The file records who holds it, so the refusal can name them.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shipyard.errors import BusyError


@contextmanager
def retrain_lock(path: Path, *, purpose: str) -> Iterator[None]:
    """Hold the lock at `path` for the duration of the block, or raise `BusyError`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = _read_holder(fd)
            raise BusyError(
                f"A retrain is already running ({running}); this one was not started. "
                f"Wait for it to finish, or stop it (the lock {path} is released when its process exits)."
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "purpose": purpose,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return "holder unknown"
    if not holder:
        return "holder unknown"
    who = f"pid {holder.get('pid')} on {holder.get('host')}"
    return f"{who} since {holder.get('since')}: {holder.get('purpose')}"
