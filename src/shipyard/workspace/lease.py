"""A lock shared by every machine that reaches one state database: a lease row with an expiry.

The holder renews the lease from a background thread while it works; a holder that dies
stops renewing, and its lease is free again `lease_s` seconds after the last renewal. A
second holder is refused at once (never queued), with the holder named in the message.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from shipyard.core.sql import open_engine
from shipyard.errors import BusyError

_METADATA = sa.MetaData()

LEASES = sa.Table(
    "shipyard_leases",
    _METADATA,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def lease(url: str, name: str, *, purpose: str, lease_s: float, busy_hint: str) -> Iterator[None]:
    """Hold the lease `name` in the state database at `url` for the block, or raise `BusyError`."""
    engine = open_engine(url, _METADATA)
    token = uuid.uuid4().hex
    holder = f"pid {os.getpid()} on {socket.gethostname()}"
    try:
        _acquire(engine, name, token, holder, purpose, lease_s, busy_hint)
        stop = threading.Event()
        renewer = threading.Thread(
            target=_renew, args=(engine, name, token, lease_s, stop), name=f"lease-{name}", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with engine.begin() as conn:
                conn.execute(LEASES.delete().where(LEASES.c.name == name, LEASES.c.token == token))
    finally:
        engine.dispose()


def _acquire(
    engine: sa.Engine, name: str, token: str, holder: str, purpose: str, lease_s: float, busy_hint: str
) -> None:
    now = _now()
    row = {"token": token, "holder": holder, "purpose": purpose, "since": now}
    expires = now + timedelta(seconds=lease_s)
    try:
        with engine.begin() as conn:
            conn.execute(LEASES.insert().values(name=name, expires_at=expires, **row))
        return
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as conn:  # taken: ours only if the holder stopped renewing
        taken = conn.execute(
            LEASES.update()
            .where(LEASES.c.name == name, LEASES.c.expires_at < now)
            .values(expires_at=expires, **row)
        ).rowcount
        current = conn.execute(sa.select(LEASES).where(LEASES.c.name == name)).mappings().first()
    if taken == 1:
        return
    who = (
        f"{current['holder']} since {current['since']}: {current['purpose']}" if current else "holder unknown"
    )
    raise BusyError(
        f"{purpose.capitalize()} is already running ({who}); this one was not started. {busy_hint}"
    )


def _renew(engine: sa.Engine, name: str, token: str, lease_s: float, stop: threading.Event) -> None:
    while not stop.wait(lease_s / 3):
        try:
            with engine.begin() as conn:
                conn.execute(
                    LEASES.update()
                    .where(LEASES.c.name == name, LEASES.c.token == token)
                    .values(expires_at=_now() + timedelta(seconds=lease_s))
                )
        except sa.exc.SQLAlchemyError:
            continue  # the database is unreachable for now: try again at the next tick
