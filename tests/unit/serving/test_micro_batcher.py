"""The adaptive micro-batcher: coalescing, order, row limits, errors delivered to every waiter."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from shipyard.serving.batching import MicroBatcher, RoutedBatcher


def run_jobs(batcher: MicroBatcher, sizes: list[int]) -> list:
    async def main() -> list:
        try:
            return await asyncio.gather(
                *[batcher.submit(i, n) for i, n in enumerate(sizes)], return_exceptions=True
            )
        finally:
            batcher.close()

    return asyncio.run(main())


def test_concurrent_jobs_share_calls_and_results_keep_their_order() -> None:
    calls: list[list[int]] = []
    gate = threading.Event()

    def process(jobs: Sequence[int]) -> list[int]:
        gate.wait(5)  # hold the first call so that the others queue behind it
        calls.append(list(jobs))
        return [job * 10 for job in jobs]

    batcher = MicroBatcher(process, max_batch_rows=100, max_wait_ms=0)
    threading.Timer(0.2, gate.set).start()
    assert run_jobs(batcher, [1] * 20) == [i * 10 for i in range(20)]
    assert sum(len(c) for c in calls) == 20 and len(calls) < 20


def test_a_batch_never_exceeds_max_rows_except_a_single_large_job() -> None:
    sizes: list[int] = []

    def process(jobs: Sequence[int]) -> list[int]:
        sizes.append(sum(job_rows[j] for j in jobs))
        return list(jobs)

    job_rows = [3, 3, 3, 9, 1, 1]
    run_jobs(MicroBatcher(process, max_batch_rows=6, max_wait_ms=0), job_rows)
    assert sum(sizes) == sum(job_rows)
    assert all(s <= 6 or s == 9 for s in sizes)


def test_without_batching_each_job_is_its_own_call() -> None:
    calls: list[int] = []

    def process(jobs: Sequence[int]) -> list[int]:
        calls.append(len(jobs))
        return list(jobs)

    run_jobs(MicroBatcher(process, enabled=False), [1] * 8)
    assert calls == [1] * 8


def test_a_crash_in_process_reaches_every_waiter_and_the_batcher_recovers() -> None:
    def process(jobs: Sequence[int]) -> list[int]:
        if 0 in jobs:
            raise RuntimeError("boom")
        return list(jobs)

    batcher = MicroBatcher(process, max_wait_ms=0)

    async def main() -> tuple:
        first = await asyncio.gather(batcher.submit(0, 1), return_exceptions=True)
        second = await batcher.submit(5, 1)
        batcher.close()
        return first, second

    (first,), second = asyncio.run(main())
    assert isinstance(first, RuntimeError) and second == 5


@pytest.mark.parametrize(("last_jobs", "expected"), [(1, 0.0), (8, 0.002)])
def test_adaptive_wait_only_under_concurrency_and_capped(last_jobs: int, expected: float) -> None:
    batcher = MicroBatcher(list, max_wait_ms=2)
    batcher._last_jobs, batcher._cost_s = last_jobs, 1.0
    assert batcher.wait_s() == expected
    batcher.close()


def test_a_slow_route_never_delays_another_route() -> None:
    release = threading.Event()
    done: list[str] = []

    def process(route: str, jobs: Sequence[str]) -> list[str]:
        if route == "canary":
            release.wait(5)  # the canary's call holds its own thread only
        done.extend(jobs)
        return [f"{route}:{job}" for job in jobs]

    batcher = RoutedBatcher(lambda job: job.split("-")[0], process, max_wait_ms=0)

    async def main() -> tuple[list[str], list[str]]:
        canary = asyncio.gather(*[batcher.submit(f"canary-{i}", 1) for i in range(3)])
        production = await asyncio.wait_for(
            asyncio.gather(*[batcher.submit(f"production-{i}", 1) for i in range(5)]), 2
        )
        assert not any(job.startswith("canary") for job in done)
        release.set()
        return list(production), list(await canary)

    try:
        production, canary = asyncio.run(main())
    finally:
        batcher.close()
    assert production == [f"production:production-{i}" for i in range(5)]
    assert canary == [f"canary:canary-{i}" for i in range(3)]
    assert set(batcher.routes) == {"canary", "production"} and batcher.batches >= 2
