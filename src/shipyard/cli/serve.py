"""`shipyard serve`: the model server (FastAPI on uvicorn), configured by `serving:` and these flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli._common import ProjectOption, console, open_workspace


def serve(
    project: ProjectOption = Path("."),
    desired: Annotated[
        str | None,
        typer.Option(
            help="Deploy file (deploy/<env>.yaml) to serve and follow, or 'state': follow the state "
            "database's desired state of rollout.environment without a file (stateless replica)."
        ),
    ] = None,
    canary: Annotated[
        str | None, typer.Option(help="Version to serve as canary (without --desired).")
    ] = None,
    canary_weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="Canary share of traffic.")] = 0.05,
    shadow: Annotated[
        str | None, typer.Option(help="Version scored in shadow (logged, never returned).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface; default serving.host (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port; default serving.port; 0 picks a free one.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Server processes sharing the port; serving.workers.")
    ] = None,
    batching: Annotated[bool | None, typer.Option("--batching/--no-batching", help="Micro-batching.")] = None,
    max_batch_rows: Annotated[int | None, typer.Option(min=1, help="Most rows per predict call.")] = None,
    max_wait_ms: Annotated[
        float | None, typer.Option(min=0.0, help="Cap of the adaptive wait for more rows.")
    ] = None,
    log_predictions: Annotated[
        bool | None, typer.Option("--log/--no-log", help="Write the prediction log.")
    ] = None,
    tokens_file: Annotated[
        Path | None,
        typer.Option(
            help="Secret file of bearer tokens ('sha256:HEX SCOPES' per line); also SHIPYARD_TOKENS."
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback --host without tokens (no authentication)."),
    ] = False,
    verify_key: Annotated[
        Path | None,
        typer.Option(help="Ed25519 public key (PEM): serve only versions signed with its private key."),
    ] = None,
) -> None:
    """Serve the production model (plus canary/shadow) over HTTP until SIGTERM or Ctrl-C."""
    # The server's own process: one OpenMP/BLAS thread per call (2-core machines oversubscribe
    # otherwise) and a registry that fails fast at start; explicit user settings win.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from threadpoolctl import threadpool_limits

    from shipyard.errors import ConfigError
    from shipyard.serving.auth import TokenStore
    from shipyard.serving.follow import STATE
    from shipyard.serving.server import ServeOptions, bind, build_state, check_exposure, run

    workspace = open_workspace(project)
    proj = workspace.project
    if desired is not None and (canary or shadow):
        raise ConfigError(
            "--desired serves what the desired state says: drop --canary/--shadow, or start a rollout."
        )
    overrides = {
        "host": host,
        "port": port,
        "workers": workers,
        "batching": batching,
        "max_batch_rows": max_batch_rows,
        "max_wait_ms": max_wait_ms,
        "log_predictions": log_predictions,
    }
    config = proj.policy.serving.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    follow_state = desired == STATE
    desired_path = None
    if desired is not None and not follow_state:
        given = Path(desired)
        desired_path = (given if given.exists() else proj.root / given).resolve()
    tokens = TokenStore.load(tokens_file)
    check_exposure(config.host, tokens, insecure)
    options = ServeOptions(
        desired_path,
        follow_state,
        canary,
        canary_weight if canary else 0.0,
        shadow,
        tokens,
        insecure,
        verify_key,
    )

    def ready(url: str, served: dict[str, Any]) -> None:
        extra = "".join(
            f", {route} {served[route]['version']}" for route in ("canary", "shadow") if served.get(route)
        )
        workers = f" ({config.workers} workers)" if config.workers > 1 else ""
        console.print(
            f"Serving {served['model']} version {served['production']['version']}{extra} at {url}{workers}"
        )
        if tokens:
            console.print(f"Bearer tokens required ({len(tokens.entries)} configured).")

    if config.workers > 1:
        from shipyard.serving.workers import WorkerSpec, prepare, serve_workers

        key = prepare(workspace, options)
        serve_workers(WorkerSpec(proj.root, options, config), config.workers, key=key, on_ready=ready)
        return
    threadpool_limits(int(os.environ["OMP_NUM_THREADS"]))
    state = build_state(workspace, options, config)
    sock = bind(config.host, config.port)
    served = state.holder.describe()
    run(state, sock, on_ready=lambda url: ready(url, served))
