"""Fixtures for integration tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project


@pytest.fixture
def tiny(tmp_path: Path) -> Cli:
    return Cli(write_tiny_project(tmp_path / "tiny"))
