"""Sync tools off the event loop, with a hand-off lighter than ``anyio.to_thread``.

A sync ``@tool`` must never block the event loop, so it runs in a worker
thread; on a quick tool the hand-off is most of what the call costs.
``anyio.to_thread.run_sync`` is general (capacity limiter, cancel-scope
bookkeeping, a checkpoint before and after): measured at about 0.17 ms per
call on a busy 2-core machine, against 0.07 ms for what is here. Here a job
is one tuple on a ``SimpleQueue`` of a persistent worker, and the answer
one ``call_soon_threadsafe`` back to the loop, which resolves an asyncio
future the caller awaits.

Semantics kept from ``to_thread.run_sync(..., abandon_on_cancel=True)``:
the function runs in a copy of the caller's context; a cancelled caller
(a timeout) stops waiting at once and the thread finishes on its own; at
most ``MAX_LIVE`` calls run at once (anyio's default limit) and the rest
wait for a worker; ``anyio.from_thread`` works inside the function. Under
trio (no asyncio loop) calls go through ``anyio.to_thread`` unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["MAX_LIVE", "busy_workers", "run_in_worker"]

#: Calls running at once; more wait for a worker (anyio's default limiter size).
MAX_LIVE = 40
#: An idle worker ends after this many seconds without work.
IDLE_SECONDS = 10.0
#: Seconds without a waiting job taken before another worker starts.
SPAWN_DELAY = 0.002

_Job = tuple[
    Callable[[], Any], contextvars.Context, "asyncio.AbstractEventLoop", "asyncio.Future[Any]"
]


def _claim_for_anyio(loop: asyncio.AbstractEventLoop) -> None:
    """Let ``anyio.from_thread`` in this thread find ``loop`` (its thread-local token).

    Imported here, in the worker, so ``import agentkit`` does not load
    anyio's asyncio backend.
    """
    try:
        from anyio._backends._asyncio import AsyncIOBackend
        from anyio._core._eventloop import threadlocals
        from anyio.lowlevel import EventLoopToken
    except ImportError:  # pragma: no cover - another anyio layout: no from_thread inside tools
        return
    threadlocals.current_token = EventLoopToken(AsyncIOBackend, loop)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    # On the loop: a caller that gave up (cancelled, or timed out) left a done future.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class _Pool:
    """Persistent daemon workers, each with its own queue, and the idle ones on a stack.

    A job no idle worker can take waits in ``waiting`` for the next worker to
    finish, and another worker starts only when no waiting job was taken for
    ``SPAWN_DELAY`` (every worker is inside a slow call). Starting one per
    job at once, as a thread pool does, put 40 threads on 200 concurrent
    runs of a quick tool, and their fight for the GIL cost more than the
    tools: one or two workers taking job after job keep up with the loop.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.waiting: deque[_Job] = deque()
        self.live = 0  # calls submitted and not yet settled or abandoned
        self.workers = 0  # threads alive
        self.taken = 0  # waiting jobs taken by workers that had just finished one, ever
        self.watching: asyncio.AbstractEventLoop | None = None  # where a _watch is scheduled

    def submit(self, job: _Job) -> None:
        with self.lock:
            if self.idle:
                worker = self.idle.pop()
            else:
                self.waiting.append(job)
                if self.workers == 0:
                    self._start()
                elif self.watching is None or self.watching.is_closed():
                    # (A watch on a loop that has closed since never fires.)
                    self.watching = job[2]
                    job[2].call_later(SPAWN_DELAY, self._watch, job[2], self.taken)
                return
        worker.queue.put(job)

    def _start(self) -> None:
        # Under the lock. The new worker begins with the oldest waiting job,
        # handed here so it does not count in ``taken``: only a worker that
        # finished a call shows the workers are moving.
        self.workers += 1
        _Worker(self, self.waiting.popleft())

    def _watch(self, loop: asyncio.AbstractEventLoop, taken: int) -> None:
        # On the loop, SPAWN_DELAY after a job had to wait.
        with self.lock:
            if not self.waiting:
                self.watching = None
                return
            if self.taken == taken:
                # No waiting job was taken: the workers are all in slow calls.
                # Double them (40 sleeping calls all run within ~12 ms), never
                # past MAX_LIVE running calls (abandoned ones do not count).
                running = self.live - len(self.waiting)
                for _ in range(min(len(self.waiting), MAX_LIVE - running, max(1, self.workers))):
                    self._start()
            taken = self.taken
        loop.call_later(SPAWN_DELAY, self._watch, loop, taken)

    def next_job(self, worker: _Worker) -> _Job | None:
        """A waiting job for ``worker``, or None once it is back on the idle stack."""
        with self.lock:
            if self.waiting:
                self.taken += 1
                return self.waiting.popleft()
            self.idle.append(worker)
            return None

    def retire(self, worker: _Worker) -> bool:
        """Whether idle ``worker`` may end (no job was handed to it meanwhile)."""
        with self.lock:
            if worker in self.idle:
                self.idle.remove(worker)
                self.workers -= 1
                return True
            return False


class _Worker:
    def __init__(self, pool: _Pool, first: _Job) -> None:
        self.pool = pool
        self.queue: SimpleQueue[_Job] = SimpleQueue()
        self.loop: asyncio.AbstractEventLoop | None = None
        thread = threading.Thread(
            target=self.main, args=(first,), name="agentkit-tool", daemon=True
        )
        thread.start()

    def main(self, first: _Job) -> None:
        queue, pool = self.queue, self.pool
        job: _Job | None = first
        while job is not None:
            self.run(job)
            job = pool.next_job(self)
        while True:
            try:
                job = queue.get(timeout=IDLE_SECONDS)
            except Empty:
                if pool.retire(self):
                    return
                continue
            while job is not None:
                self.run(job)
                job = pool.next_job(self)

    def run(self, job: _Job) -> None:
        function, context, loop, future = job
        if loop is not self.loop:
            self.loop = loop
            _claim_for_anyio(loop)
        value: Any = None
        error: BaseException | None = None
        # A caller that gave up before a worker was free gets nothing run.
        if not future.done():
            try:
                value = context.run(function)
            except BaseException as exc:  # handed to the caller, like a thread pool does
                error = exc
        # RuntimeError: the loop closed while the abandoned call ran.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, value, error)
        # Drop the references now: an idle worker must not keep a result alive.
        del job, function, context, future, value, error


_pool = _Pool()


def busy_workers() -> int:
    """Worker threads inside a call now, calls whose caller gave up included."""
    with _pool.lock:
        return _pool.workers - len(_pool.idle)


def _expire(future: asyncio.Future[Any]) -> None:
    # On the loop, at the deadline: the caller stops waiting; the thread runs on.
    if not future.done():
        future.set_exception(TimeoutError())


async def run_in_worker(
    function: Callable[[], Any],
    timeout: float | None = None,  # noqa: ASYNC109 - a timer on the future, cheaper than a scope
) -> Any:
    """``function()`` in a worker thread; the caller may be cancelled meanwhile.

    Args:
        function: What to run.
        timeout: Seconds to wait for it, then raise ``TimeoutError`` (the
            thread finishes on its own, as after a cancellation). A timer on
            the future the caller awaits, where ``anyio.fail_after`` around
            the call would cost a cancel scope, as much again as the hand-off.

    Raises:
        TimeoutError: ``timeout`` passed first.
        BaseException: whatever ``function`` raised.
    """
    # Imported here: asyncio is loaded once a loop runs, not by ``import agentkit``.
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is None:  # trio: anyio's own threads
        import anyio
        import anyio.to_thread

        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(function, abandon_on_cancel=True)
    future: asyncio.Future[Any] = loop.create_future()
    timer = None if timeout is None else loop.call_later(timeout, _expire, future)
    pool = _pool
    pool.live += 1
    try:
        pool.submit((function, contextvars.copy_context(), loop, future))
        return await future
    finally:
        pool.live -= 1
        if timer is not None:
            timer.cancel()
