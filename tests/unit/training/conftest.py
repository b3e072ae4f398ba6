"""Small user projects written into tmp_path, and isolation of the imports they cause."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write `{relative path: source}` under `root` (dedented) and return `root`."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    return root


@pytest.fixture(scope="session")
def make_project() -> Callable[[Path, dict[str, str]], Path]:
    return write_project


@pytest.fixture(autouse=True)
def _restore_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Undo what loading user code does to `sys.path` and `sys.modules`, so tests stay independent.

    Only modules imported from temporary folders are forgotten: dropping a library's
    modules (mlflow, sklearn) would make the next test import a second copy.
    """
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    base = tmp_path_factory.getbasetemp().resolve()
    for name in set(sys.modules) - modules:
        module = sys.modules[name]
        try:
            paths = [*getattr(module, "__path__", [])]
        except TypeError:  # torch.classes answers every attribute, __path__ included
            paths = []
        places = [getattr(module, "__file__", None), *paths]
        if any(place and Path(place).resolve().is_relative_to(base) for place in places):
            del sys.modules[name]
