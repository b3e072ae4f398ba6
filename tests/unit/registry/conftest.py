"""A real MLflow SQLite store and a tiny real pyfunc model, shared by the registry tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.registry import ModelRegistry

_names = itertools.count()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow pyfunc model folder, saved once; explicit requirements skip a 3.5 s inference."""
    import mlflow

    class Identity(mlflow.pyfunc.PythonModel):
        def predict(self, context: object, model_input: list[float], params: None = None) -> list:
            return model_input

    path = tmp_path_factory.mktemp("model") / "model"
    mlflow.pyfunc.save_model(str(path), python_model=Identity(), pip_requirements=["numpy"])
    (path / "shipyard.json").write_text('{"features": ["x"]}')
    return path


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow SQLite store for the session; each test registers its own model name."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture
def registry(store_dir: Path) -> Iterator[ModelRegistry]:
    """A registry for a model name no other test uses, on the shared store."""
    reg = ModelRegistry(
        f"sqlite:///{store_dir / 'mlflow.db'}",
        f"model-{next(_names)}",
        audit_url=f"sqlite:///{store_dir / 'shipyard.db'}",
    )
    yield reg
    reg.close()
