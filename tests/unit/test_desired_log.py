"""The desired-state log: numbered revisions, and how a deploy file and the log reconcile."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.serving.desired import CanaryState, DesiredState, file_revision, read_desired, write_desired
from shipyard.workspace.desired import DesiredLog, current, update

PRODUCTION = DesiredState(model="m", production="1")
CANARY = PRODUCTION.model_copy(update={"canary": CanaryState(version="2", weight=0.25)})


@pytest.fixture
def log(tmp_path: Path) -> DesiredLog:
    return DesiredLog(f"sqlite:///{tmp_path / 'state' / 'shipyard.db'}", "m", "production")


def test_revisions_are_numbered_and_a_number_is_claimed_once(log: DesiredLog) -> None:
    assert log.latest() is None
    first = log.record(PRODUCTION, after=0, actor="ana", reason="first")
    assert first is not None and first.number == 1
    assert log.record(CANARY, after=0, actor="bo", reason="raced") is None  # number 1 is taken
    second = log.record(CANARY, after=1, actor="bo", reason="canary")
    newest = log.latest()
    assert second is not None and newest is not None
    assert (newest.number, newest.state, newest.actor, newest.reason) == (2, CANARY, "bo", "canary")
    assert log.get(1).state == PRODUCTION  # type: ignore[union-attr]


def test_logs_of_other_environments_do_not_mix(log: DesiredLog) -> None:
    staging = DesiredLog(log.url, "m", "staging")
    log.record(PRODUCTION, after=0, actor="a", reason="r")
    assert staging.latest() is None


def test_an_update_records_a_revision_and_names_it_in_the_file(tmp_path: Path, log: DesiredLog) -> None:
    path = tmp_path / "deploy" / "production.yaml"
    state, changed = update(path, log, lambda s: s or PRODUCTION, actor="a", reason="first")
    assert changed and state == PRODUCTION and read_desired(path) == PRODUCTION and file_revision(path) == 1
    state, changed = update(path, log, lambda s: CANARY, actor="a", reason="canary")
    assert changed and file_revision(path) == 2
    assert update(path, log, lambda s: CANARY, actor="a", reason="again") == (CANARY, False)
    assert log.latest().number == 2  # type: ignore[union-attr]


def test_a_file_that_is_only_behind_is_brought_up_to_date(tmp_path: Path, log: DesiredLog) -> None:
    mine, theirs = tmp_path / "a" / "production.yaml", tmp_path / "b" / "production.yaml"
    update(mine, log, lambda s: PRODUCTION, actor="a", reason="first")
    update(theirs, log, lambda s: CANARY, actor="b", reason="canary from another clone")
    revision = current(mine, log, actor="a")
    assert revision is not None and revision.number == 2
    assert read_desired(mine) == CANARY and file_revision(mine) == 2


def test_a_folder_without_a_deploy_file_gets_the_newest_revision(tmp_path: Path, log: DesiredLog) -> None:
    update(tmp_path / "a.yaml", log, lambda s: CANARY, actor="a", reason="canary")
    fresh = tmp_path / "fresh" / "production.yaml"
    assert current(fresh, log, actor="c").state == CANARY  # type: ignore[union-attr]
    assert read_desired(fresh) == CANARY
    assert current(None, log, actor="replica").number == 1  # type: ignore[union-attr]


def test_a_hand_edit_is_recorded_as_the_newest_revision(tmp_path: Path, log: DesiredLog) -> None:
    path = tmp_path / "production.yaml"
    update(path, log, lambda s: CANARY, actor="a", reason="canary")
    update(path, log, lambda s: PRODUCTION, actor="a", reason="abort")
    # by hand, back to exactly what revision 1 said: still an edit, the file names revision 2
    text = path.read_text().replace(
        "production: '1'\n", "production: '1'\ncanary:\n  version: '2'\n  weight: 0.25\n"
    )
    path.write_text(text)
    revision = current(path, log, actor="editor")
    assert revision is not None and (revision.number, revision.state, revision.actor) == (3, CANARY, "editor")
    assert "changed outside shipyard" in revision.reason and file_revision(path) == 3


def test_a_file_without_a_revision_is_recorded_once(tmp_path: Path, log: DesiredLog) -> None:
    path = write_desired(tmp_path / "production.yaml", PRODUCTION)  # written before revisions existed
    assert current(path, log, actor="a").number == 1  # type: ignore[union-attr]
    assert current(path, log, actor="a").number == 1  # type: ignore[union-attr]


def test_a_file_edited_to_the_newest_state_is_named_not_recorded_again(
    tmp_path: Path, log: DesiredLog
) -> None:
    update(tmp_path / "a.yaml", log, lambda s: CANARY, actor="a", reason="canary")
    path = write_desired(tmp_path / "b.yaml", CANARY)  # e.g. copied, or two workers saw one edit
    assert current(path, log, actor="b").number == 1  # type: ignore[union-attr]
    assert file_revision(path) == 1 and log.latest().number == 1  # type: ignore[union-attr]
