"""The engine behind Shipyard's own SQL records (alias history, rollouts, retrain decisions)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import sqlalchemy as sa

from shipyard.errors import ServiceUnavailableError

CONNECT_TIMEOUT_S = 10


def open_engine(url: str, metadata: sa.MetaData) -> sa.Engine:
    """An engine for the SQLAlchemy `url`, with `metadata`'s tables created when missing.

    A SQLite file's folder is created first, so the default `.shipyard/shipyard.db` just works.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = sa.create_engine(parsed, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        try:
            metadata.create_all(engine)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise ServiceUnavailableError(
                f"Could not reach the state database at {parsed.render_as_string(hide_password=True)} "
                f"(connect timeout {CONNECT_TIMEOUT_S} s): {str(exc.orig).strip()}. Check that it is "
                "running and reachable (state.url / SHIPYARD_STATE_URL)."
            ) from exc
        return engine
    engine = sa.create_engine(parsed)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database)
        database.parent.mkdir(parents=True, exist_ok=True)
        # two first runs at once would both see the tables missing and both create them
        fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            metadata.create_all(engine)
        finally:
            os.close(fd)
        return engine
    metadata.create_all(engine)
    return engine
