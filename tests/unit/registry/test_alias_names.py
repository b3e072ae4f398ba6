import pytest

from shipyard.errors import ConfigError
from shipyard.registry._info import check_alias


@pytest.mark.parametrize("alias", ["candidate", "staging", "canary", "production", "champion", "prod"])
def test_lifecycle_and_custom_aliases_pass(alias):
    check_alias(alias)


@pytest.mark.parametrize(
    ("alias", "suggestion"),
    [("Production", "production"), ("prodution", "production"), ("Stagin", "staging")],
)
def test_near_misses_of_lifecycle_aliases_are_refused(alias, suggestion):
    with pytest.raises(ConfigError, match=f"Did you mean '{suggestion}'"):
        check_alias(alias)


@pytest.mark.parametrize("alias", ["latest", "v3", "has space", ""])
def test_names_mlflow_reserves_or_rejects_are_refused(alias):
    with pytest.raises(ConfigError, match="letters, digits"):
        check_alias(alias)
