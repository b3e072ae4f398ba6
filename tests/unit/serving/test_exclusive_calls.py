"""`ExclusiveCalls`: routes take turns at the model; production's patience is bounded.

Ordering is checked with events, never with timing thresholds.
"""

from __future__ import annotations

import threading

import pytest

from shipyard.serving.exclusive import MIN_PATIENCE_S, PATIENCE_CALLS, ExclusiveCalls


def _hold(calls: ExclusiveCalls, route: str, entered: threading.Event, release: threading.Event) -> None:
    with calls.turn(route):
        entered.set()
        release.wait(10)


def test_a_candidate_waits_for_the_production_call_in_progress() -> None:
    calls = ExclusiveCalls()
    entered, release = threading.Event(), threading.Event()
    with calls.turn("production") as turn:
        assert turn.alone
        canary = threading.Thread(target=_hold, args=(calls, "canary", entered, release))
        canary.start()
        assert not entered.wait(0.2)  # the lock is held: the canary cannot be inside
    assert entered.wait(10)  # production's turn ended: the canary runs
    release.set()
    canary.join(10)


@pytest.mark.parametrize("route", ["canary", "shadow"])
def test_production_runs_anyway_when_a_candidate_holds_the_turn_past_its_patience(route: str) -> None:
    calls = ExclusiveCalls()
    entered, release = threading.Event(), threading.Event()
    candidate = threading.Thread(target=_hold, args=(calls, route, entered, release))
    candidate.start()
    assert entered.wait(10)
    with calls.turn("production") as turn:  # a hung candidate cannot hold production
        assert not turn.alone
    release.set()
    candidate.join(10)
    with calls.turn("production") as turn:  # nothing holds the turn now
        assert turn.alone


def test_productions_patience_follows_its_own_recent_call_time() -> None:
    calls = ExclusiveCalls()
    assert calls.turn("production").patience_s == MIN_PATIENCE_S
    calls.record("production", 0.1)
    assert calls.turn("production").patience_s == pytest.approx(PATIENCE_CALLS * 0.1)
    calls.record("canary", 5.0)  # a slow candidate does not make production more patient
    assert calls.turn("production").patience_s == pytest.approx(PATIENCE_CALLS * 0.1)
    assert calls.turn("canary").patience_s is None
