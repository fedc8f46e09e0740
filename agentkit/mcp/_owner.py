"""A background task that owns one MCP connection, so any task may use it.

The SDK's ``Client`` is a stack of async context managers (task groups, cancel
scopes) that must be entered and exited by the same task. A tool set shared by
concurrent runs is entered by one run's task and left by another's, and a
transport that fails cancels the task that entered it: the run. So the
connection lives in a task of its own, detached from every caller: callers
only send requests over it, and when it dies they are woken with an error
instead of being cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import anyio

__all__ = ["Connection", "Lost", "backoff_delays", "describe", "spawn_detached"]

logger = logging.getLogger("agentkit.mcp")

# Strong references to the detached asyncio tasks, which the loop only keeps weakly.
_tasks: set[asyncio.Task[Any]] = set()


def spawn_detached(function: Callable[[], Awaitable[None]]) -> None:
    """Run ``function()`` in a new task that belongs to no caller's task group.

    The task starts from an empty context: it serves every caller, so it must
    not carry one caller's context variables (an MCP request being served,
    say) into callbacks it runs for the others. ``function`` must not raise.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # Not asyncio: anyio's other backend is trio, whose system tasks are
        # exactly "detached from every caller".
        import trio  # type: ignore[import-not-found]

        trio.lowlevel.spawn_system_task(function, context=contextvars.Context())
        return

    async def body() -> None:
        await function()

    task = loop.create_task(body(), context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def backoff_delays(first: float, limit: float) -> Callable[[int], float]:
    """Seconds to wait before reconnect attempt ``n`` (0-based): doubling, capped at ``limit``."""

    def delay(attempt: int) -> float:
        return float(min(limit, first * (2 ** min(attempt, 30))))

    return delay


class Lost(Exception):
    """The connection ended while a request was waiting on it."""


class Connection:
    """One connection, opened, held and (if asked) reopened by a detached owner task.

    Args:
        name: The server's name, for log lines.
        connect: Opens the connection on ``stack`` and returns the client;
            called in the owner task, once per attempt.
        reconnect: Keep trying, with backoff, after a failed attempt or a
            lost connection, until ``close``.
        delays: ``(first, longest)`` seconds between attempts.
        close_timeout: Longest ``close`` waits for the owner to finish.

    Only the owner task changes ``client`` and ``dead``; any task may call
    ``open``, ``close``, ``lost`` and ``guard``.
    """

    def __init__(
        self,
        name: str,
        connect: Callable[[AsyncExitStack], Awaitable[Any]],
        *,
        reconnect: bool,
        delays: tuple[float, float],
        close_timeout: float,
    ) -> None:
        self.name = name
        self.connect = connect
        self.reconnect = reconnect
        self.delays = delays
        self.close_timeout = close_timeout
        self.client: Any = None
        #: Why the connection is down, while it is.
        self.dead: str | None = None
        #: Increases with every successful connect (so "once per outage" can be told).
        self.generation = 0
        self.stopping = False
        self._wake = anyio.Event()
        self._done: anyio.Event | None = None
        self._calls: set[anyio.CancelScope] = set()
        self._up = anyio.Event()  # set while connected; replaced when the connection ends

    async def open(self) -> BaseException | None:
        """Start the owner and wait for its first attempt; the error when it failed.

        A reconnecting connection reports no error: it keeps trying.
        """
        self.stopping = False
        self.dead = None
        first = anyio.Event()
        failure: list[BaseException] = []
        done = self._done = anyio.Event()

        async def owner() -> None:
            try:
                await self._own(first, failure)
            finally:
                first.set()
                done.set()

        spawn_detached(owner)
        try:
            await first.wait()
        except BaseException:
            # Cancelled while connecting: the owner must not keep a connection
            # nobody will ever close.
            self.stopping = True
            self._wake.set()
            raise
        if failure and not self.reconnect:
            await done.wait()
            return failure[0]
        return None

    async def close(self) -> None:
        """Ask the owner to close the connection and wait (bounded) until it has."""
        self.stopping = True
        self._wake.set()
        done, self._done = self._done, None
        if done is not None:
            with anyio.move_on_after(self.close_timeout):
                await done.wait()

    def lost(self, why: str) -> None:
        """A caller found the connection gone: the owner closes what is left of it."""
        self.dead = self.dead or why
        self._wake.set()

    async def wait_connected(self) -> None:
        """Wait until a connection is up."""
        while self.client is None:
            await self._up.wait()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Raise ``Lost`` in the caller when the connection ends under its request."""
        scope = anyio.CancelScope()
        self._calls.add(scope)
        try:
            with scope:
                yield
        finally:
            self._calls.discard(scope)
        if scope.cancelled_caught:
            raise Lost(self.dead or "the connection closed")

    async def _own(self, first: anyio.Event, failure: list[BaseException]) -> None:
        """Connect, hold the connection, reconnect if asked.

        ``_wake`` is replaced before each wait and ``stopping`` / ``dead`` are
        checked after, so a signal sent in between is not lost.
        """
        delay = backoff_delays(*self.delays)
        attempt = 0
        while not self.stopping:
            self._wake = anyio.Event()
            error: BaseException | None = None
            try:
                async with AsyncExitStack() as stack:
                    client = await self.connect(stack)
                    if attempt > 0:
                        logger.warning("MCP server %r is reachable again", self.name)
                    self.client, self.dead = client, None
                    self.generation += 1
                    self._up.set()
                    attempt = 0
                    first.set()
                    # Until the last user leaves, or a caller finds the connection gone.
                    if not self.stopping:
                        await self._wake.wait()
                    if not self.stopping and self.dead is not None:
                        raise Lost(self.dead)
            except Exception as exc:
                # Closing a connection that already broke lands here too: it
                # must not mask anything, the callers have been told.
                error = exc
            finally:
                if self.client is not None:
                    self.client, self._up = None, anyio.Event()
                for scope in list(self._calls):
                    scope.cancel()
            if self.stopping:
                return
            self.dead = self.dead or (describe(error) if error is not None else "connection closed")
            if not first.is_set():
                failure.append(error or Lost(self.dead))
                first.set()
                if not self.reconnect:
                    return  # open() reports it
            if not self.reconnect:
                # Down for good: wait for the last user to leave.
                while not self.stopping:
                    self._wake = anyio.Event()
                    if not self.stopping:
                        await self._wake.wait()
                return
            wait = delay(attempt)
            attempt += 1
            logger.warning(
                "MCP server %r is unavailable (%s); reconnecting in %.3g s",
                self.name,
                self.dead,
                wait,
            )
            self._wake = anyio.Event()
            if not self.stopping:
                with anyio.move_on_after(wait):
                    await self._wake.wait()


def describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (the first leaf of an exception group)."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return describe(exc.exceptions[0])
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
