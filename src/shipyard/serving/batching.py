"""Adaptive micro-batching: concurrent requests coalesced into one predict call.

Requests queue on the event loop; one worker thread runs the model. While it is busy,
new requests pile up and the next call takes them all (up to `max_batch_rows`), so the
batch size follows the load with no tuning: one row at a time when idle, large batches
under pressure. When requests are arriving concurrently (the last batch held more than
one), the worker also waits a little before the next call, a tenth of the recent call time
capped by `max_wait_ms`, because the requests just answered are about to come back: models
whose cost is mostly per call (the common case) gain most. The model runs off the event
loop, which stays free to parse the next requests.

`RoutedBatcher` keeps one such batcher, with its own queue and thread, per route
(production, canary): a slow canary's calls queue behind each other, never in front of
production's.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


class MicroBatcher(Generic[Job, Result]):
    """Runs `process(jobs) -> results` (same order) on one worker thread, batching queued jobs.

    With `enabled=False` every job is its own call (still off the event loop).
    """

    def __init__(
        self,
        process: Callable[[Sequence[Job]], Sequence[Result]],
        *,
        max_batch_rows: int = 2048,
        max_wait_ms: float = 10.0,
        enabled: bool = True,
        name: str = "predict",
    ) -> None:
        self._process = process
        self.max_batch_rows = max_batch_rows
        self.max_wait_s = max_wait_ms / 1000.0
        self.enabled = enabled
        self._pending: deque[tuple[Job, int, asyncio.Future[Result]]] = deque()
        self._pending_rows = 0
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"shipyard-{name}")
        self.batches = 0
        self._cost_s = 0.0  # moving average of the seconds one call takes
        self._last_jobs = 0

    async def submit(self, job: Job, rows: int) -> Result:
        """Queue `job` (of `rows` rows) and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((job, rows, future))
        self._pending_rows += rows
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[Job, int, asyncio.Future[Result]]]:
        batch = [self._pending.popleft()]
        taken = batch[0][1]
        if self.enabled:
            while self._pending and taken + self._pending[0][1] <= self.max_batch_rows:
                item = self._pending.popleft()
                taken += item[1]
                batch.append(item)
        self._pending_rows -= taken
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                wait = self.wait_s()
                if wait > 0 and self._pending_rows < self.max_batch_rows:
                    await asyncio.sleep(wait)
                batch = self._take()
                jobs = [job for job, _, _ in batch]
                start = loop.time()
                try:
                    results: Sequence[Any] = await loop.run_in_executor(self._executor, self._process, jobs)
                except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                    results = [exc] * len(batch)
                self._cost_s = (
                    0.8 * self._cost_s + 0.2 * (loop.time() - start) if self.batches else loop.time() - start
                )
                self._last_jobs = len(batch)
                self.batches += 1
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._task = None

    def wait_s(self) -> float:
        """How long the next call waits for more rows: only under concurrency, at most `max_wait_ms`."""
        if not self.enabled or self._last_jobs <= 1:
            return 0.0
        return min(self.max_wait_s, 0.1 * self._cost_s)

    async def drain(self) -> None:
        """Wait until every queued job has been processed."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def close(self) -> None:
        """Stop the worker thread after the call in progress."""
        self._executor.shutdown(wait=True)


class RoutedBatcher(Generic[Job, Result]):
    """One `MicroBatcher` (queue and thread) per route: `route(job)` names it on the event loop,
    `process(route, jobs)` runs on that route's thread. Options are passed to each batcher."""

    def __init__(
        self,
        route: Callable[[Job], str],
        process: Callable[[str, Sequence[Job]], Sequence[Result]],
        **options: Any,
    ) -> None:
        self._route = route
        self._process = process
        self._options = options
        self.routes: dict[str, MicroBatcher[Job, Result]] = {}

    async def submit(self, job: Job, rows: int) -> Result:
        """Queue `job` on its route's batcher and wait for its result."""
        name = self._route(job)
        batcher = self.routes.get(name)
        if batcher is None:
            batcher = MicroBatcher(functools.partial(self._process, name), name=name, **self._options)
            self.routes[name] = batcher
        return await batcher.submit(job, rows)

    @property
    def batches(self) -> int:
        """Model calls made so far on every route."""
        return sum(b.batches for b in self.routes.values())

    async def drain(self) -> None:
        """Wait until every route's queued jobs have been processed."""
        for batcher in list(self.routes.values()):
            await batcher.drain()

    def close(self) -> None:
        """Stop every route's thread after its call in progress."""
        for batcher in self.routes.values():
            batcher.close()
