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
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["backoff_delays", "spawn_detached"]

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
