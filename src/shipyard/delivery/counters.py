"""The servers' own request and error counters, diffed over a rollout step.

Every server process writes its cumulative per-version counts to
`<prediction log dir>/_counters/<server_id>.json`; `shipyard.serving.counters.read_servers`
reads them (with an object store, from every server's copy in the store, through the
log mirror). A snapshot holds each server's counts; the counts of a window are the difference between
two snapshots per server, where a server that started (or restarted) after the first
snapshot counts whole. A log fault cannot hide errors from these, so the live analysis
takes the larger error evidence of the counters and of the log. A missing or unreadable
folder gives an empty snapshot: the analysis then has the log alone.

Examples
--------
>>> import json, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> (folder / "_counters").mkdir()
>>> def write(n, e):
...     data = {"server_id": "a", "started_at": "t0", "versions": {"2": {"requests": n, "errors": e}}}
...     _ = (folder / "_counters" / "a.json").write_text(json.dumps(data))
>>> write(10, 1)
>>> before = snapshot(folder)
>>> write(50, 9)
>>> window_counts(before, snapshot(folder))
{'2': Counts(requests=40, errors=8)}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.serving.counters import read_servers


@dataclass(frozen=True)
class Counts:
    requests: int
    errors: int


#: server id -> (started_at, version -> counts)
Snapshot = dict[str, tuple[str, dict[str, Counts]]]


def snapshot(log_dir: Path) -> Snapshot:
    """Every server's cumulative counts now; files being replaced or damaged are skipped."""
    return {
        server.server_id: (
            server.started_at,
            {v: Counts(c.requests, c.errors) for v, c in server.versions.items()},
        )
        for server in read_servers(log_dir).values()
    }


def window_counts(before: Snapshot, after: Snapshot) -> dict[str, Counts]:
    """Requests and errors per version between two snapshots, summed over servers."""
    totals: dict[str, Counts] = {}
    for server_id, (started, versions) in after.items():
        then = before.get(server_id)
        base = then[1] if then is not None and then[0] == started else {}
        for version, now in versions.items():
            old = base.get(version, Counts(0, 0))
            delta = Counts(max(now.requests - old.requests, 0), max(now.errors - old.errors, 0))
            total = totals.get(version, Counts(0, 0))
            totals[version] = Counts(total.requests + delta.requests, total.errors + delta.errors)
    return totals
