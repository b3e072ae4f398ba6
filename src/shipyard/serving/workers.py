"""`shipyard serve --workers N`: N server processes on one port, started and stopped by the parent.

The parent checks the port, records a first desired state once if there is none, resolves the request-id key
once and creates a private folder for the workers' Prometheus files; then it starts one fresh
interpreter (`spawn`, nothing inherited but the arguments and the environment) and, once it
is ready (so a registry store that does not exist yet is created once), the N - 1 others. Each worker
loads the model set, binds the port with `SO_REUSEPORT` (the kernel spreads connections over
the workers) and runs the same server as `--workers 1`: its own prediction-log partition
(`_wal/<server_id>/`, `_counters/<server_id>.json`, the server id holds the pid), its own
desired-state watcher, the same tokens and the same request-id key (through
`SHIPYARD_REQUEST_ID_KEY`, so feedback for an id one worker issued is accepted by any).

The parent prints the ready line once every worker is ready, and a worker that cannot start
stops them all with its error (and exit code). SIGTERM or Ctrl-C to the parent is passed on
as SIGTERM to every worker, each finishes its requests and flushes its log, then the parent
removes the metrics folder. A worker that dies on its own stops the others: the process
manager (systemd, Kubernetes) restarts the whole server.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard.config.policy import ServingConfig
from shipyard.errors import ServingError, ShipyardError
from shipyard.serving.metrics import MULTIPROC_ENV
from shipyard.serving.server import ServeOptions, bind

if TYPE_CHECKING:
    from shipyard.workspace import Workspace

logger = logging.getLogger(__name__)
_Waitable = TypeVar("_Waitable", bound=Connection | int)

#: seconds a worker has to load its models and open the port
START_TIMEOUT_S = 300.0
#: seconds a worker has to finish its requests and flush its log after SIGTERM
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker process needs: it opens the project's workspace itself (a fresh
    interpreter, as the command would)."""

    project_root: Path
    options: ServeOptions
    config: ServingConfig


def _worker(spec: WorkerSpec, conn: Connection) -> None:
    """One worker's life: load, bind, report ready (or the error), serve until SIGTERM."""
    from threadpoolctl import threadpool_limits

    from shipyard.config.project import Project
    from shipyard.serving.server import build_state, run
    from shipyard.workspace import Workspace

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes Ctrl-C on as SIGTERM
    try:
        threadpool_limits(int(os.environ.get("OMP_NUM_THREADS", "1")))
        workspace = Workspace.open(Project.load(spec.project_root))
        state = build_state(workspace, spec.options, spec.config)
        sock = bind(spec.config.host, spec.config.port, reuse_port=True)
    except ShipyardError as exc:
        try:
            conn.send(("error", pickle.loads(pickle.dumps(exc))))
        except Exception:  # noqa: BLE001 - an exception that does not pickle travels as its text
            conn.send(("error", ServingError(str(exc))))
        raise SystemExit(1) from None
    served = state.holder.describe()
    run(state, sock, on_ready=lambda _: conn.send(("ready", served)))


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """`values` in the environment while the workers start (they copy it), then as before."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prepare(workspace: Workspace, options: ServeOptions) -> bytes:
    """Once, before the workers start: bring the deploy file and the desired-state log in step
    (recording a first desired state if there is none); the request-id key they share."""
    from shipyard.serving.feedback import key_for_folder

    if options.desired_path is not None or options.follow_state:
        from shipyard.serving.server import desired_source, initial_desired

        initial_desired(workspace.registry, options, desired_source(workspace, options))
    return key_for_folder(workspace.logs_dir)


def reserve_port(host: str, port: int) -> int:
    """The port the workers will share; refused when anything (even another server) holds it."""
    probe = bind(host, port, listen=False)  # without SO_REUSEPORT: fails on any holder
    port = probe.getsockname()[1]
    probe.close()
    return port


def serve_workers(
    spec: WorkerSpec, workers: int, *, key: bytes, on_ready: Callable[[str, dict[str, Any]], None]
) -> None:
    """Run `workers` server processes on `spec.config.port` until SIGTERM/SIGINT; see the module doc."""
    config = spec.config.model_copy(update={"port": reserve_port(spec.config.host, spec.config.port)})
    spec = WorkerSpec(spec.project_root, spec.options, config)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    context = multiprocessing.get_context("spawn")
    try:
        with tempfile.TemporaryDirectory(prefix="shipyard-metrics-") as metrics_dir:
            from shipyard.serving.feedback import KEY_ENV

            env = {MULTIPROC_ENV: metrics_dir, KEY_ENV: key.decode()}
            started: list[tuple[SpawnProcess, Connection]] = []
            try:
                # The first worker alone: a registry store that does not exist yet is created once.
                served = _start(context, spec, env, 1, started, stop)
                if served is not None and workers > 1:
                    served = _start(context, spec, env, workers - 1, started, stop) and served
                if served is not None:
                    on_ready(f"http://{config.host}:{config.port}", served)
                    _supervise(started, stop)
            finally:
                _stop_all([p for p, _ in started])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(
    context: SpawnContext,
    spec: WorkerSpec,
    env: dict[str, str],
    count: int,
    started: list[tuple[SpawnProcess, Connection]],
    stop: threading.Event,
) -> dict[str, Any] | None:
    """Start `count` more workers (added to `started`) and wait until they are ready."""
    new = []
    with _environ(**env):
        for _ in range(count):
            parent_end, child_end = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(spec, child_end), daemon=False)
            process.start()
            child_end.close()
            new.append((process, parent_end))
            started.append((process, parent_end))
    return _wait_ready(new, stop)


def _wait_ready(
    started: list[tuple[SpawnProcess, Connection]], stop: threading.Event
) -> dict[str, Any] | None:
    """The model set of one of `started` once all are ready; None when stopped first; an error raised."""
    pending = {conn: process for process, conn in started}
    served: dict[str, Any] | None = None
    deadline = time.monotonic() + START_TIMEOUT_S
    while pending:
        if stop.is_set():
            return None
        if time.monotonic() > deadline:
            raise ServingError(f"The workers did not start within {START_TIMEOUT_S:g} s.")
        for conn in _ready(pending):
            process = pending.pop(conn)
            try:
                kind, payload = conn.recv()
            except EOFError:
                process.join(5)
                raise ServingError(
                    f"A server worker (pid {process.pid}) exited with code {process.exitcode} while "
                    "starting; see its messages above."
                ) from None
            if kind == "error":
                raise payload
            served = served or payload
    return served


def _ready(waiting: dict[_Waitable, Any]) -> list[_Waitable]:
    """The keys of `waiting` (pipe ends or process sentinels) ready within 0.2 s, typed as the
    keys: `multiprocessing.connection.wait` returns them typed as anything it accepts."""
    ready = wait(list(waiting), timeout=0.2)
    return [key for key in waiting if key in ready]


def _supervise(started: list[tuple[SpawnProcess, Connection]], stop: threading.Event) -> None:
    """Wait for a stop signal; a worker that exits before it raises (the others are stopped)."""
    sentinels = {process.sentinel: process for process, _ in started}
    while not stop.is_set():
        for sentinel in _ready(sentinels):
            process = sentinels[sentinel]
            process.join()
            raise ServingError(
                f"A server worker (pid {process.pid}) exited with code {process.exitcode}; stopping the "
                "others. See its messages above."
            )


def _stop_all(processes: list[SpawnProcess]) -> None:
    """SIGTERM to each live worker, then wait for its graceful stop; kill it past `STOP_TIMEOUT_S`."""
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.error("Server worker %s did not stop within %g s: killed.", process.pid, STOP_TIMEOUT_S)
            process.kill()
            process.join()
