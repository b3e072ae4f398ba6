"""Who moved which alias, when and why: an append-only audit table beside the registry.

MLflow keeps only where an alias points now. `AliasHistory` keeps every move, so
"which version was in production on 3 March?" has an answer. It uses SQLAlchemy
Core with portable column types: SQLite by default, PostgreSQL or any other
SQLAlchemy URL works the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from shipyard.core.clock import from_db, utc_now
from shipyard.core.sql import open_engine
from shipyard.errors import ConfigError

_METADATA = sa.MetaData()

EVENTS = sa.Table(
    "shipyard_alias_events",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("alias", sa.String(255), nullable=False),
    sa.Column("from_version", sa.String(64), nullable=True),
    sa.Column("to_version", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("report", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_shipyard_alias_events_lookup", "model", "alias", "at"),
)


def _utc(when: datetime) -> datetime:
    """`when` in UTC; a naive datetime is refused because its zone would be a guess."""
    if when.tzinfo is None:
        raise ConfigError(
            f"The time {when.isoformat()} has no time zone. Pass an aware datetime, "
            "e.g. datetime(2026, 3, 1, tzinfo=UTC)."
        )
    return when.astimezone(UTC)


@dataclass(frozen=True)
class AliasEvent:
    """One alias move: `alias` of `model` went from `from_version` to `to_version`.

    `from_version` is None when the alias was new; `to_version` is None when it was removed.
    `report` optionally holds the gate report (JSON or Markdown) that justified the move.
    """

    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str
    report: str | None = None
    at: datetime = field(default_factory=utc_now)


class AliasHistory:
    """The alias audit table at a SQLAlchemy `url`; the table is created when missing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = open_engine(url, _METADATA)

    def record(self, event: AliasEvent) -> None:
        """Append one event."""
        self.record_all([event])

    def record_all(self, events: Sequence[AliasEvent]) -> None:
        """Append several events in one transaction: all are stored or none."""
        if not events:
            return
        rows = [
            {
                "model": e.model,
                "alias": e.alias,
                "from_version": e.from_version,
                "to_version": e.to_version,
                "actor": e.actor,
                "reason": e.reason,
                "report": e.report,
                "at": _utc(e.at),
            }
            for e in events
        ]
        with self._engine.begin() as conn:
            conn.execute(EVENTS.insert(), rows)

    def events(self, model: str, *, alias: str | None = None) -> list[AliasEvent]:
        """Every event of `model` (of one `alias` when given), oldest first."""
        query = sa.select(EVENTS).where(EVENTS.c.model == model)
        if alias is not None:
            query = query.where(EVENTS.c.alias == alias)
        query = query.order_by(EVENTS.c.at, EVENTS.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AliasEvent(
                model=row["model"],
                alias=row["alias"],
                from_version=row["from_version"],
                to_version=row["to_version"],
                actor=row["actor"],
                reason=row["reason"],
                report=row["report"],
                at=from_db(row["at"]),
            )
            for row in rows
        ]

    def version_at(self, model: str, alias: str, when: datetime) -> str | None:
        """The version `alias` pointed to at `when`, or None if it pointed nowhere then."""
        query = (
            sa.select(EVENTS.c.to_version)
            .where(EVENTS.c.model == model, EVENTS.c.alias == alias, EVENTS.c.at <= _utc(when))
            .order_by(EVENTS.c.at.desc(), EVENTS.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()
