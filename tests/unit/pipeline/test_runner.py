from pathlib import Path

import pytest

from shipyard.errors import ConfigError, StageError
from shipyard.pipeline.cache import StageCache
from shipyard.pipeline.runner import Stage, StageStatus, run_stages


def _pipeline(calls: list[str], params: dict, fail: str | None = None) -> list[Stage]:
    def writer(name: str):
        def run(inputs, out: Path) -> None:
            calls.append(name)
            if name == fail:
                raise RuntimeError("boom")
            upstream = "".join((p / "value").read_text() for p in inputs.values())
            (out / "value").write_text(upstream + name)

        return run

    return [
        Stage("a", writer("a"), key_parts={"p": params.get("a")}),
        Stage("b", writer("b"), deps=("a",), key_parts={"p": params.get("b")}),
        Stage("c", writer("c"), deps=("a",), key_parts={"p": params.get("c")}),
        Stage("d", writer("d"), deps=("b", "c")),
    ]


def test_rerun_with_nothing_changed_runs_nothing(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []
    first = run_stages(_pipeline(calls, {}), cache)
    assert calls == ["a", "b", "c", "d"]
    assert (first.outputs["d"] / "value").read_text() == "abacd"
    calls.clear()
    second = run_stages(_pipeline(calls, {}), cache)
    assert calls == []
    assert [e.status for e in second.events] == [StageStatus.CACHED] * 4


def test_param_change_reruns_only_dependents(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []
    run_stages(_pipeline(calls, {"b": 1}), cache)
    calls.clear()
    result = run_stages(_pipeline(calls, {"b": 2}), cache)
    assert calls == ["b", "d"]
    assert result.cached == ["a", "c"]


def test_crash_is_named_and_leaves_no_cache_entry(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []
    with pytest.raises(StageError) as info:
        run_stages(_pipeline(calls, {}, fail="c"), cache)
    assert info.value.stage == "c" and not info.value.user_code
    assert "Stage 'c' failed inside Shipyard" in str(info.value)
    calls.clear()
    run_stages(_pipeline(calls, {}), cache)
    assert calls == ["c", "d"]


def test_shipyard_errors_pass_through_unwrapped(tmp_path: Path):
    def bad(inputs, out):
        raise ConfigError("bad option")

    with pytest.raises(ConfigError, match="bad option"):
        run_stages([Stage("x", bad)], StageCache(tmp_path))


def test_outside_state_is_read_only_when_needed_and_keys_only_that_stage(tmp_path: Path):
    import shutil

    cache, calls, reads = StageCache(tmp_path / "cache"), [], []
    production = {"version": "1"}

    def rec(name):
        def run(inputs, out):
            calls.append(name)
            (out / "value").write_text(name)

        return run

    def outside():
        reads.append(dict(production))
        return production["version"]

    def stages():
        return [
            Stage("a", rec("a")),
            Stage("gate", rec("gate"), deps=("a",), outside=outside),
            Stage("reg", rec("reg"), deps=("gate",)),
        ]

    first = run_stages(stages(), cache)
    assert calls == ["a", "gate", "reg"] and len(reads) == 1
    calls.clear(), reads.clear()
    again = run_stages(stages(), cache)
    assert calls == [] and reads == []  # reg is cached: production is not even read
    assert [e.status for e in again.events] == [StageStatus.CACHED] * 3

    shutil.rmtree(first.outputs["reg"])
    run_stages(stages(), cache)
    assert calls == ["reg"] and len(reads) == 1  # same production: the gate's entry is reused

    shutil.rmtree(first.outputs["reg"])
    calls.clear()
    production["version"] = "2"
    moved = run_stages(stages(), cache)
    assert calls == ["gate", "reg"]  # a new production model is gated against
    assert moved.cache_keys["gate"] != first.cache_keys["gate"]
    assert moved.keys == first.keys  # the stages downstream keep their keys


def test_an_evicted_stage_that_nothing_needs_is_skipped_not_rerun(tmp_path: Path):
    import shutil

    cache, calls = StageCache(tmp_path / "cache"), []
    first = run_stages(_pipeline(calls, {}), cache)
    shutil.rmtree(first.outputs["b"])  # evicted, but d (which needs it) is still cached
    calls.clear()
    result = run_stages(_pipeline(calls, {}), cache)
    assert calls == []
    assert {e.stage: e.status for e in result.events}["b"] is StageStatus.SKIPPED
    assert "b" not in result.outputs
