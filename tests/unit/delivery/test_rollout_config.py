"""The `rollout:` section: checked when shipyard.yaml loads, analysis rules when a controller starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipyard.config.policy import GateConfig, RolloutConfig
from shipyard.errors import ConfigError
from shipyard.gates.catalog import build_analysis


def test_the_defaults_are_the_issue_s_steps_and_two_live_rules():
    config = RolloutConfig()
    assert config.steps == [5, 25, 50, 100] and config.environment == "production"
    assert [g.type for g in config.analysis] == ["error_rate", "latency_ratio"]
    assert [type(g).__name__ for _, g in build_analysis(config, "classification")] == [
        "ErrorRateGate",
        "LatencyRatioGate",
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([5, 50, 25, 100], "increasing"),
        ([5, 50], "last step must be 100"),
        ([-1, 100], "increasing percentages in \\[0, 100\\]"),
        ([], "at least 1 item"),
    ],
)
def test_bad_steps_are_refused_with_what_is_expected(steps, message):
    with pytest.raises(ValidationError, match=message):
        RolloutConfig(steps=steps)


def test_a_shadow_step_first_is_allowed():
    assert RolloutConfig(steps=[0, 10, 100]).steps[0] == 0


def test_unknown_keys_and_environment_names_are_refused():
    with pytest.raises(ValidationError, match="step_duration"):
        RolloutConfig(step_duration=5)
    with pytest.raises(ValidationError, match="pattern"):
        RolloutConfig(environment="../prod")


def test_bad_analysis_rules_name_their_key_path():
    config = RolloutConfig(
        analysis=[GateConfig(type="error_rate", max=0.01), GateConfig(type="latency_ration")]
    )
    with pytest.raises(
        ConfigError, match=r"shipyard.yaml: rollout.analysis\[1\].type: .*Did you mean 'latency_ratio'"
    ):
        build_analysis(config, "classification")
    config = RolloutConfig(analysis=[GateConfig(type="latency_ratio", max_ratio=0.5)])
    with pytest.raises(ConfigError, match=r"rollout.analysis\[0\]: The 'max_ratio' option"):
        build_analysis(config, "classification")


def test_the_step_deadline_defaults_to_four_step_durations_and_may_not_be_shorter():
    assert RolloutConfig(step_duration_s=60).deadline_s == 240
    assert RolloutConfig(step_duration_s=60, step_deadline_s=90).deadline_s == 90
    with pytest.raises(
        ValidationError, match=r"step_deadline_s \(30\) must be at least step_duration_s \(60\)"
    ):
        RolloutConfig(step_duration_s=60, step_deadline_s=30)


def test_bad_alpha_of_a_live_rule_is_refused_with_its_key_path():
    config = RolloutConfig(analysis=[GateConfig(type="error_rate", max_increase=0.02, alpha=0.9)])
    with pytest.raises(ConfigError, match=r"rollout.analysis\[0\]: The 'alpha' option .* \(0, 0.5\)"):
        build_analysis(config, "classification")
