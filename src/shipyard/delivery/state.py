"""Rollout state, audit log and incidents in SQL (SQLAlchemy Core, portable column types).

SQLite by default (the project's `.shipyard/shipyard.db`, beside the alias history, in
tables of its own); any SQLAlchemy URL works, e.g. PostgreSQL. Every change of a rollout
is one transaction that also appends its audit event, so a killed controller leaves a row
it can resume from, and the audit log says who did what, when, why, with which evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

import sqlalchemy as sa

from shipyard.core.clock import from_db, utc_now
from shipyard.core.sql import open_engine
from shipyard.errors import BusyError, ConfigError

RUNNING, PAUSED = "running", "paused"
SUCCEEDED, ROLLED_BACK, ABORTED = "succeeded", "rolled_back", "aborted"
ACTIVE = (RUNNING, PAUSED)

_METADATA = sa.MetaData()

ROLLOUTS = sa.Table(
    "shipyard_rollouts",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("environment", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("baseline_version", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("steps", sa.Text, nullable=False),
    sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("violations", sa.Text, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("controller", sa.String(255), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    # at most one active rollout per model and environment, enforced by the database itself
    sa.Column("active_key", sa.String(600), nullable=True, unique=True),
)

EVENTS = sa.Table(
    "shipyard_rollout_events",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rollout_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("step", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=True),
)

INCIDENTS = sa.Table(
    "shipyard_incidents",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rollout_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
)


def now() -> datetime:
    return utc_now()


@overload
def _utc(when: datetime) -> datetime: ...
@overload
def _utc(when: None) -> None: ...
def _utc(when: datetime | None) -> datetime | None:
    return None if when is None else from_db(when)


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key a single-row INSERT just wrote."""
    # SQLAlchemy types the key Optional (None after an executemany); one row always has one
    return int(result.inserted_primary_key[0])  # type: ignore[index]


@dataclass(frozen=True)
class Rollout:
    """One rollout of `version` over `baseline_version` (production when it started)."""

    id: int
    model: str
    environment: str
    version: str
    baseline_version: str
    status: str
    step: int
    steps: tuple[float, ...]
    step_started_at: datetime
    violations: dict[str, int]
    actor: str
    controller: str | None
    heartbeat_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    reason: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> float:
        """Canary traffic of the current step, in percent (0 for a shadow step)."""
        return self.steps[min(self.step, len(self.steps) - 1)]

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()} | {
            "steps": list(self.steps),
            "percent": self.percent,
        }


@dataclass(frozen=True)
class AuditEvent:
    rollout_id: int
    at: datetime
    actor: str
    action: str
    step: int | None
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _rollout(row: sa.RowMapping) -> Rollout:
    return Rollout(
        id=row["id"],
        model=row["model"],
        environment=row["environment"],
        version=row["version"],
        baseline_version=row["baseline_version"],
        status=row["status"],
        step=row["step"],
        steps=tuple(json.loads(row["steps"])),
        step_started_at=_utc(row["step_started_at"]),
        violations=json.loads(row["violations"]),
        actor=row["actor"],
        controller=row["controller"],
        heartbeat_at=_utc(row["heartbeat_at"]),
        started_at=_utc(row["started_at"]),
        finished_at=_utc(row["finished_at"]),
        reason=row["reason"],
    )


class RolloutStore:
    """Rollouts, their audit events and incidents at a SQLAlchemy `url`; tables are created."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = open_engine(url, _METADATA)

    def create(
        self,
        *,
        model: str,
        environment: str,
        version: str,
        baseline_version: str,
        steps: list[float],
        actor: str,
        reason: str,
        evidence: dict[str, Any],
    ) -> Rollout:
        """Insert a running rollout at step 0, or raise `BusyError` naming the active one."""
        at = now()
        values = {
            "model": model,
            "environment": environment,
            "version": version,
            "baseline_version": baseline_version,
            "status": RUNNING,
            "step": 0,
            "steps": json.dumps(list(steps)),
            "step_started_at": at,
            "violations": "{}",
            "actor": actor,
            "started_at": at,
            "reason": reason,
            "active_key": f"{model}/{environment}",
        }
        try:
            with self._engine.begin() as conn:
                rollout_id = _inserted_id(conn.execute(ROLLOUTS.insert().values(**values)))
                self._append(conn, rollout_id, actor, "start", 0, reason, evidence, at)
        except sa.exc.IntegrityError:
            running = self.active(model, environment)
            raise BusyError(_busy_message(running, version)) from None
        return self.get(rollout_id)

    def get(self, rollout_id: int) -> Rollout:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(ROLLOUTS).where(ROLLOUTS.c.id == rollout_id)).mappings().first()
        if row is None:
            raise ConfigError(f"No rollout with id {rollout_id}. List them with 'shipyard rollout status'.")
        return _rollout(row)

    def active(self, model: str, environment: str) -> Rollout | None:
        """The running or paused rollout of `model` in `environment`, if any."""
        query = sa.select(ROLLOUTS).where(ROLLOUTS.c.active_key == f"{model}/{environment}")
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _rollout(row)

    def latest(self, model: str, environment: str) -> Rollout | None:
        query = (
            sa.select(ROLLOUTS)
            .where(ROLLOUTS.c.model == model, ROLLOUTS.c.environment == environment)
            .order_by(ROLLOUTS.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _rollout(row)

    def update(
        self,
        rollout: Rollout,
        *,
        actor: str,
        action: str,
        reason: str,
        evidence: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Rollout:
        """Apply `changes` to the rollout and append the audit event, in one transaction.

        A terminal status frees the model and environment for the next rollout. A rollout
        that another process ended meanwhile (abort, rollback) is left as it is: nothing is
        written and its current state is returned.
        """
        at = now()
        values = dict(changes)
        if "violations" in values:
            values["violations"] = json.dumps(values["violations"], sort_keys=True)
        if values.get("status") not in (None, *ACTIVE):
            values.update(active_key=None, finished_at=at, controller=None, reason=reason)
        still_active = (ROLLOUTS.c.id == rollout.id) & ROLLOUTS.c.status.in_(ACTIVE)
        statement = ROLLOUTS.update().where(still_active).values(**values or {"id": rollout.id})
        with self._engine.begin() as conn:
            if conn.execute(statement).rowcount == 0:
                return self.get(rollout.id)
            self._append(
                conn, rollout.id, actor, action, values.get("step", rollout.step), reason, evidence or {}, at
            )
        return self.get(rollout.id)

    def heartbeat(self, rollout: Rollout, controller: str) -> None:
        """Record that `controller` (pid@host) drives the rollout now; no audit event."""
        with self._engine.begin() as conn:
            conn.execute(
                ROLLOUTS.update()
                .where(ROLLOUTS.c.id == rollout.id)
                .values(controller=controller, heartbeat_at=now())
            )

    def record_incident(self, rollout: Rollout, summary: str, evidence: dict[str, Any]) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                INCIDENTS.insert().values(
                    rollout_id=rollout.id,
                    at=now(),
                    model=rollout.model,
                    version=rollout.version,
                    summary=summary,
                    evidence=json.dumps(evidence, sort_keys=True, default=str),
                )
            )
            return _inserted_id(result)

    def incidents(self, rollout_id: int) -> list[dict[str, Any]]:
        query = sa.select(INCIDENTS).where(INCIDENTS.c.rollout_id == rollout_id).order_by(INCIDENTS.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**row, "at": _utc(row["at"]), "evidence": json.loads(row["evidence"])} for row in rows]

    def events(self, rollout_id: int) -> list[AuditEvent]:
        """The audit log of one rollout, oldest first."""
        query = sa.select(EVENTS).where(EVENTS.c.rollout_id == rollout_id).order_by(EVENTS.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AuditEvent(
                rollout_id=row["rollout_id"],
                at=_utc(row["at"]),
                actor=row["actor"],
                action=row["action"],
                step=row["step"],
                reason=row["reason"],
                evidence=json.loads(row["evidence"]) if row["evidence"] else {},
            )
            for row in rows
        ]

    def log(
        self,
        rollout: Rollout,
        *,
        actor: str,
        action: str,
        reason: str,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit event without changing the rollout (e.g. a webhook failure)."""
        with self._engine.begin() as conn:
            self._append(conn, rollout.id, actor, action, rollout.step, reason, evidence or {}, now())

    @staticmethod
    def _append(
        conn: sa.Connection,
        rollout_id: int,
        actor: str,
        action: str,
        step: int | None,
        reason: str,
        evidence: dict[str, Any],
        at: datetime,
    ) -> None:
        conn.execute(
            EVENTS.insert().values(
                rollout_id=rollout_id,
                at=at,
                actor=actor,
                action=action,
                step=step,
                reason=reason,
                evidence=json.dumps(evidence, sort_keys=True, default=str) if evidence else None,
            )
        )

    def close(self) -> None:
        self._engine.dispose()


def _busy_message(running: Rollout | None, version: str) -> str:
    if running is None:  # it finished between our insert and this read
        return f"Another rollout started at the same moment; version {version} was not started. Try again."
    return (
        f"Rollout {running.id} of version {running.version} of model '{running.model}' is "
        f"{running.status} in '{running.environment}' (step {running.step + 1} of {len(running.steps)}, "
        f"{running.percent:g}% traffic), started by {running.actor}. Wait for it, or stop it with "
        f"'shipyard rollout abort', before starting version {version}."
    )
