"""Fixtures shared by unit tests of several packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_dist import installed


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A distribution with `shipyard.gates` entry points installed for this module's tests."""
    with installed(tmp_path_factory.mktemp("site")) as root:
        yield root
