"""How a server follows the desired-state log: newer revisions are seen, a failed load is
reported once and the current models keep serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

from serving_fixtures import SCHEMA, model_set

from shipyard.config.policy import ServingConfig
from shipyard.serving.app import ServerState
from shipyard.serving.desired import CanaryState, DesiredState
from shipyard.serving.follow import DesiredSource, reconcile
from shipyard.serving.models import ModelHolder
from shipyard.serving.validation import RequestValidator
from shipyard.workspace.desired import DesiredLog
from shipyard.workspace.logs import LogLocation

PRODUCTION = DesiredState(model="m", production="1")
CANARY = PRODUCTION.model_copy(update={"canary": CanaryState(version="2", weight=0.5)})


def _log(tmp_path: Path) -> DesiredLog:
    return DesiredLog(f"sqlite:///{tmp_path / 'shipyard.db'}", "m", "production")


def test_a_replica_without_a_file_reads_the_newest_revision_and_sees_newer_ones(tmp_path: Path) -> None:
    log = _log(tmp_path)
    source = DesiredSource(None, log, "replica")
    assert source.read() is None and not source.behind()
    log.record(PRODUCTION, after=0, actor="ana", reason="first")
    assert source.behind()
    assert source.read() == PRODUCTION and source.revision == 1 and not source.behind()
    log.record(CANARY, after=1, actor="bo", reason="canary from another machine")
    assert source.behind()
    assert source.describe() == {
        "desired_file": None,
        "desired_environment": "production",
        "desired_revision": 1,
    }


def test_a_revision_that_cannot_be_loaded_is_reported_and_not_retried(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(CANARY, after=0, actor="bo", reason="canary")
    holder = ModelHolder.fixed(model_set())  # no registry: any load fails
    served = holder.current
    state = ServerState(ServingConfig(), holder, RequestValidator(SCHEMA), LogLocation(tmp_path))
    state.desired = DesiredSource(None, log, "replica")
    try:
        assert asyncio.run(reconcile(state)) is False
        assert holder.current is served and "without a registry" in (holder.last_error or "")
        assert state.desired.revision == 1 and not state.desired.behind()  # seen: the next poll waits
    finally:
        asyncio.run(state.close())
