"""`shipyard deploy render`: a Dockerfile or Kubernetes manifests for `shipyard serve`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._common import ProjectOption, console, open_workspace

deploy_app = typer.Typer(
    help="Deployment files for the model server (Docker, Kubernetes).", no_args_is_help=True
)


class Target(StrEnum):
    docker = "docker"
    kubernetes = "kubernetes"


@deploy_app.command("render")
def render(
    target: Annotated[Target, typer.Option(help="What to render.")],
    project: ProjectOption = Path("."),
    out: Annotated[Path | None, typer.Option(help="Folder to write; default deploy/<target>.")] = None,
    version: Annotated[
        str, typer.Option(help="Version or alias whose requirements the image installs.")
    ] = "production",
    name: Annotated[str | None, typer.Option(help="Deployment name; default the model name.")] = None,
    image: Annotated[str | None, typer.Option(help="Image reference; default <name>:v<version>.")] = None,
    shipyard_source: Annotated[
        str,
        typer.Option(
            help="Where the image installs Shipyard from: a wheel or folder in the project, or a "
            "pinned VCS URL (git+https://...@<commit>). Never a bare name from an index."
        ),
    ] = "./vendor/shipyard-0.1.0-py3-none-any.whl",
    replicas: Annotated[int, typer.Option(min=1, help="Replicas (HPA minimum).")] = 2,
    max_replicas: Annotated[int, typer.Option(min=1, help="HPA maximum.")] = 6,
    cpu: Annotated[str, typer.Option(help="CPU request per replica.")] = "1",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Server processes per replica; default the CPU request (at least 1)."
        ),
    ] = None,
    memory: Annotated[str, typer.Option(help="Memory request and limit per replica.")] = "1Gi",
    namespace: Annotated[str, typer.Option(help="Kubernetes namespace; none by default.")] = "",
    secret: Annotated[
        str, typer.Option(help="Secret holding the backends, tokens and verify key; default <name>-shipyard.")
    ] = "",
) -> None:
    """Write the files; backends and secrets stay references to the environment or a Secret."""
    from shipyard.api import model_requirements
    from shipyard.config._data_traits import safe_name
    from shipyard.delivery.manifests import DeployTarget, render_docker, render_kubernetes

    workspace = open_workspace(project)
    proj = workspace.project
    resolved, requirements = model_requirements(workspace, version)
    deploy_name = name or safe_name(proj.policy.model_name, dns_label=True) or "model"
    spec = DeployTarget(
        name=deploy_name,
        image=image or f"{deploy_name}:v{resolved}",
        environment=proj.policy.rollout.environment,
        version=resolved,
        requirements=tuple(requirements),
        shipyard_source=shipyard_source,
        replicas=replicas,
        max_replicas=max_replicas,
        cpu=cpu,
        workers=workers,
        memory=memory,
        secret=secret,
        namespace=namespace,
    )
    files = render_docker(spec) if target is Target.docker else render_kubernetes(spec)
    folder = out or proj.root / "deploy" / target.value
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    console.print(f"Wrote {', '.join(sorted(files))} to {folder} (model version {resolved}).")
