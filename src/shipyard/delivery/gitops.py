"""The GitOps side of a rollout: `deploy/<env>.yaml` changes, optionally committed with git.

The desired state is the only way the controller changes traffic: each change is written to
the deploy file and recorded as a revision in the state database (`shipyard.workspace.desired`);
a server started with `shipyard serve --desired deploy/<env>.yaml` (or `--desired state`)
reconciles when either changes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipyard.errors import ConfigError
from shipyard.serving.desired import CanaryState, DesiredState

DEPLOY_DIR = "deploy"


def deploy_file(project_root: Path, environment: str) -> Path:
    """Where the desired state of `environment` lives: `<project>/deploy/<environment>.yaml`."""
    return Path(project_root) / DEPLOY_DIR / f"{environment}.yaml"


def with_step(state: DesiredState, version: str, percent: float) -> DesiredState:
    """`state` with `version` as canary at `percent` of traffic, or as shadow when `percent` is 0."""
    if percent == 0:
        return state.model_copy(update={"canary": None, "shadow": version})
    canary = CanaryState(version=version, weight=round(percent / 100, 6))
    return state.model_copy(update={"canary": canary, "shadow": None})


def without_candidate(state: DesiredState) -> DesiredState:
    """`state` with no canary and no shadow: all traffic on production."""
    return state.model_copy(update={"canary": None, "shadow": None})


def commit(path: Path, message: str, *, actor: str) -> str | None:
    """Commit the deploy file alone with git, the actor in a trailer; the error text when that
    fails (never raises). The repository's git identity is the author, or the actor without one."""
    folder = path.parent
    identity = ["-c", f"user.name={actor}", "-c", f"user.email={actor}@shipyard.invalid"]
    has_identity = _git(folder, "config", "user.email")[0] == 0
    message = f"{message}\n\nShipyard-Actor: {actor}"
    steps = [
        ["add", "--", path.name],
        [*([] if has_identity else identity), "commit", "-q", "-m", message, "--", path.name],
    ]
    for args in steps:
        code, output = _git(folder, *args)
        if code != 0:
            action = "commit" if "commit" in args else "add"
            return f"git {action} of {path} failed (exit {code}): {output.strip()}"
    return None


def _git(folder: Path, *args: str) -> tuple[int, str]:
    try:
        proc = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout + proc.stderr


def initial_state(model: str, production: str) -> DesiredState:
    """The first deploy file of an environment: everything on the production version."""
    if not production:
        raise ConfigError("A deploy file needs a production version.")
    return DesiredState(model=model, production=production)
