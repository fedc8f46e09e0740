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
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from .._tools import Tool

__all__ = ["ThreadPool"]

MAX_THREADS = 32


async def _acquire(limiter: anyio.CapacityLimiter, borrower: object) -> None:
    # A free slot is taken without yielding to the event loop: the awaited
    # acquire always passes through checkpoints, a measurable cost per call.
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
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
        # anyio's own accounting of the to_thread calls (released on cancel);
        # never the bottleneck, since _all admits at most `total` calls.
        self._hops = anyio.CapacityLimiter(total)
        self._tools: dict[str, anyio.CapacityLimiter] = {}
        # id(original) -> (original, copy); the original is kept so its id stays unique.
        self._clones: dict[int, tuple[Tool, Tool]] = {}

    def busy(self, name: str | None = None) -> int:
        """Threads running right now (for one tool, or all), finished or abandoned callers alike."""
        if name is None:
            return int(self._all.borrowed_tokens)
        limiter = self._tools.get(name)
        return int(limiter.borrowed_tokens) if limiter is not None else 0

    async def run(self, name: str, function: Callable[[], Any]) -> Any:
        """``function()`` in a worker thread, once tool ``name`` and the pool have a free slot."""
        mine = self._tools.setdefault(name, anyio.CapacityLimiter(self.per_tool))
        borrower = object()
        await _acquire(mine, borrower)
        try:
            await _acquire(self._all, borrower)
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
        except RuntimeError:  # not asyncio (trio): anyio's blocking hop below
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

        try:
            result = await anyio.to_thread.run_sync(
                work, abandon_on_cancel=True, limiter=self._hops
            )
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

    def wrap(self, tool: Tool) -> Tool:
        """``tool`` with its sync function run through this pool; other tools as they are.

        The copy keeps the tool's schema, validation, timeout and result
        mapping: only how the function is called changes.
        """
        if not tool._in_thread:
            return tool
        known = self._clones.get(id(tool))
        if known is None:
            function = tool.function
            name = tool.name

            async def in_pool(**kwargs: Any) -> Any:
                return await self.run(name, functools.partial(function, **kwargs))

            clone = copy.copy(tool)
            clone.function = in_pool
            clone._is_async = True
            clone._in_thread = False
            known = self._clones[id(tool)] = (tool, clone)
        return known[1]
