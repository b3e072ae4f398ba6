"""How a server follows the desired-state log: newer revisions are seen, a failed load is
reported once and the current models keep serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from serving_fixtures import SCHEMA, model_set

from shipyard.config.policy import ServingConfig
from shipyard.errors import ConfigError
from shipyard.serving.app import ServerState
from shipyard.serving.desired import CanaryState, DesiredState, write_desired
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
        "desired_file_error": None,
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


def test_a_malformed_deploy_file_is_reported_and_the_log_followed_until_it_is_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log, deploy = _log(tmp_path), tmp_path / "deploy" / "production.yaml"
    write_desired(deploy, PRODUCTION)
    source = DesiredSource(deploy, log, "server")
    assert source.read() == PRODUCTION and source.revision == 1  # the file, recorded as revision 1
    broken = "model: m\nproduction: [\n"
    deploy.write_text(broken)  # a hand edit gone wrong
    log.record(CANARY, after=1, actor="bo", reason="canary from another machine")
    assert source.behind()
    for _ in range(2):
        assert source.read() == CANARY and source.revision == 2 and not source.behind()
    assert deploy.read_text() == broken  # left for its author to fix
    error = source.describe()["desired_file_error"]
    assert isinstance(error, str) and error.startswith("production.yaml: malformed YAML")
    assert str(tmp_path) not in error
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "cannot be read" in r.getMessage()]
    assert len(logged) == 1  # once per distinct problem, not once per poll
    deploy.write_text(broken.replace("[", "'3'") + "previous: '1'\n")  # fixed: a hand edit on revision 1
    fixed = source.read()
    assert fixed is not None and (fixed.production, fixed.previous) == ("3", "1")
    assert source.revision == 3 and source.describe()["desired_file_error"] is None
    newest = log.latest()
    assert newest is not None and newest.state == fixed and "changed outside shipyard" in newest.reason


def test_a_malformed_deploy_file_with_no_revision_to_follow_is_the_error(tmp_path: Path) -> None:
    deploy = tmp_path / "production.yaml"
    deploy.write_text("model: m\ncanary: {version: '2', weight: 3}\n")
    source = DesiredSource(deploy, _log(tmp_path), "server")
    with pytest.raises(ConfigError, match=r"production.yaml: canary.weight: Input should be less than"):
        source.read()
    assert deploy.read_text().startswith("model: m\ncanary:")
