"""Where generated CI installs Shipyard from: a source the user pins, never a bare name on a
package index (whoever registers `shipyard` there would run in every pipeline).

`shipyard init --shipyard-source` takes a VCS URL at a commit, a wheel or a folder; by
default the source this Shipyard was installed from (PEP 610 `direct_url.json`) when that
is a pinned commit. The result is the requirement line written to `requirements.txt`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ConfigError

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_FORMS = (
    "a git URL at a commit (git+https://github.com/ORG/shipyard@<commit sha>), "
    "a wheel (path/to/shipyard-<version>-py3-none-any.whl) or a folder with Shipyard's source"
)


@dataclass(frozen=True)
class ShipyardSource:
    """`requirement` is the requirements.txt line; None when no pinned source is known."""

    requirement: str | None
    origin: str  # how it was chosen, for init's summary


def _vcs(url: str) -> str:
    base, _, ref = url.rpartition("@")
    if not base.startswith("git+") or "/" not in base or not _COMMIT.match(ref.lower()):
        raise ConfigError(
            f"--shipyard-source: '{url}' does not pin a commit. A branch or tag can move; give "
            "the full commit, e.g. git+https://github.com/ORG/shipyard@<40-hex sha>."
        )
    return f"shipyard @ {url}"


def _path(value: str, project: Path, repository: Path) -> str:
    path = Path(value)
    full = path if path.is_absolute() else Path.cwd() / path
    if not full.exists():
        raise ConfigError(f"--shipyard-source: {full} does not exist. Expected {_FORMS}.")
    if full.is_dir() and not (full / "pyproject.toml").is_file():
        raise ConfigError(f"--shipyard-source: the folder {full} has no pyproject.toml. Expected {_FORMS}.")
    if not full.is_dir() and full.suffix != ".whl":
        raise ConfigError(f"--shipyard-source: {full} is not a wheel (.whl). Expected {_FORMS}.")
    full = full.resolve()
    if full.is_relative_to(repository.resolve()):
        # pip reads paths in requirements.txt from the folder it runs in: CI runs in the project
        relative = Path(os.path.relpath(full, project.resolve())).as_posix()
        return relative if relative.startswith(".") else f"./{relative}"
    return full.as_posix()


def parse_source(value: str, *, project: Path, repository: Path) -> ShipyardSource:
    """The requirement line for `--shipyard-source VALUE`; `ConfigError` for anything unpinned."""
    value = value.strip()
    if value.startswith("git+"):
        return ShipyardSource(_vcs(value), "--shipyard-source")
    if "://" in value or re.match(r"^shipyard\s*([=<>~!]|$)", value):
        raise ConfigError(
            f"--shipyard-source: '{value}' would install Shipyard from a package index or an "
            f"unpinned URL. Expected {_FORMS}."
        )
    return ShipyardSource(_path(value, project, repository), "--shipyard-source")


def _git(folder: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _https(remote: str) -> str:
    """`git@github.com:org/repo.git` -> `https://github.com/org/repo.git` (CI has no SSH key)."""
    match = re.match(r"^git@([^:]+):(.+)$", remote)
    return f"https://{match[1]}/{match[2]}" if match else remote


def installed_source() -> ShipyardSource:
    """Where this Shipyard came from, when that is a pinned commit CI can fetch: a VCS install
    at a commit, or a source checkout with a remote (at its current commit)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("shipyard").read_text("direct_url.json")
    except PackageNotFoundError:
        text = None
    info = json.loads(text) if text else {}
    vcs = info.get("vcs_info", {})
    if vcs.get("vcs") == "git" and vcs.get("commit_id"):
        return ShipyardSource(f"shipyard @ git+{info['url']}@{vcs['commit_id']}", "the installed Shipyard")
    url = str(info.get("url", ""))
    if "dir_info" in info and url.startswith("file://"):
        folder = Path(url.removeprefix("file://"))
        remote, commit = _git(folder, "remote", "get-url", "origin"), _git(folder, "rev-parse", "HEAD")
        if remote and commit and not remote.startswith(("/", "file:")):
            return ShipyardSource(
                f"shipyard @ git+{_https(remote)}@{commit}", f"the checkout at {folder} (its current commit)"
            )
    return ShipyardSource(None, "none found")
