"""The servers' own counters (contract 1's files), diffed over a step per server."""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.delivery.counters import Counts, snapshot, window_counts


def write(folder: Path, server_id: str, started: str, versions: dict[str, tuple[int, int]]) -> None:
    payload = {
        "server_id": server_id,
        "started_at": started,
        "updated_at": started,
        "versions": {
            v: {"requests": r, "errors": e, "rows_scored": r, "rows_logged": r, "rows_lost": 0}
            for v, (r, e) in versions.items()
        },
    }
    (folder / "_counters").mkdir(parents=True, exist_ok=True)
    (folder / "_counters" / f"{server_id}.json").write_text(json.dumps(payload))


def test_a_window_sums_each_servers_increase_and_counts_a_restarted_server_whole(tmp_path):
    write(tmp_path, "a", "t0", {"1": (100, 1), "2": (10, 0)})
    write(tmp_path, "b", "t0", {"1": (50, 0)})
    before = snapshot(tmp_path)
    write(tmp_path, "a", "t0", {"1": (180, 1), "2": (30, 5)})
    write(tmp_path, "b", "t1", {"1": (7, 0), "2": (4, 4)})  # b restarted: its counts began again
    write(tmp_path, "c", "t2", {"2": (3, 0)})  # c started during the window
    assert window_counts(before, snapshot(tmp_path)) == {"1": Counts(87, 0), "2": Counts(27, 9)}


def test_a_missing_folder_or_a_damaged_file_leaves_the_log_alone_to_judge(tmp_path):
    assert snapshot(tmp_path / "nothing") == {}
    write(tmp_path, "a", "t0", {"2": (10, 2)})
    (tmp_path / "_counters" / "broken.json").write_text("{not json")
    (tmp_path / "_counters" / "odd.json").write_text(json.dumps({"server_id": "x"}))
    assert window_counts({}, snapshot(tmp_path)) == {"2": Counts(10, 2)}
