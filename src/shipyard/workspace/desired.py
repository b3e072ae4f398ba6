"""The desired-state log: every change of a deploy file, numbered, in the state database.

`deploy/<env>.yaml` stays the reviewed source of truth in git. Each time the rollout
controller, `shipyard rollout abort` or `shipyard rollback` changes it, the new document is
also appended here as the next revision, with who and why. Servers poll the newest revision
(`serving.desired_poll_s`), so a change made on any machine reaches every server sharing the
database, replicas without a deploy file (`shipyard serve --desired state`) included.

How a deploy file and the log reconcile (`current`): the newest revision wins. The file names
the revision it was written from in a comment. A file whose content matches that revision is
in step, or behind and rewritten from the newest. A file whose content differs from the
revision it names (or that names none, or one the database does not hold) was edited by hand
or comes from elsewhere: whoever reads it next (`shipyard rollout ...`, `shipyard rollback`,
`shipyard serve --desired FILE`) records it as the newest revision, unless it already says
exactly what the newest revision says (then the file is only relabelled). Revision numbers are
claimed by insert (the primary key refuses a second writer of the same number), so two writers
never both win; the loser reads again and reapplies its change on top.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from shipyard.core.clock import from_db, utc_now
from shipyard.core.sql import open_engine
from shipyard.serving.desired import DesiredState, file_revision, read_desired, write_desired

__all__ = ["DesiredLog", "Revision", "current", "update"]

_METADATA = sa.MetaData()

DESIRED = sa.Table(
    "shipyard_desired_state",
    _METADATA,
    sa.Column("model", sa.String(255), primary_key=True),
    sa.Column("environment", sa.String(255), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Revision:
    """One recorded desired state: its number (1, 2, ...), the state, who recorded it, when and why."""

    number: int
    state: DesiredState
    actor: str
    reason: str
    recorded_at: datetime


class DesiredLog:
    """The revisions of one model's desired state in one environment, at a SQLAlchemy `url`."""

    def __init__(self, url: str, model: str, environment: str) -> None:
        self.url = url
        self.model = model
        self.environment = environment
        self._engine = open_engine(url, _METADATA)

    def _select(self) -> sa.Select[tuple[object, ...]]:
        return sa.select(DESIRED).where(
            DESIRED.c.model == self.model, DESIRED.c.environment == self.environment
        )

    def latest(self) -> Revision | None:
        """The newest revision, or None when nothing was recorded yet."""
        with self._engine.connect() as conn:
            row = conn.execute(self._select().order_by(DESIRED.c.revision.desc()).limit(1)).mappings().first()
        return None if row is None else _revision(row)

    def get(self, number: int) -> Revision | None:
        with self._engine.connect() as conn:
            row = conn.execute(self._select().where(DESIRED.c.revision == number)).mappings().first()
        return None if row is None else _revision(row)

    def record(self, state: DesiredState, *, after: int, actor: str, reason: str) -> Revision | None:
        """Append `state` as revision `after + 1`; None when another writer recorded that number first."""
        revision = Revision(after + 1, state, actor, reason, utc_now())
        row = {
            "model": self.model,
            "environment": self.environment,
            "revision": revision.number,
            "document": json.dumps(state.model_dump(mode="json", exclude_none=True), sort_keys=True),
            "actor": actor,
            "reason": reason,
            "recorded_at": revision.recorded_at,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(DESIRED.insert().values(**row))
        except sa.exc.IntegrityError:
            return None
        return revision

    def close(self) -> None:
        self._engine.dispose()


def _revision(row: sa.RowMapping) -> Revision:
    state = DesiredState.model_validate(json.loads(row["document"]))
    return Revision(row["revision"], state, row["actor"], row["reason"], from_db(row["recorded_at"]))


def current(path: Path | None, log: DesiredLog, *, actor: str) -> Revision | None:
    """Bring the deploy file at `path` (None: a server without one) and `log` in step, as the
    module docstring says; the newest revision, or None when neither holds a desired state."""
    while True:
        newest = log.latest()
        if path is None or not path.is_file():
            if newest is not None and path is not None:
                write_desired(path, newest.state, revision=newest.number)
            return newest
        state, named = read_desired(path), file_revision(path)
        recorded = None if named is None else log.get(named)
        if (recorded is None or recorded.state != state) and newest is not None and newest.state == state:
            write_desired(path, state, revision=newest.number)  # edited to what is newest: name it
            return newest
        if recorded is None or recorded.state != state:
            reason = f"{path.name} changed outside shipyard (edited by hand, or from another database)"
            revision = log.record(state, after=_number(newest), actor=actor, reason=reason)
            if revision is None:
                continue  # another writer recorded a revision meanwhile: look again
            write_desired(path, state, revision=revision.number)
            return revision
        if newest is not None and newest.number > recorded.number:
            write_desired(path, newest.state, revision=newest.number)
            return newest
        return recorded


def update(
    path: Path | None,
    log: DesiredLog,
    change: Callable[[DesiredState | None], DesiredState],
    *,
    actor: str,
    reason: str,
) -> tuple[DesiredState, bool]:
    """Apply `change` to the newest desired state (None when there is none yet); record it and
    write the file when it differs. Returns (state, changed)."""
    while True:
        base = current(path, log, actor=actor)
        before = None if base is None else base.state
        new = change(before)
        if new == before:
            return new, False
        revision = log.record(new, after=_number(base), actor=actor, reason=reason)
        if revision is None:
            continue  # another writer got there first: reapply the change on top of theirs
        if path is not None:
            write_desired(path, new, revision=revision.number)
        return new, True


def _number(revision: Revision | None) -> int:
    return 0 if revision is None else revision.number
