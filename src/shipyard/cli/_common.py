"""What every command module shares: the consoles, the --project option, loading the project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ProjectOption = Annotated[Path, typer.Option("--project", "-p", help="Project folder holding shipyard.yaml.")]


def load_project(path: Path) -> Project:
    from shipyard.config.project import Project

    return Project.load(path)


def open_workspace(path: Path) -> Workspace:
    """The workspace of the project at `path`: where its models, logs and reports live."""
    from shipyard.workspace import Workspace

    return Workspace.open(load_project(path))
