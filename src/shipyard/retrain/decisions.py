"""Every retrain decision, kept in SQL beside the alias history: when, which triggers fired, what followed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shipyard.core.clock import from_db
from shipyard.core.sql import open_engine

_METADATA = sa.MetaData()

DECISIONS = sa.Table(
    "shipyard_retrain_decisions",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retrain", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("version", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("triggers", sa.Text, nullable=False),
    sa.Index("ix_shipyard_retrain_decisions_model_at", "model", "at"),
)


@dataclass(frozen=True)
class Decision:
    """One evaluation of the triggers and what was done about it.

    `outcome` is one of: `skipped` (no trigger fired), `rejected` (retrained, a gate
    said no), `registered`, `rollout_started`, `failed` (the run could not finish).
    """

    model: str
    retrain: bool
    outcome: str
    triggers: list[dict[str, Any]]
    actor: str
    version: str | None = None
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "retrain": self.retrain,
            "outcome": self.outcome,
            "version": self.version,
            "actor": self.actor,
            "at": self.at.isoformat() if self.at else None,
            "triggers": self.triggers,
        }


class DecisionLog:
    """The decisions table at a SQLAlchemy `url` (SQLite by default); created when missing."""

    def __init__(self, url: str) -> None:
        self._engine = open_engine(url, _METADATA)

    def record(self, decision: Decision) -> Decision:
        at = decision.at or datetime.now(UTC)
        with self._engine.begin() as conn:
            conn.execute(
                DECISIONS.insert().values(
                    model=decision.model,
                    at=at,
                    retrain=decision.retrain,
                    outcome=decision.outcome,
                    version=decision.version,
                    actor=decision.actor,
                    triggers=json.dumps(decision.triggers, sort_keys=True, default=str),
                )
            )
        return Decision(**{**decision.__dict__, "at": at})

    def recent(self, model: str, limit: int = 20) -> list[Decision]:
        newest_first = DECISIONS.c.id.desc()
        query = DECISIONS.select().where(DECISIONS.c.model == model).order_by(newest_first).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Decision(
                model=row["model"],
                retrain=row["retrain"],
                outcome=row["outcome"],
                triggers=json.loads(row["triggers"]),
                actor=row["actor"],
                version=row["version"],
                at=from_db(row["at"]),
            )
            for row in rows
        ]

    def close(self) -> None:
        self._engine.dispose()
