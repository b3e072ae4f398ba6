"""Starting a server: load the model set (or refuse), follow the desired state, run uvicorn.

The first model set is loaded before the port is opened, so a registry that cannot be
reached, a missing `production` alias, an unknown version or a tampered artifact stop the
command with a clear error and a non-zero exit. Later loads (a new desired-state revision,
see `shipyard.serving.follow`) that fail leave the current models serving.

Exposure: binding beyond loopback needs bearer tokens (or an explicit `--insecure`), and
slow clients cannot hold connections: headers must arrive within `serving.header_timeout_s`
and fit `serving.max_header_bytes`, idle keep-alive connections close after
`serving.keep_alive_s`, bodies must arrive within `serving.body_timeout_s` (408).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config.policy import ServingConfig
from shipyard.errors import ConfigError, ModelVersionNotFound, RegistryError, ServingError
from shipyard.serving.auth import TokenStore, is_loopback
from shipyard.serving.desired import CanaryState, DesiredState
from shipyard.serving.follow import DesiredSource
from shipyard.serving.models import ModelHolder
from shipyard.serving.validation import RequestValidator

if TYPE_CHECKING:
    from shipyard.registry.store import ModelRegistry
    from shipyard.serving.app import ServerState
    from shipyard.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """What to follow (a deploy file, or the state database alone with `follow_state`), and what
    to serve without either: the `production` alias plus optional candidates."""

    desired_path: Path | None = None
    follow_state: bool = False  # `--desired state`: a stateless replica of `rollout.environment`
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


def desired_source(workspace: Workspace, options: ServeOptions) -> DesiredSource | None:
    """What the server follows: the deploy file's environment (its name) or, with `follow_state`,
    `rollout.environment`; None when it serves the command line's versions and follows nothing."""
    from shipyard.config.settings import actor

    if options.desired_path is None and not options.follow_state:
        return None
    path = options.desired_path
    environment = workspace.project.policy.rollout.environment if path is None else path.stem
    return DesiredSource(path, workspace.desired_log(environment), actor())


def initial_desired(
    registry: ModelRegistry, options: ServeOptions, source: DesiredSource | None
) -> DesiredState:
    """The newest desired state `source` follows, or the `production` alias with the command
    line's canary/shadow.

    When a followed source holds no desired state yet, the `production` alias is recorded as
    its first revision (and written to the deploy file), so the first
    `shipyard serve --desired deploy/production.yaml` starts the GitOps record.
    """
    if source is not None and (found := source.read()) is not None:
        return found
    try:
        production = registry.get("production").version
    except ModelVersionNotFound as exc:
        raise ServingError(
            f"Model '{registry.model_name}' has no 'production' alias, so there is nothing to serve. "
            "Promote a version first (shipyard promote VERSION --to production), pass "
            f"--desired FILE, or start a rollout.\n{exc}"
        ) from None
    canary = None
    if options.canary is not None:
        canary = CanaryState(version=registry.get(options.canary).version, weight=options.canary_weight)
    shadow = None if options.shadow is None else registry.get(options.shadow).version
    desired = DesiredState(model=registry.model_name, production=production, canary=canary, shadow=shadow)
    if source is not None:
        from shipyard.workspace.desired import update

        update(source.path, source.log, lambda s: s or desired, actor=source.actor, reason="first served")
        logger.warning(
            "Recorded the production alias (version %s) as the first desired state%s.",
            production,
            "" if source.path is None else f" and wrote {source.path}; commit it",
        )
        return source.read() or desired
    return desired


def build_state(
    workspace: Workspace, options: ServeOptions, config: ServingConfig | None = None
) -> ServerState:
    """Open the workspace's registry, load and verify the first model set, and assemble the
    server state, whose prediction and feedback logs go to the workspace's `logs`."""
    from shipyard.data.schema import read_schema
    from shipyard.serving.app import ServerState

    project = workspace.project
    config = config or project.policy.serving
    registry = workspace.registry
    source = desired_source(workspace, options)
    from shipyard.registry.signing import verify_key_for
    from shipyard.training.formats import ModelTrust

    holder = ModelHolder(
        registry,
        on_mismatch=project.policy.environment.on_mismatch,
        trust=ModelTrust.of(project.policy),
        verify_key=verify_key_for(project, options.verify_key),
    )
    try:
        holder.apply(initial_desired(registry, options, source))
    except (ModelVersionNotFound, ServingError):
        raise
    except RegistryError as exc:
        if type(exc) is not RegistryError:  # IntegrityError and friends keep their own exit code
            raise
        raise ServingError(
            f"Could not load the models to serve from the registry at {workspace.tracking_uri}: {exc}\n"
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
        workspace.logs,
        desired=source,
        tokens=options.tokens,
        request_ids=request_ids,
    )


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
