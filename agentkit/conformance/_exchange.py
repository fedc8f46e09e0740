"""One call to the adapter under test, and what the kit watches around it.

The call itself (a ``generate``, or a stream read to its end or abandoned),
the asyncio tasks it leaves running, how long it stalls the event loop, and a
closed loopback port to point an adapter at when a scenario wants the
connection refused.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.abc

from .._model import ModelAdapter, ResponseEndEvent
from .._stream import response_events
from ._checks import Outcome
from ._scenarios import Scenario

__all__ = ["LoopWatch", "closed_port", "exchange", "leaked_tasks", "running_tasks"]

#: How often the loop watch ticks, in seconds.
_TICK = 0.01


async def exchange(adapter: ModelAdapter, scenario: Scenario, outcome: Outcome) -> None:
    """Make the scenario's call, keeping events, response and duration in ``outcome``.

    A streamed scenario with ``cancel_after_events`` abandons the stream after
    that many events, closing it as a user's ``break`` does. Errors escape.
    """
    start = time.perf_counter()
    try:
        await _call(adapter, scenario, outcome)
    finally:
        outcome.seconds = time.perf_counter() - start


async def _call(adapter: ModelAdapter, scenario: Scenario, outcome: Outcome) -> None:
    request = scenario.model_request()
    if not scenario.stream:
        response = await adapter.generate(request)
        # Kept before unfolding it: an invalid response may not unfold, and the
        # checks then say what is wrong with it.
        outcome.response = response
        outcome.events = list(response_events(response))
        return
    stream = adapter.stream(request)
    try:
        async for event in stream:
            outcome.events.append(event)
            if isinstance(event, ResponseEndEvent):
                outcome.response = event.response
            if scenario.cancel_after_events and len(outcome.events) >= scenario.cancel_after_events:
                break
    finally:
        # Abandoning a stream means closing it: that is what a user's `break` does.
        if isinstance(stream, AsyncIterator) and hasattr(stream, "aclose"):
            await stream.aclose()


def running_tasks() -> set[asyncio.Task[Any]] | None:
    """The event loop's tasks; None when not on asyncio (trio's cannot be listed)."""
    try:
        return asyncio.all_tasks()
    except RuntimeError:
        return None


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", type(coro).__name__)
    return f"task {task.get_name()!r} running {name}"


async def leaked_tasks(before: set[asyncio.Task[Any]] | None) -> list[str] | None:
    """The tasks born since ``before`` that still run, by name and coroutine.

    Only tasks born during the call count: whatever ran before it (a
    library's process-wide worker started by the warm-up, the test's own
    tasks) is not the call's doing. Well-behaved cleanup (httpx closing a
    stream, a cancelled task unwinding) gets half a second first.

    Returns:
        One description per leaked task; None when tasks cannot be listed.
    """
    if before is None:
        return None
    extra: set[asyncio.Task[Any]] = set()
    for _ in range(50):
        extra = {t for t in (running_tasks() or set()) - before if not t.done()}
        current = asyncio.current_task()
        if current is not None:
            extra.discard(current)
        if not extra:
            return []
        await asyncio.sleep(0.01)
    return sorted(_describe(t) for t in extra)


class LoopWatch:
    """Ticks on the event loop during a call and keeps the longest stall between ticks.

    An adapter that makes a synchronous call (a blocking socket, ``time.sleep``,
    a sync SDK) stops every other task on the loop; the ticks show it. Start
    ``run`` in a task group beside the call and cancel it afterwards.

    On a loaded machine the loop's thread also stands still while it waits for
    a CPU, which no adapter causes (our own adapters, green alone, showed
    stalls of 1.1 s at load 8-10). Where Linux reports that wait (the
    run-queue delay in ``/proc/thread-self/schedstat``), it is taken out of
    each stall, so a stall is what the thread spent running or blocked.
    A ``time.sleep(1.5)`` or a blocking read still counts in full at any load:
    the thread sleeps then, it does not wait for a CPU.

    Attributes:
        worst: The longest the loop stood still, in seconds, less the time its
            thread waited for a CPU where that is known.
        worst_wall: The longest stall in wall-clock time, that wait included.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_wall = 0.0

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Tick until cancelled."""
        waited = _CpuWait()  # opened here: it must be the loop's thread
        try:
            start = time.perf_counter()
            waited_before = waited.seconds()
            task_status.started()  # the clock runs before the call starts
            while True:
                try:
                    await anyio.sleep(_TICK)
                finally:
                    # Also when cancelled: a block just before the call ended counts too.
                    stall = time.perf_counter() - start - _TICK
                    self.worst_wall = max(self.worst_wall, stall)
                    self.worst = max(self.worst, stall - (waited.seconds() - waited_before))
                start = time.perf_counter()
                waited_before = waited.seconds()
        finally:
            waited.close()


class _CpuWait:
    """How long the calling thread has waited for a CPU so far; always 0 where unknown.

    Linux keeps it per thread in ``/proc/thread-self/schedstat`` (the second
    field, in nanoseconds). The file is opened once and read with ``pread``,
    which stays bound to the thread that opened it: about 12 µs a read.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        try:
            self._fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
            self.seconds()
        except (OSError, ValueError, IndexError):  # not Linux, or no schedstat
            self.close()

    def seconds(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def closed_port() -> Iterator[str]:
    """The root URL (``http://127.0.0.1:PORT``) of a loopback port nobody listens on."""
    # Bound but never listening: connecting is refused at once, and holding
    # the socket keeps anyone else from taking the port meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
