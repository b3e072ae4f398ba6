"""The alias audit table: ordering, point-in-time queries, time zones, atomicity, portability."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from shipyard.errors import ConfigError
from shipyard.registry import AliasEvent, AliasHistory
from shipyard.registry.history import EVENTS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[AliasHistory]:
    store = AliasHistory(f"sqlite:///{tmp_path / 'nested' / 'audit.db'}")
    yield store
    store.close()


def move(alias: str, old: str | None, new: str | None, at: datetime, model: str = "m") -> AliasEvent:
    return AliasEvent(model, alias, old, new, "ci-bot", f"{old} -> {new}", None, at)


def test_events_come_back_oldest_first_with_every_field(history: AliasHistory) -> None:
    later = move("production", "1", "2", T0 + timedelta(days=2))
    earlier = AliasEvent("m", "production", None, "1", "alice", "first", '{"passed": true}', T0)
    history.record(later)
    history.record(earlier)
    assert history.events("m") == [earlier, later]


def test_events_filter_by_model_and_alias(history: AliasHistory) -> None:
    history.record_all(
        [
            move("candidate", None, "1", T0),
            move("production", None, "1", T0 + timedelta(hours=1)),
            move("production", None, "7", T0, model="other"),
        ]
    )
    assert [e.alias for e in history.events("m")] == ["candidate", "production"]
    assert [e.to_version for e in history.events("m", alias="production")] == ["1"]
    assert [e.to_version for e in history.events("other")] == ["7"]


def test_version_at_answers_which_version_was_live(history: AliasHistory) -> None:
    history.record_all(
        [
            move("production", None, "1", T0),
            move("production", "1", "2", T0 + timedelta(days=10)),
            move("production", "2", None, T0 + timedelta(days=20)),
        ]
    )
    assert history.version_at("m", "production", T0 - timedelta(seconds=1)) is None
    assert history.version_at("m", "production", T0) == "1"
    assert history.version_at("m", "production", T0 + timedelta(days=9)) == "1"
    assert history.version_at("m", "production", T0 + timedelta(days=10)) == "2"
    assert history.version_at("m", "production", T0 + timedelta(days=25)) is None
    assert history.version_at("m", "candidate", T0 + timedelta(days=9)) is None


def test_same_instant_moves_keep_insertion_order(history: AliasHistory) -> None:
    history.record_all([move("production", None, "1", T0), move("production", "1", "2", T0)])
    assert history.version_at("m", "production", T0) == "2"


def test_other_time_zones_are_stored_and_compared_in_utc(history: AliasHistory) -> None:
    paris = timezone(timedelta(hours=2))
    history.record(move("production", None, "3", datetime(2026, 6, 1, 14, 0, tzinfo=paris)))
    (event,) = history.events("m")
    assert event.at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert event.at.tzinfo is UTC
    assert history.version_at("m", "production", datetime(2026, 6, 1, 13, 59, tzinfo=paris)) is None
    assert history.version_at("m", "production", datetime(2026, 6, 1, 12, 0, tzinfo=UTC)) == "3"


def test_naive_times_are_refused(history: AliasHistory) -> None:
    with pytest.raises(ConfigError, match="no time zone"):
        history.version_at("m", "production", datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="no time zone"):
        history.record(move("production", None, "1", datetime(2026, 1, 1)))


def test_record_all_is_all_or_nothing(history: AliasHistory) -> None:
    broken = AliasEvent("m", "previous", "1", None, None, "actor is required", None, T0)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError):
        history.record_all([move("production", "1", "2", T0), broken])
    assert history.events("m") == []


def test_records_persist_across_instances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    first = AliasHistory(url)
    first.record(move("production", None, "1", T0))
    first.close()
    second = AliasHistory(url)
    assert [e.to_version for e in second.events("m")] == ["1"]
    second.close()


def test_table_uses_portable_types_on_postgresql() -> None:
    ddl = str(CreateTable(EVENTS).compile(dialect=postgresql.dialect()))
    assert "CREATE TABLE shipyard_alias_events" in ddl
    assert "at TIMESTAMP WITH TIME ZONE NOT NULL" in ddl
    assert "from_version VARCHAR(64)," in ddl
    assert "id SERIAL NOT NULL" in ddl
