"""Time in UTC, and UTC restored on timestamps read back from SQL (SQLite drops the zone)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def from_db(when: datetime) -> datetime:
    """A timestamp read from SQL as aware UTC: every value is written in UTC, and SQLite
    returns it naive, so a naive value is UTC by construction."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
