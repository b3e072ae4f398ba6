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
    first = run_stages(_pipeline(calls, {}), cache, tmp_path)
    assert calls == ["a", "b", "c", "d"]
    assert (first.outputs["d"] / "value").read_text() == "abacd"
    calls.clear()
    second = run_stages(_pipeline(calls, {}), cache, tmp_path)
    assert calls == []
    assert [e.status for e in second.events] == [StageStatus.CACHED] * 4


def test_param_change_reruns_only_dependents(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []
    run_stages(_pipeline(calls, {"b": 1}), cache, tmp_path)
    calls.clear()
    result = run_stages(_pipeline(calls, {"b": 2}), cache, tmp_path)
    assert calls == ["b", "d"]
    assert result.cached == ["a", "c"]


def test_crash_is_named_and_leaves_no_cache_entry(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []
    with pytest.raises(StageError) as info:
        run_stages(_pipeline(calls, {}, fail="c"), cache, tmp_path)
    assert info.value.stage == "c" and not info.value.user_code
    assert "Stage 'c' failed inside Shipyard" in str(info.value)
    calls.clear()
    run_stages(_pipeline(calls, {}), cache, tmp_path)
    assert calls == ["c", "d"]


def test_shipyard_errors_pass_through_unwrapped(tmp_path: Path):
    def bad(inputs, out):
        raise ConfigError("bad option")

    with pytest.raises(ConfigError, match="bad option"):
        run_stages([Stage("x", bad)], StageCache(tmp_path), tmp_path)


def test_uncacheable_stage_runs_only_when_needed(tmp_path: Path):
    cache, calls = StageCache(tmp_path / "cache"), []

    def stages():
        def rec(name):
            def run(inputs, out):
                calls.append(name)
                (out / "value").write_text(name)

            return run

        return [
            Stage("a", rec("a")),
            Stage("gate", rec("gate"), deps=("a",), cacheable=False),
            Stage("reg", rec("reg"), deps=("gate",)),
        ]

    run_stages(stages(), cache, tmp_path)
    assert calls == ["a", "gate", "reg"]
    calls.clear()
    run_stages(stages(), cache, tmp_path)
    assert calls == []


def test_an_evicted_stage_that_nothing_needs_is_skipped_not_rerun(tmp_path: Path):
    import shutil

    cache, calls = StageCache(tmp_path / "cache"), []
    first = run_stages(_pipeline(calls, {}), cache, tmp_path)
    shutil.rmtree(first.outputs["b"])  # evicted, but d (which needs it) is still cached
    calls.clear()
    result = run_stages(_pipeline(calls, {}), cache, tmp_path)
    assert calls == []
    assert {e.stage: e.status for e in result.events}["b"] is StageStatus.SKIPPED
    assert "b" not in result.outputs
