"""Fixtures of the delivery tests (log-writing helpers live in prediction_parts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    return tmp_path / "project"
