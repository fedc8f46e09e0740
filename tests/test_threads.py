"""The worker-thread hand-off of sync tools (agentkit/_threads.py)."""

from __future__ import annotations

import contextvars
import threading
import time

import anyio
import anyio.from_thread
import pytest

from agentkit import _threads, tool
from agentkit._threads import run_in_worker

pytestmark = pytest.mark.anyio

WHO = contextvars.ContextVar("WHO", default="nobody")


async def test_the_function_runs_in_another_thread_with_the_callers_context() -> None:
    WHO.set("caller")
    seen = await run_in_worker(lambda: (threading.get_ident(), WHO.get()))
    assert seen[0] != threading.get_ident()
    assert seen[1] == "caller"


async def test_an_exception_reaches_the_caller() -> None:
    def fail() -> None:
        raise KeyError("lost")

    with pytest.raises(KeyError, match="lost"):
        await run_in_worker(fail)


async def test_anyio_from_thread_works_inside_the_function() -> None:
    done = anyio.Event()
    await run_in_worker(lambda: anyio.from_thread.run_sync(done.set))
    assert done.is_set()


async def test_a_cancelled_caller_stops_waiting_and_the_thread_runs_on() -> None:
    gate = threading.Event()
    finished = threading.Event()

    def block() -> None:
        gate.wait(10)
        finished.set()

    with anyio.move_on_after(0.05) as scope:
        await run_in_worker(block)
    assert scope.cancelled_caught
    assert not finished.is_set()  # abandoned, not waited for
    # Another call is served meanwhile by another worker.
    assert await run_in_worker(lambda: "next") == "next"
    gate.set()
    assert await anyio.to_thread.run_sync(finished.wait, 10)


async def test_a_sync_tool_times_out_without_blocking_the_loop() -> None:
    gate = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        gate.wait(10)
        return "late"

    try:
        result = await stuck.run({})
    finally:
        gate.set()
    assert result.is_error
    assert result.text == "Tool stuck timed out after 0.05 seconds"


async def test_many_calls_at_once_all_finish() -> None:
    barrier = threading.Barrier(20, timeout=10)
    answers: list[int] = []

    async def one(i: int) -> None:
        # 20 threads wait for each other: they only pass if 20 run at once.
        answers.append(await run_in_worker(lambda: (barrier.wait(), i)[1]))

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(one, i)
    assert sorted(answers) == list(range(20))


async def test_a_timed_out_call_raises_and_its_late_answer_is_dropped() -> None:
    gate = threading.Event()
    answered = threading.Event()

    def slow() -> str:
        gate.wait(10)
        answered.set()
        return "late"

    errors: list[object] = []
    try:
        import asyncio

        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
    except RuntimeError:  # trio: anyio's threads, timed by a cancel scope
        pass
    with pytest.raises(TimeoutError):
        await run_in_worker(slow, timeout=0.05)
    gate.set()
    assert await anyio.to_thread.run_sync(answered.wait, 10)
    # The late answer reaches the loop and is dropped there; workers serve on.
    assert await run_in_worker(lambda: "next", timeout=5) == "next"
    await anyio.sleep(0.05)
    assert errors == []


async def test_quick_calls_at_once_share_a_few_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # 200 quick calls submitted together: a worker per call (a thread pool's
    # way) would start 40 threads fighting for the GIL; the next waiting call
    # goes to a worker that just finished instead.
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())  # no idle workers of other tests
    used: set[int] = set()

    def quick() -> None:
        used.add(threading.get_ident())
        until = time.perf_counter() + 0.0001  # 0.1 ms of work, holding the GIL
        while time.perf_counter() < until:
            pass

    async def one() -> None:
        await run_in_worker(quick)

    async with anyio.create_task_group() as group:
        for _ in range(200):
            group.start_soon(one)
    assert 1 <= len(used) <= 4, len(used)  # a worker per call started 8-9 here
