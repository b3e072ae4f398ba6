"""`shipyard init`: turn a folder with data into a project with a policy, starter code and CI."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._common import ProjectOption, console

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.config.scaffold import Proposal


class TaskChoice(StrEnum):
    classification = "classification"
    regression = "regression"


def _ask(value: str | None, flag: str, question: str) -> str:
    """The flag's value, else an answer typed at the terminal; without a terminal, a usage error."""
    from shipyard.errors import ConfigError

    if value:
        return value
    if sys.stdin.isatty():
        return typer.prompt(question)
    raise ConfigError(f"shipyard init needs {flag} (stdin is not a terminal, so it cannot ask). Pass {flag}.")


def _repository_root(folder: Path) -> Path:
    """The nearest folder upward holding `.git` (workflows live at a repository's root), else `folder`."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """A seeded random sample in the data's order: the first rows may all be one period or class."""
    return frame.sample(n=min(rows, len(frame)), random_state=0).sort_index()


def init(
    directory: Annotated[Path | None, typer.Argument(help="Project folder (created if missing).")] = None,
    data: Annotated[Path | None, typer.Option(help="CSV or Parquet file to learn from.")] = None,
    target: Annotated[str | None, typer.Option(help="Name of the label column.")] = None,
    task: Annotated[TaskChoice | None, typer.Option(help="Default: inferred from the target.")] = None,
    name: Annotated[str | None, typer.Option(help="Project and model name; default: the folder's.")] = None,
    force: Annotated[
        bool, typer.Option(help="Overwrite shipyard.yaml, schema, sample and CI files.")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Propose shipyard.yaml, schema, starter model code and CI workflows for a folder with data.

    The folder is DIRECTORY, else --project, else the current one.
    """
    from shipyard.api import infer_project_schema
    from shipyard.config import scaffold
    from shipyard.config.project import Project
    from shipyard.data.loading import load_frame
    from shipyard.errors import ConfigError

    root = (directory or project).resolve()
    data_path = Path(_ask(str(data) if data else None, "--data FILE", "Data file (CSV or Parquet)"))
    data_path = data_path if data_path.is_absolute() else Path.cwd() / data_path
    frame = load_frame(data_path)
    if frame.empty:
        raise ConfigError(f"--data: {data_path} holds no rows; shipyard init needs data to learn from.")
    columns = ", ".join(map(str, frame.columns))
    target = _ask(target, "--target COLUMN", f"Label column (one of: {columns})")
    proposal = scaffold.propose(
        frame,
        target=target,
        data_source=Path(os.path.relpath(data_path.resolve(), root)).as_posix(),
        name=name or scaffold.project_name(root),
        task=task.value if task else None,
    )
    repo = _repository_root(root)
    project_files, repository_files = scaffold.render_files(
        proposal, project_dir=Path(os.path.relpath(root, repo)).as_posix()
    )
    user_files = {p: project_files.pop(p) for p in scaffold.USER_FILES}
    generated = [*project_files, scaffold.SAMPLE_FILE, "schema.yaml"]
    clashes = scaffold.existing(root, generated) + scaffold.existing(repo, list(repository_files))
    if clashes and not force:
        raise ConfigError(
            f"shipyard init would overwrite {', '.join(clashes)} in {root}. Move them away, or pass "
            "--force to replace them."
        )
    kept = scaffold.existing(root, list(user_files))
    root.mkdir(parents=True, exist_ok=True)
    written = scaffold.write_files(
        root, {**project_files, **{p: t for p, t in user_files.items() if p not in kept}}
    )
    (root / scaffold.SAMPLE_FILE).parent.mkdir(parents=True, exist_ok=True)
    _sample(frame, scaffold.SAMPLE_ROWS).to_parquet(root / scaffold.SAMPLE_FILE, index=False)
    written.append(root / scaffold.SAMPLE_FILE)
    written += scaffold.write_files(repo, repository_files)
    _, schema_path = infer_project_schema(Project.load(root))
    written.append(schema_path)
    if scaffold.ensure_ignored(root):
        written.append(root / ".gitignore")
    _summarise(root, proposal, written, kept)


def _summarise(root: Path, proposal: Proposal, written: list[Path], kept: list[str]) -> None:
    console.print(
        f"[bold]{proposal.name}[/]: {proposal.task_reason}; split {proposal.split['method']}, "
        f"{proposal.rows:,} rows."
    )
    for path in written:
        console.print(f"  wrote {os.path.relpath(path)}")
    for path in kept:
        console.print(f"  kept your {path}")
    console.print(
        "Next: review shipyard.yaml and schema.yaml, then run 'shipyard smoke' (seconds, on the sample) "
        "and 'shipyard run', and commit. For CI, set the MLFLOW_TRACKING_URI secret so runs share a registry."
    )
