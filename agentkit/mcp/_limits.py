"""Worker threads for the sync tools a server runs: bounded, and shared fairly.

A sync tool runs in a worker thread. When its call times out or the client
cancels it, the caller stops waiting, but the thread cannot be stopped: Python
has no way to kill a thread, so the function runs on until it returns by
itself (and whatever it does meanwhile still happens). Counting such a thread
as free, as anyio's default limiter does once the caller gives up, lets hung
calls pile up threads without bound; counting it as busy but sharing one pool,
as it does without a timeout, lets 40 hung calls stall every other sync tool
and the SDK's own stdin reads, which use the same default limiter.

So the served tools get a pool of their own, a slot is freed only when its
thread really returns, and one tool may hold only a share of the pool: a tool
that hangs uses up its share, and the other tools keep theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread

from .._threads import run_in_worker
from .._tools import Tool
from ..exceptions import ToolError

__all__ = ["ThreadPool"]

MAX_THREADS = 32


async def _acquire(
    limiter: anyio.CapacityLimiter, borrower: object, deadline: float | None
) -> None:
    # A free slot is taken without yielding to the event loop: the awaited
    # acquire always passes through checkpoints, a measurable cost per call.
    # Only a call that has to wait pays for a time limit on the waiting.
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
        if deadline is None:
            await limiter.acquire_on_behalf_of(borrower)
        else:
            with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                await limiter.acquire_on_behalf_of(borrower)


class ThreadPool:
    """Runs sync tools in at most ``total`` threads, at most ``per_tool`` for any one tool.

    Args:
        total: Threads the served sync tools may use together.
        per_tool: Threads one tool may use; default a quarter of ``total``.
    """

    def __init__(self, total: int = MAX_THREADS, per_tool: int | None = None) -> None:
        if total < 1:
            raise ValueError("a thread pool needs at least one thread")
        self.total = total
        self.per_tool = max(1, min(total, per_tool or total // 4))
        self._all = anyio.CapacityLimiter(total)
        self._tools: dict[str, anyio.CapacityLimiter] = {}
        # id(original) -> (original, copy); the original is kept so its id stays unique.
        self._clones: dict[int, tuple[Tool, Tool]] = {}

    def busy(self, name: str | None = None) -> int:
        """Threads running right now (for one tool, or all), finished or abandoned callers alike."""
        if name is None:
            return int(self._all.borrowed_tokens)
        limiter = self._tools.get(name)
        return int(limiter.borrowed_tokens) if limiter is not None else 0

    async def run(
        self,
        name: str,
        function: Callable[[], Any],
        timeout: float | None = None,  # noqa: ASYNC109 - a timer on the hand-off, not a scope
    ) -> Any:
        """``function()`` in a worker thread, once tool ``name`` and the pool have a free slot.

        Raises:
            TimeoutError: ``timeout`` seconds passed (waiting for a slot included);
                the thread, if it started, runs on and keeps its slot until it returns.
        """
        mine = self._tools.get(name)
        if mine is None:
            mine = self._tools[name] = anyio.CapacityLimiter(self.per_tool)
        borrower = object()
        deadline = None if timeout is None else time.monotonic() + timeout
        await _acquire(mine, borrower, deadline)
        try:
            await _acquire(self._all, borrower, deadline)
        except BaseException:
            mine.release_on_behalf_of(borrower)
            raise
        # Who frees the slot: the caller when the thread returned while it
        # still waited (the usual case, no extra hop to the loop), or when it
        # gave up before a thread took the job; else the thread itself, once
        # it really finishes after the caller gave up.
        state = "queued"  # -> running -> returned, or queued/running -> abandoned
        lock = threading.Lock()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): run_in_worker uses anyio's threads
            loop = None

        def release() -> None:  # always on the event loop's thread
            self._all.release_on_behalf_of(borrower)
            mine.release_on_behalf_of(borrower)

        def work() -> Any:
            nonlocal state
            with lock:
                if state == "abandoned":
                    return None  # the caller left before we started, and freed the slot
                state = "running"
            try:
                return function()
            finally:
                with lock:
                    abandoned = state == "abandoned"
                    state = "returned"
                if abandoned:
                    # Hand the release to the loop without waiting for it: once the
                    # loop has stopped (the server shut down), a blocking hop would
                    # wait forever and keep the process from exiting. RuntimeError:
                    # the loop is closed, so there is nothing left to account for.
                    with contextlib.suppress(RuntimeError):
                        if loop is not None:
                            loop.call_soon_threadsafe(release)
                        else:
                            anyio.from_thread.run_sync(release)

        # agentkit's own hand-off (a persistent worker, one queue put, one
        # call_soon_threadsafe back) rather than anyio.to_thread: per call it
        # costs about half as much, and the time limit is a timer on the
        # future rather than a cancel scope.
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            result = await run_in_worker(work, timeout=left)
        except BaseException:
            with lock:
                thread_frees = state == "running"
                if state != "returned":
                    state = "abandoned"
            if not thread_frees:
                release()
            raise
        release()
        return result

    def wrap(self, tool: Tool, timeout: float | None = None) -> Tool:
        """``tool`` with its sync function run through this pool; other tools as they are.

        The copy keeps the tool's schema, validation and result mapping: only
        how the function is called changes. Its time limit (the tool's own
        ``timeout``, else ``timeout``) is kept by the pool, so the copy's
        ``run`` needs none: call it with ``timeout=None``. A call that runs
        out of time gets the error result ``Tool.run`` gives a timed-out call.
        """
        if not tool._in_thread:
            return tool
        known = self._clones.get(id(tool))
        if known is None:
            function = tool.function
            name = tool.name
            limit = tool.timeout if tool.timeout is not None else timeout
            expired = f"Tool {name} timed out after {limit} seconds"

            async def in_pool(**kwargs: Any) -> Any:
                try:
                    return await self.run(name, functools.partial(function, **kwargs), limit)
                except TimeoutError:
                    # The message Tool.run gives a call that ran out of time.
                    raise ToolError(expired) from None

            clone = copy.copy(tool)
            clone.function = in_pool
            clone.timeout = None
            clone._is_async = True
            clone._in_thread = False
            known = self._clones[id(tool)] = (tool, clone)
        return known[1]
