from shipyard.retrain.decisions import Decision, DecisionLog
from shipyard.retrain.triggers import new_labels_trigger


def test_decisions_round_trip_newest_first(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'shipyard.db'}")
    fired = new_labels_trigger(2000, 1000).to_dict()
    log.record(Decision("fraud", retrain=False, outcome="skipped", triggers=[], actor="ci"))
    log.record(
        Decision("fraud", retrain=True, outcome="registered", triggers=[fired], actor="ci", version="4")
    )
    log.record(Decision("other", retrain=True, outcome="failed", triggers=[], actor="ci"))
    recent = log.recent("fraud")
    log.close()
    assert [d.outcome for d in recent] == ["registered", "skipped"]
    assert recent[0].triggers == [fired]
    assert recent[0].version == "4"
    assert recent[0].at.tzinfo is not None
    assert recent[0].to_dict()["triggers"][0]["trigger"] == "new_labels"
