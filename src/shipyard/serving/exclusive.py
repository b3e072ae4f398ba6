"""One model call at a time per server process, so each call's logged time is its own.

Production, canary and shadow each have their own predict thread, but they share one Python
interpreter (one GIL) and the machine's cores. Left to overlap, a call that runs while another
route's call is in flight is slowed by it, and the overlap is not symmetric: at 10% of the
traffic the canary's calls nearly always run beside one of production's (which is busy most
of the time), while production's calls rarely meet a canary call. Measured on the fraud
example at 40 requests/s, the same-cost canary's median 1-row call took 2.7x production's
wall time for the same CPU time, and the live `latency_ratio` rule rolled it back.

`ExclusiveCalls` makes the routes take turns: a batch waits for the batch in progress, and its
call time is measured from the moment it runs alone. Production never waits long for a slow
candidate: it waits only while the candidate's batch is younger than `PATIENCE_CALLS` of
production's own recent batch times, then runs beside it anyway. So candidates up to ~5x
production's cost are measured alone, and one that hangs or sleeps for seconds holds each of
production's batches at most that long, once per candidate batch. Not shared out this way:
the event loop and the other processes on the machine (docs/serving.md, Micro-batching).

Examples
--------
>>> calls = ExclusiveCalls()
>>> with calls.turn("canary"):
...     pass
>>> calls.turn("production").patience_s is not None
True
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from shipyard.serving.routing import PRODUCTION

#: production waits for another route's batch until it is this many of production's own
#: recent batch times old: a candidate slower than that is not waited for
PATIENCE_CALLS = 5.0
#: ... and at least this long (a call time too short to measure is not a patience)
MIN_PATIENCE_S = 0.005


class _Turn:
    """A context manager holding the process's model-call lock (when it got it in time)."""

    def __init__(self, owner: ExclusiveCalls, route: str, patience_s: float | None) -> None:
        self._owner = owner
        self.route = route
        self.patience_s = patience_s
        self.alone = False
        self._start = 0.0

    def __enter__(self) -> _Turn:
        owner = self._owner
        if self.patience_s is None:
            self.alone = owner.lock.acquire()
        else:  # the patience counts from when the batch in progress began
            left = self.patience_s - (time.perf_counter() - owner.held_since)
            self.alone = owner.lock.acquire(timeout=left) if left > 0 else owner.lock.acquire(False)
        self._start = time.perf_counter()
        if self.alone:
            owner.held_since = self._start
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._owner.record(self.route, time.perf_counter() - self._start)
        if self.alone:
            self._owner.lock.release()


class ExclusiveCalls:
    """Serialises a server's model calls across routes (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held_since = 0.0  # perf_counter() when the batch holding the lock began
        self._cost_s: dict[str, float] = {}  # moving average of each route's call time

    def turn(self, route: str) -> _Turn:
        """A context manager to run one batch of `route` in: production waits until the batch
        in progress is `PATIENCE_CALLS` of its own recent batch times old, a candidate
        (canary, shadow) until it ends."""
        if route != PRODUCTION:
            return _Turn(self, route, None)
        cost = self._cost_s.get(route, 0.0)
        return _Turn(self, route, max(PATIENCE_CALLS * cost, MIN_PATIENCE_S))

    def record(self, route: str, seconds: float) -> None:
        """Fold one call's time into `route`'s moving average (its patience next time)."""
        previous = self._cost_s.get(route)
        self._cost_s[route] = seconds if previous is None else 0.8 * previous + 0.2 * seconds
