"""Fixtures for testing a Shipyard project's model with plain `pytest`.

Registered under the `pytest11` entry point, so any test in a project can ask for
them:

    def test_new_accounts_are_riskier(shipyard_model, shipyard_test_split):
        rows = shipyard_test_split.head(200)
        new = rows.assign(account_age_days=1)
        old = rows.assign(account_age_days=3000)
        risk_new = shipyard_model.outputs(new).y_score[:, 1]
        risk_old = shipyard_model.outputs(old).y_score[:, 1]
        assert (risk_new >= risk_old).mean() > 0.9

Which model: the folder in `SHIPYARD_MODEL_DIR` when set (the `pytest` gate sets it
to the unregistered candidate), else `--shipyard-model REF` (a version number, an
alias such as `production`, or `latest`; default `candidate`, then the latest
version). Which project: `--shipyard-project PATH`, else the nearest folder holding
`shipyard.yaml` upward from pytest's rootdir or the current folder; the session opens its
`Workspace` once (`shipyard_workspace`) and every fixture uses that one.

Importing this module costs nothing beyond pytest: Shipyard, pandas and MLflow are
imported by the fixtures, only in sessions that use them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.config.policy import Policy
    from shipyard.config.project import Project
    from shipyard.training._servable import Servable
    from shipyard.workspace import Workspace

MODEL_DIR_VARIABLE = "SHIPYARD_MODEL_DIR"
DEFAULT_MODEL = "candidate"
_POLICY_FILE = "shipyard.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shipyard", "Shipyard model fixtures")
    group.addoption(
        "--shipyard-project",
        metavar="PATH",
        default=None,
        help="Project folder holding shipyard.yaml (default: nearest one upward from the rootdir).",
    )
    group.addoption(
        "--shipyard-model",
        metavar="REF",
        default=None,
        help="Model the shipyard_model fixture loads: a version, an alias or 'latest' "
        f"(default: '{DEFAULT_MODEL}', then the latest version). ${MODEL_DIR_VARIABLE} overrides it.",
    )


def _fail(message: str) -> NoReturn:
    """Stop the test with a message and no traceback: a usage problem, not a bug in it."""
    pytest.fail(f"shipyard: {message}", pytrace=False)


def find_project_root(config: pytest.Config) -> Path | None:
    """The `--shipyard-project` folder, or the nearest folder upward holding shipyard.yaml."""
    given = config.getoption("--shipyard-project")
    if given:
        return Path(given).resolve()
    for start in (config.rootpath, config.invocation_params.dir):
        for folder in (start, *start.parents):
            if (folder / _POLICY_FILE).is_file():
                return folder
    return None


@contextmanager
def _quiet_dependencies() -> Iterator[None]:
    """MLflow's and SQLAlchemy's deprecation notices are not the user's to fix: keep them out of
    a session that may turn warnings into errors."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=DeprecationWarning, module=r"(mlflow|sqlalchemy|alembic)\b"
        )
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow\b")
        yield


class ModelLoader:
    """Loads a workspace's registered models by reference, each once, verified against its manifest."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._project = workspace.project
        self._loaded: dict[str, Servable] = {}

    def resolve(self, ref: str, *, fallback: str | None = None) -> tuple[str, Servable]:
        """(version, model) for `ref` (a version number, an alias, or 'latest'), else for `fallback`."""
        from shipyard.errors import ModelVersionNotFound, ShipyardError

        where = f"the project at {self._project.root}"
        try:
            return self._load(ref)
        except ModelVersionNotFound as exc:
            problem = f"cannot load model {ref!r} of {where}: {exc}"
        except ShipyardError as exc:
            fallback, problem = None, f"cannot load model {ref!r} of {where}: {exc}"
        if fallback is not None:
            try:
                return self._load(fallback)
            except ShipyardError as exc:
                problem = (
                    f"no model to test in {where}: {exc} Run 'shipyard run' first, or set "
                    "$SHIPYARD_MODEL_DIR to a model folder."
                )
        _fail(problem)

    def _load(self, ref: str) -> tuple[str, Servable]:
        from shipyard.registry.verified import fetch_verified
        from shipyard.training.packaging import ModelTrust, load_servable

        with _quiet_dependencies():
            registry = self._workspace.registry
            version = registry.get(ref).version
            if version not in self._loaded:
                on_mismatch = self._project.policy.environment.on_mismatch
                verified = fetch_verified(registry, version, on_mismatch=on_mismatch)
                self._loaded[version] = load_servable(verified.path, ModelTrust.of(self._project.policy))
        return version, self._loaded[version]

    def __call__(self, ref: str) -> Servable:
        return self.resolve(ref)[1]


@pytest.fixture(scope="session")
def shipyard_project(pytestconfig: pytest.Config) -> Project:
    """The Shipyard project under test (`Project`: root folder and policy)."""
    from shipyard.config.project import Project
    from shipyard.errors import ConfigError

    root = find_project_root(pytestconfig)
    if root is None:
        _fail(
            f"no {_POLICY_FILE} found in {pytestconfig.rootpath} or its parents. Run pytest inside a "
            "Shipyard project, or pass --shipyard-project PATH."
        )
    try:
        return Project.load(root)
    except (ConfigError, OSError) as exc:
        problem = str(exc)
    _fail(f"cannot load the project at {root}: {problem}")


@pytest.fixture(scope="session")
def shipyard_workspace(shipyard_project: Project) -> Workspace:
    """The project's `Workspace` (registry, logs, state), opened once for the session."""
    from shipyard.workspace import Workspace

    return Workspace.open(shipyard_project)


@pytest.fixture(scope="session")
def shipyard_policy(shipyard_project: Project) -> Policy:
    """The project's validated `shipyard.yaml`."""
    return shipyard_project.policy


@pytest.fixture(scope="session")
def shipyard_models(shipyard_workspace: Workspace) -> ModelLoader:
    """Factory: `shipyard_models("production")` loads any version or alias (cached per session)."""
    return ModelLoader(shipyard_workspace)


def _chosen_model(config: pytest.Config, loader: ModelLoader) -> tuple[str, Servable]:
    model_dir = os.environ.get(MODEL_DIR_VARIABLE)
    if model_dir:
        from shipyard.errors import ConfigError
        from shipyard.training.packaging import ModelTrust, load_servable

        trust = ModelTrust.of(loader._project.policy)
        try:
            return str(Path(model_dir).resolve()), load_servable(Path(model_dir), trust)
        except ConfigError as exc:
            problem = str(exc)
        _fail(f"${MODEL_DIR_VARIABLE}: {problem}")
    ref = config.getoption("--shipyard-model")
    if ref is None:
        return loader.resolve(DEFAULT_MODEL, fallback="latest")
    return loader.resolve(ref)


@pytest.fixture(scope="session")
def _shipyard_chosen(pytestconfig: pytest.Config, shipyard_models: ModelLoader) -> tuple[str, Servable]:
    return _chosen_model(pytestconfig, shipyard_models)


@pytest.fixture(scope="session")
def shipyard_model_ref(_shipyard_chosen: tuple[str, Servable]) -> str:
    """What `shipyard_model` is: its version number, or its folder when $SHIPYARD_MODEL_DIR is set."""
    return _shipyard_chosen[0]


@pytest.fixture(scope="session")
def shipyard_model(_shipyard_chosen: tuple[str, Servable]) -> Servable:
    """The model under test as a `Servable`: `.outputs(raw)`, `.predict_frame(raw)`, `.transform(raw)`."""
    return _shipyard_chosen[1]


@pytest.fixture(scope="session")
def shipyard_test_split(shipyard_workspace: Workspace) -> pd.DataFrame:
    """The raw held-out rows (target included) as `shipyard run` splits the project's data."""
    from shipyard.errors import ConfigError
    from shipyard.pipeline.context import RunContext
    from shipyard.pipeline.stages import split_indices

    ctx = RunContext(shipyard_workspace)
    try:
        raw = ctx.raw()
        _, test_idx = split_indices(ctx, raw)
        return raw.iloc[test_idx].reset_index(drop=True)
    except ConfigError as exc:
        problem = str(exc)
    _fail(f"cannot compute the test split: {problem}")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the model under test in the session header, when the gate chose it."""
    model_dir = os.environ.get(MODEL_DIR_VARIABLE)
    return [f"shipyard: model folder {model_dir} (${MODEL_DIR_VARIABLE})"] if model_dir else None
