"""The GitOps deploy file: round trip, atomic writes, errors that name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.serving.desired import (
    HEADER,
    CanaryState,
    DesiredState,
    file_revision,
    read_desired,
    write_desired,
)


def test_round_trip_keeps_the_header_and_omits_empty_keys(tmp_path: Path) -> None:
    state = DesiredState(
        model="fraud", production="3", previous="2", canary=CanaryState(version="4", weight=0.05)
    )
    path = write_desired(tmp_path / "deploy" / "production.yaml", state)
    text = path.read_text()
    assert text.startswith(HEADER) and "shadow" not in text
    assert read_desired(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["production.yaml"]  # no temp file left behind


def test_integer_versions_in_yaml_are_read_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "production.yaml"
    path.write_text("model: fraud\nproduction: 3\ncanary: {version: 4, weight: 0.5}\nshadow: 5\n")
    state = read_desired(path)
    assert (state.production, state.canary.version, state.shadow) == ("3", "4", "5")
    assert state.versions() == {"3", "4", "5"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model: fraud\n", "production: Field required"),
        ("model: fraud\nproduction: '1'\ncanary: {version: '2', weight: 1.5}\n", "canary.weight"),
        ("model: fraud\nproduction: '1'\ncanray: {version: '2', weight: 0.1}\n", "canray"),
        ("- a list\n", "top level must be a mapping"),
        ("model: [unclosed\n", "malformed YAML"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "staging.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="staging.yaml") as info:
        read_desired(path)
    assert expected in str(info.value)


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No deploy file"):
        read_desired(tmp_path / "nope.yaml")


def test_a_written_revision_is_named_in_a_comment_the_yaml_ignores(tmp_path: Path) -> None:
    state = DesiredState(model="fraud", production="3")
    path = write_desired(tmp_path / "production.yaml", state, revision=12)
    assert path.read_text().startswith(HEADER + "# Desired-state revision 12 ")
    assert read_desired(path) == state and file_revision(path) == 12
    assert file_revision(write_desired(path, state)) is None
    assert file_revision(tmp_path / "missing.yaml") is None
