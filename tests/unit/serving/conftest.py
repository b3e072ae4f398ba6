"""The `state` fixture: an in-memory server (helpers in serving_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_fixtures import make_state, model_set

from shipyard.serving.app import ServerState


@pytest.fixture
def state(tmp_path: Path) -> ServerState:
    return make_state(tmp_path, model_set())
