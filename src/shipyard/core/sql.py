"""The engine behind Shipyard's own SQL records (alias history, rollouts, retrain decisions)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def open_engine(url: str, metadata: sa.MetaData) -> sa.Engine:
    """An engine for the SQLAlchemy `url`, with `metadata`'s tables created when missing.

    A SQLite file's folder is created first, so the default `.shipyard/shipyard.db` just works.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed)
    metadata.create_all(engine)
    return engine
