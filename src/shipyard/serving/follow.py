"""How a server follows the desired state: its deploy file and the state database's log.

`shipyard serve --desired deploy/<env>.yaml` watches the file (every `serving.poll_interval_s`)
and polls the log (every `serving.desired_poll_s`); `shipyard serve --desired state` (a
stateless replica, no deploy file) polls the log of `rollout.environment` alone. Either way
the server converges on the newest revision, whichever machine recorded it, within
`desired_poll_s` plus the time to load a version it has not loaded yet. A load that fails
keeps the current models serving (`/v1/models` shows the error) until a newer revision.
How file and log reconcile (the newest revision wins; a hand edit is recorded as the newest)
is `shipyard.workspace.desired.current`. A deploy file that cannot be read (malformed YAML, a
bad key) blocks nothing: the server keeps following the log's newest revision, leaves the file
as it is, and reports it (`desired_file_error` in `/v1/models`, an error in its log) until the
file is fixed; the fixed file is then reconciled as any edit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError
from shipyard.serving.desired import DesiredState, read_desired

if TYPE_CHECKING:
    from shipyard.serving.app import ServerState
    from shipyard.workspace.desired import DesiredLog

logger = logging.getLogger(__name__)

#: what `--desired` takes to follow the state database without a deploy file
STATE = "state"


@dataclass
class DesiredSource:
    """A server's deploy file (None for a stateless replica) and the log it polls."""

    path: Path | None
    log: DesiredLog
    actor: str
    revision: int | None = None  # the newest revision this server has seen (applied or failed)
    file_error: str | None = None  # why the deploy file cannot be read; the log is followed meanwhile

    def read(self) -> DesiredState | None:
        """The newest desired state, with the file and the log brought in step; None when neither
        holds one yet. A malformed file is reported and left alone, and the log's newest revision
        is returned meanwhile (its `ConfigError` is raised when the log holds none). Blocking
        (file and database input/output)."""
        from shipyard.workspace.desired import current

        problem = self._file_problem()
        if problem is None:
            revision = current(self.path, self.log, actor=self.actor)
        elif (revision := self.log.latest()) is None:
            raise problem  # no revision to follow instead: the file's problem is the error
        else:
            self._report(problem)
        if revision is None:
            return None
        self.revision = revision.number
        return revision.state

    def _file_problem(self) -> ConfigError | None:
        """Why the deploy file cannot be read, or None (also without a file)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            read_desired(self.path)
        except ConfigError as exc:
            return exc
        if self.file_error is not None:
            logger.warning("%s can be read again: reconciling it with the state database", self.path.name)
            self.file_error = None
        return None

    def _report(self, problem: ConfigError) -> None:
        """Log a malformed file once per distinct problem; keep it for `/v1/models` (name, no path)."""
        assert self.path is not None
        message = str(problem).replace(str(self.path), self.path.name)
        if message != self.file_error:
            logger.error(
                "%s cannot be read, so it is not applied; following the state database's newest "
                "revision until it is fixed: %s",
                self.path,
                problem,
            )
        self.file_error = message

    def behind(self) -> bool:
        """Whether the log holds a revision newer than the last one seen. Blocking."""
        latest = self.log.latest()
        return latest is not None and latest.number != self.revision

    def describe(self) -> dict[str, object]:
        """For `/v1/models`: the file's name (never its path), the environment and the revision."""
        return {
            "desired_file": None if self.path is None else self.path.name,
            "desired_environment": self.log.environment,
            "desired_revision": self.revision,
            "desired_file_error": self.file_error,
        }


async def reconcile(state: ServerState) -> bool:
    """Load the newest desired state if it differs from what is served; False when it failed."""
    source = state.desired
    assert source is not None
    loop = asyncio.get_running_loop()
    holder = state.holder
    try:
        desired = await loop.run_in_executor(None, source.read)
        if desired is None or desired == holder.desired:
            return True
        await loop.run_in_executor(None, holder.apply, desired)
    except Exception as exc:  # noqa: BLE001 - keep serving the current set; report the failure
        holder.last_error = f"{type(exc).__name__}: {exc}"
        state.metrics.model_loads.labels("failed").inc()
        logger.error("Desired state not applied; still serving the current models: %s", exc)
        return False
    state.metrics.model_loads.labels("ok").inc()
    state.show_served()
    logger.warning("Now serving %s (desired-state revision %s)", holder.describe(), source.revision)
    return True


def _stat(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


async def watch_desired(state: ServerState) -> None:
    """Reconcile when the deploy file changes (checked every `serving.poll_interval_s`) or the
    log holds a newer revision (checked every `serving.desired_poll_s`)."""
    source = state.desired
    assert source is not None
    loop = asyncio.get_running_loop()
    cfg = state.config
    tick = min(cfg.poll_interval_s, cfg.desired_poll_s)
    seen, next_poll = _stat(source.path), loop.time() + cfg.desired_poll_s
    while True:
        await asyncio.sleep(tick)
        changed = False
        if source.path is not None:
            current = _stat(source.path)
            changed, seen = current != seen, current
        if not changed and loop.time() >= next_poll:
            next_poll = loop.time() + cfg.desired_poll_s
            try:
                changed = await loop.run_in_executor(None, source.behind)
            except Exception as exc:  # noqa: BLE001 - the database may be down for a while: keep serving
                logger.error("Could not read the desired state from the state database: %s", exc)
        if changed:
            await reconcile(state)
