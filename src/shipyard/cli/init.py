"""`shipyard init`: turn a folder with data into a project with a policy, starter code and CI."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._common import ProjectOption, console, open_workspace

if TYPE_CHECKING:
    from shipyard.config._ci_source import ShipyardSource
    from shipyard.config.scaffold import Proposal
    from shipyard.workspace import Workspace


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


def init(
    directory: Annotated[Path | None, typer.Argument(help="Project folder (created if missing).")] = None,
    data: Annotated[Path | None, typer.Option(help="CSV or Parquet file to learn from.")] = None,
    target: Annotated[str | None, typer.Option(help="Name of the label column.")] = None,
    task: Annotated[TaskChoice | None, typer.Option(help="Default: inferred from the target.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Project and model name; default: from the data file's name.")
    ] = None,
    shipyard_source: Annotated[
        str | None,
        typer.Option(
            help="Where CI installs Shipyard from: git+https://...@<commit>, a wheel or a folder. "
            "Default: the source this Shipyard was installed from, when that is a pinned commit."
        ),
    ] = None,
    smoke: Annotated[bool, typer.Option(help="Run the smoke test on the proposal once written.")] = True,
    force: Annotated[
        bool, typer.Option(help="Overwrite shipyard.yaml, schema, sample and CI files.")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Propose shipyard.yaml, schema, starter model code and CI workflows for a folder with data,
    then run the smoke test to show the proposal holds on its own data.

    The folder is DIRECTORY, else --project, else the current one.
    """
    from shipyard.api import infer_project_schema
    from shipyard.config import _ci_source, scaffold
    from shipyard.config._data_traits import name_from_data
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
        data_source=_source_path(data_path.resolve(), root),
        name=name or name_from_data(data_path) or scaffold.project_name(root),
        task=task.value if task else None,
    )
    repo = _repository_root(root)
    source = (
        _ci_source.parse_source(shipyard_source, project=root, repository=repo)
        if shipyard_source
        else _ci_source.installed_source()
    )
    project_files, repository_files = scaffold.render_files(
        proposal,
        project_dir=Path(os.path.relpath(root, repo)).as_posix(),
        shipyard_requirement=source.requirement,
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
    scaffold.sample_of(frame).to_parquet(root / scaffold.SAMPLE_FILE, index=False)
    written.append(root / scaffold.SAMPLE_FILE)
    written += scaffold.write_files(repo, repository_files)
    workspace = open_workspace(root)
    _, schema_path = infer_project_schema(workspace)
    written.append(schema_path)
    if scaffold.ensure_ignored(root):
        written.append(root / ".gitignore")
    _summarise(proposal, written, kept, source, "requirements.txt" in kept)
    if smoke:
        _smoke(workspace)


def _summarise(
    proposal: Proposal, written: list[Path], kept: list[str], source: ShipyardSource, kept_requirements: bool
) -> None:
    split = str(proposal.split["method"]) + (
        f" by {proposal.split['column']}" if "column" in proposal.split else ""
    )
    console.print(f"[bold]{proposal.name}[/]: {proposal.task_reason}; split {split}, {proposal.rows:,} rows.")
    if proposal.sensitive:
        names = ", ".join(s.name for s in proposal.sensitive)
        console.print(
            f"Sensitive attributes: {names}: left out of the model, with fairness/invariance gates."
        )
    for path in written:
        console.print(f"  wrote {os.path.relpath(path)}")
    for name in kept:
        console.print(f"  kept your {name}")
    if kept_requirements:
        console.print(
            "CI installs Shipyard from your requirements.txt: make sure it pins the source "
            "(git+https://...@<commit>, a wheel or a folder; docs/ci.md), never a bare 'shipyard' name."
        )
    elif source.requirement:
        console.print(f"CI installs Shipyard from {source.requirement!r} ({source.origin}).")
    else:
        console.print(
            "[yellow]CI cannot install Shipyard yet[/]: no pinned source is known (Shipyard was not "
            "installed from a git commit). Pass --shipyard-source, or add the line to "
            "requirements.txt (docs/ci.md)."
        )
    console.print(
        "Next: review shipyard.yaml and schema.yaml, run 'shipyard run', and commit. For CI, set the "
        "MLFLOW_TRACKING_URI secret so runs share a registry."
    )


def _smoke(workspace: Workspace) -> None:
    """The smoke test on the proposal just written: exit 1 (with the files kept) if it fails."""
    from shipyard.pipeline.run import run_smoke

    console.print("Checking the proposal: 'shipyard smoke' on the committed sample ...")
    outcome = run_smoke(workspace)
    failures = [*outcome.run.gate_report.failures, *outcome.contract.failures]
    if not failures:
        warned = [r.check for r in outcome.run.gate_report.warnings]
        note = f" ({', '.join(warned)} only warn on the sample: 'shipyard run' decides)" if warned else ""
        console.print(f"The proposal holds: smoke passed in {outcome.seconds:.1f} s{note}.")
        return
    for result in failures:
        console.print(f"  [red]FAILED[/] {result.check}: {result.message}")
    console.print(
        "[bold red]The proposal does not hold on its own sample.[/] Review shipyard.yaml and rerun "
        "'shipyard smoke'."
    )
    raise typer.Exit(1)


def _source_path(data: Path, root: Path) -> str:
    """Relative to the project when the data lives inside it; absolute otherwise, since a
    relative path may not leave the project folder (shipyard.yaml: data.source)."""
    return data.relative_to(root).as_posix() if data.is_relative_to(root) else data.as_posix()
