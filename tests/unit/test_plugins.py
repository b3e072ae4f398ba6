"""The entry-point loader, against a real dist-info folder on sys.path."""

from __future__ import annotations

import pytest

from shipyard.errors import ConfigError, PluginLoadError
from shipyard.plugins import PluginWarning, available, load_plugin, load_plugins


@pytest.fixture(scope="module")
def plugins(plugin_site):
    return plugin_site


def test_available_lists_names_without_importing(plugins):
    import sys

    assert {"broken", "exploding", "max_positive_rate"} <= set(available("shipyard.gates"))
    assert "sy_plugin_missing_module" not in sys.modules


def test_load_plugin_by_name(plugins):
    cls = load_plugin("shipyard.gates", "max_positive_rate")
    assert cls.__name__ == "MaxPositiveRateGate"


def test_an_unknown_name_lists_the_installed_ones(plugins):
    with pytest.raises(ConfigError) as info:
        load_plugin("shipyard.gates", "max_positive_rat", where="shipyard.yaml: gates[0].type:")
    message = str(info.value)
    assert message.startswith("shipyard.yaml: gates[0].type: no plugin named 'max_positive_rat'")
    assert "Did you mean 'max_positive_rate'?" in message and "Installed: " in message and "broken" in message


def test_a_broken_plugin_used_by_name_is_a_plugin_load_error(plugins):
    with pytest.raises(PluginLoadError) as info:
        load_plugin("shipyard.gates", "broken")
    message = str(info.value)
    assert "'broken' (sy_plugin_missing_module:Gate) from sy-plugin-gates" in message
    assert "ModuleNotFoundError" in message and "'shipyard.gates'" in message


def test_loading_all_warns_about_the_broken_one_and_keeps_the_rest(plugins):
    with pytest.warns(PluginWarning, match="'broken'.*failed to load"):
        loaded = load_plugins("shipyard.gates")
    assert "broken" not in loaded and {"exploding", "max_positive_rate"} <= set(loaded)


def test_an_unknown_group_is_named():
    with pytest.raises(
        ConfigError, match="Unknown plugin group 'shipyard.gate'. Valid groups: shipyard.gates"
    ):
        available("shipyard.gate")
