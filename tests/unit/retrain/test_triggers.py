from datetime import UTC, datetime, timedelta

import pytest

from shipyard.retrain.triggers import (
    degradation_trigger,
    drift_trigger,
    new_labels_trigger,
    schedule_trigger,
)

MONDAY_3AM = "0 3 * * 1"


def test_schedule_fires_once_a_tick_passed_since_training():
    trained = datetime(2026, 11, 20, 12, tzinfo=UTC)  # a Friday
    sunday = schedule_trigger(MONDAY_3AM, trained, trained + timedelta(days=2))
    monday = schedule_trigger(MONDAY_3AM, trained, datetime(2026, 11, 23, 3, 1, tzinfo=UTC))
    assert not sunday.fired and "not due" in sunday.message
    assert monday.fired
    assert monday.evidence["due"] == "2026-11-23T03:00:00+00:00"


def test_schedule_fires_when_nothing_was_ever_trained():
    assert schedule_trigger(MONDAY_3AM, None, datetime.now(UTC)).fired


@pytest.mark.parametrize(("count", "fired"), [(0, False), (999, False), (1000, True), (5000, True)])
def test_new_labels_threshold_is_inclusive(count, fired):
    result = new_labels_trigger(count, 1000)
    assert result.fired is fired
    assert str(count) in result.message


def test_drift_trigger_fires_on_a_failed_drift_check_and_names_the_features():
    quiet = drift_trigger(["amount"], 6, [])
    loud = drift_trigger(["amount", "country"], 6, ["prediction drifted: psi 0.31 >= 0.2", "dataset drift"])
    assert not quiet.fired and quiet.message == "drift check passed: 1 of 6 features drifted (amount)"
    assert loud.fired
    assert loud.message == (
        "prediction drifted: psi 0.31 >= 0.2 (and 1 more); 2 of 6 features drifted (amount, country)"
    )
    assert loud.evidence["n_features"] == 6


def test_degradation_fires_on_any_alert_and_quotes_the_first():
    alerts = ["ADWIN detected a change at row 812", "rolling roc_auc 0.71 < offline 0.88"]
    fired = degradation_trigger(alerts, 1500)
    assert fired.fired and fired.message == "ADWIN detected a change at row 812 (and 1 more)"
    assert not degradation_trigger([], 1500).fired


def test_degradation_without_labels_does_not_fire():
    result = degradation_trigger([], 0)
    assert not result.fired and "no labelled traffic" in result.message
