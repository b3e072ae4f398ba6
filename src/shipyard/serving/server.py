"""Starting a server: load the model set (or refuse), watch the deploy file, run uvicorn.

The first model set is loaded before the port is opened, so a registry that cannot be
reached, a missing `production` alias, an unknown version or a tampered artifact stop the
command with a clear error and a non-zero exit. Later loads (deploy-file changes) that fail
leave the current models serving.

Exposure: binding beyond loopback needs bearer tokens (or an explicit `--insecure`), and
slow clients cannot hold connections: headers must arrive within `serving.header_timeout_s`
and fit `serving.max_header_bytes`, idle keep-alive connections close after
`serving.keep_alive_s`, bodies must arrive within `serving.body_timeout_s` (408).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config.policy import ServingConfig
from shipyard.errors import ConfigError, ModelVersionNotFound, RegistryError, ServingError
from shipyard.serving.auth import TokenStore, is_loopback
from shipyard.serving.desired import CanaryState, DesiredState, read_desired, write_desired
from shipyard.serving.models import ModelHolder
from shipyard.serving.validation import RequestValidator

if TYPE_CHECKING:
    from shipyard.config.project import Project
    from shipyard.registry.store import ModelRegistry
    from shipyard.serving.app import ServerState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """What to serve when there is no deploy file: the `production` alias plus optional candidates."""

    desired_path: Path | None = None
    canary: str | None = None
    canary_weight: float = 0.0
    shadow: str | None = None
    tokens: TokenStore | None = None
    insecure: bool = False
    verify_key: Path | None = None  # `--verify-key`: before $SHIPYARD_VERIFY_KEY and registry.verify_key


def check_exposure(host: str, tokens: TokenStore | None, insecure: bool) -> None:
    """Refuse to listen beyond loopback without tokens, unless `insecure` (then warn loudly)."""
    if is_loopback(host) or tokens:
        return
    if not insecure:
        raise ConfigError(
            f"Refusing to listen on {host} without authentication: anyone who can reach this port could "
            "score, send labels and read the model set. Set SHIPYARD_TOKENS or pass --tokens-file "
            "(see docs/serving.md), bind 127.0.0.1 behind a reverse proxy, or pass --insecure."
        )
    logger.warning(
        "INSECURE: listening on %s with NO authentication (--insecure). Anyone who can reach this port can "
        "score, send labels that trigger retraining, and read the model set.",
        host,
    )


def initial_desired(registry: ModelRegistry, options: ServeOptions) -> DesiredState:
    """The deploy file's content, or the `production` alias with the command line's canary/shadow.

    A `--desired` file that does not exist yet is written from the `production` alias, so
    the first `shipyard serve --desired deploy/production.yaml` starts the GitOps record.
    """
    if options.desired_path is not None and options.desired_path.is_file():
        return read_desired(options.desired_path)
    try:
        production = registry.get("production").version
    except ModelVersionNotFound as exc:
        raise ServingError(
            f"Model '{registry.model_name}' has no 'production' alias, so there is nothing to serve. "
            "Promote a version first (shipyard promote VERSION --to production) or pass "
            f"--desired FILE.\n{exc}"
        ) from None
    canary = None
    if options.canary is not None:
        canary = CanaryState(version=registry.get(options.canary).version, weight=options.canary_weight)
    shadow = None if options.shadow is None else registry.get(options.shadow).version
    desired = DesiredState(model=registry.model_name, production=production, canary=canary, shadow=shadow)
    if options.desired_path is not None:
        write_desired(options.desired_path, desired)
        logger.warning(
            "Wrote %s from the production alias (version %s); commit it.", options.desired_path, production
        )
    return desired


def build_state(project: Project, options: ServeOptions, config: ServingConfig | None = None) -> ServerState:
    """Open the registry, load and verify the first model set, and assemble the server state."""
    from shipyard.data.schema import read_schema
    from shipyard.serving.app import ServerState
    from shipyard.workspace import Workspace

    config = config or project.policy.serving
    workspace = Workspace.open(project)
    registry = workspace.registry
    from shipyard.registry.signing import verify_key_for
    from shipyard.training.formats import ModelTrust

    holder = ModelHolder(
        registry,
        on_mismatch=project.policy.environment.on_mismatch,
        trust=ModelTrust.of(project.policy),
        verify_key=verify_key_for(project, options.verify_key),
    )
    try:
        holder.apply(initial_desired(registry, options))
    except (ModelVersionNotFound, ServingError):
        raise
    except RegistryError as exc:
        if type(exc) is not RegistryError:  # IntegrityError and friends keep their own exit code
            raise
        raise ServingError(
            f"Could not load the models to serve from the registry at {project.tracking_uri}: {exc}\n"
            "Check that the registry is reachable (registry.tracking_uri / MLFLOW_TRACKING_URI)."
        ) from exc
    schema = read_schema(project.schema_path) if project.schema_path.is_file() else None
    if schema is None:
        logger.warning("No schema at %s: requests are checked for shape only.", project.schema_path)
    validator = RequestValidator(
        schema, allow=frozenset({config.key_field}), check_ranges=config.check_ranges
    )
    from shipyard.serving.feedback import RequestIds

    request_ids = RequestIds.for_folder(workspace.logs_dir)
    return ServerState(
        config,
        holder,
        validator,
        project.root,
        logs=workspace.logs,
        desired_path=options.desired_path,
        tokens=options.tokens,
        request_ids=request_ids,
    )


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


async def reconcile(state: ServerState) -> bool:
    """Load what the deploy file says if it differs from what is served; False when it failed."""
    assert state.desired_path is not None
    loop = asyncio.get_running_loop()
    holder = state.holder
    try:
        desired = read_desired(state.desired_path)
        if desired == holder.desired:
            return True
        await loop.run_in_executor(None, holder.apply, desired)
    except Exception as exc:  # noqa: BLE001 - keep serving the current set; report the failure
        holder.last_error = f"{type(exc).__name__}: {exc}"
        state.metrics.model_loads.labels("failed").inc()
        logger.error(
            "Deploy file %s not applied; still serving the current models: %s", state.desired_path, exc
        )
        return False
    state.metrics.model_loads.labels("ok").inc()
    state.show_served()
    logger.warning("Now serving %s", holder.describe())
    return True


async def watch_desired(state: ServerState) -> None:
    """Poll the deploy file's mtime every `serving.poll_interval_s` and reconcile on change."""
    assert state.desired_path is not None
    seen = _stat(state.desired_path)
    while True:
        await asyncio.sleep(state.config.poll_interval_s)
        current = _stat(state.desired_path)
        if current != seen:
            seen = current
            await reconcile(state)


def bind(host: str, port: int, *, listen: bool = True, reuse_port: bool = False) -> socket.socket:
    """A listening socket (port 0 picks a free one), opened before the server starts.

    `reuse_port`: other sockets with the option may listen on the same port, and the kernel
    spreads new connections over them (one per worker process).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServingError(f"Cannot listen on {host}:{port}: {exc}. Choose another --port.") from None
    if listen:
        sock.listen(2048)  # connections made before uvicorn starts wait in the backlog
    return sock


def run(state: ServerState, sock: socket.socket, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and flush the logs."""
    import uvicorn

    from shipyard.serving._protocol import guarded_protocol
    from shipyard.serving.app import create_app

    cfg = state.config
    config = uvicorn.Config(
        create_app(state),
        loop="uvloop",
        http=guarded_protocol(cfg.header_timeout_s, cfg.max_header_bytes),
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=cfg.keep_alive_s,
        backlog=2048,
        server_header=False,
    )
    server = uvicorn.Server(config)
    host, port = sock.getsockname()[:2]
    if on_ready is not None:
        on_ready(f"http://{host}:{port}")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the signal it shut down for after the graceful stop: done.
        pass
    finally:
        sock.close()
