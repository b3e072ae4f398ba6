"""The one loader for every extension point found through entry points.

A distribution registers plugins under a group in its metadata, e.g. in
`pyproject.toml`:

    [project.entry-points."shipyard.gates"]
    max_false_positives = "my_pkg.gates:MaxFalsePositivesGate"

`available(group)` lists the names without importing anything; `load_plugin`
imports one by name (a `PluginLoadError` when it is broken, a `ConfigError`
listing the valid names when it is unknown); `load_plugins` imports them all and
names each broken one in a warning instead of failing.
"""

from __future__ import annotations

import difflib
import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from shipyard.errors import ConfigError, PluginLoadError

GROUPS = ("shipyard.gates", "shipyard.drift_tests", "shipyard.notifiers")


class PluginWarning(UserWarning):
    """An installed plugin could not be loaded; it is skipped."""


def _entry_points(group: str) -> dict[str, EntryPoint]:
    if group not in GROUPS:
        raise ConfigError(f"Unknown plugin group {group!r}. Valid groups: {', '.join(GROUPS)}.")
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=group):
        # The first distribution on sys.path wins, as for imports.
        found.setdefault(entry.name, entry)
    return found


def available(group: str) -> list[str]:
    """The plugin names registered under `group`, sorted; nothing is imported."""
    return sorted(_entry_points(group))


def _load(entry: EntryPoint, group: str) -> Any:
    dist = getattr(entry.dist, "name", None) or "an unknown distribution"
    try:
        return entry.load()
    except Exception as exc:  # any error raised while importing a third-party plugin
        raise PluginLoadError(
            f"The plugin '{entry.name}' ({entry.value}) from {dist}, registered under the entry "
            f"point group '{group}', failed to load: {type(exc).__name__}: {exc}. "
            f"Reinstall or fix that package, or uninstall it."
        ) from exc


def load_plugin(group: str, name: str, *, where: str = "") -> Any:
    """Import the plugin `name` of `group`.

    `where` prefixes messages with the config key that named it (e.g.
    `shipyard.yaml: gates[2].type:`). Raises `ConfigError` for an unknown name and
    `PluginLoadError` for one that fails to import.
    """
    found = _entry_points(group)
    if name not in found:
        close = difflib.get_close_matches(name, list(found), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        prefix = f"{where} " if where else ""
        raise ConfigError(
            f"{prefix}no plugin named {name!r} in the entry point group '{group}'.{hint} "
            f"Installed: {', '.join(sorted(found)) or 'none'}."
        )
    return _load(found[name], group)


def load_plugins(group: str) -> dict[str, Any]:
    """Import every plugin of `group`; a broken one is named in a `PluginWarning` and skipped."""
    loaded = {}
    for name, entry in sorted(_entry_points(group).items()):
        try:
            loaded[name] = _load(entry, group)
        except PluginLoadError as exc:
            warnings.warn(str(exc), PluginWarning, stacklevel=2)
    return loaded
