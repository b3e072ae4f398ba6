"""`shipyard rollout sync` in a real project folder: a hand edit of the deploy file becomes the
newest desired-state revision in the state database, once."""

from __future__ import annotations

import pytest
from cli_helpers import Cli, write_tiny_project

pytestmark = pytest.mark.integration


def test_a_hand_edited_deploy_file_is_recorded_once_as_the_newest_revision(tmp_path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "p"))
    assert "No desired state yet" in cli("rollout", "sync", check=0).stdout
    deploy = cli.project / "deploy" / "production.yaml"
    deploy.parent.mkdir()
    deploy.write_text("model: tiny\nproduction: '1'\n")  # by hand, in a pull request
    first = " ".join(cli("rollout", "sync", check=0).stdout.split())
    assert "production.yaml is desired-state revision 1" in first and "by ci-test" in first
    assert "changed outside shipyard" in first and "# Desired-state revision 1 " in deploy.read_text()
    assert "revision 1" in cli("rollout", "sync", check=0).stdout  # in step: nothing new recorded
    deploy.write_text(deploy.read_text().replace("production: '1'", "production: '2'"))
    assert "revision 2" in cli("rollout", "sync", check=0).stdout
    deploy.write_text("model: tiny\nproduction: [\n")
    failed = cli("rollout", "sync")
    assert failed.returncode == 2 and "production.yaml: malformed YAML" in failed.stderr
    assert "Traceback" not in failed.stderr
