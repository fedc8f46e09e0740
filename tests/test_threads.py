"""The worker-thread hand-off of sync tools (agentkit/_threads.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable

import anyio
import anyio.from_thread
import pytest

from agentkit import _threads, tool
from agentkit._threads import run_in_worker

pytestmark = pytest.mark.anyio

WHO = contextvars.ContextVar("WHO", default="nobody")


def without_resident(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hand-off through the pool, as where there is no eventfd."""
    monkeypatch.setattr(_threads, "_resident", None)
    monkeypatch.setattr(_threads, "_start_resident", lambda: None)


@pytest.fixture(params=["resident", "pool"])
def handoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """What every hand-off must do, checked on both paths: the resident worker
    (one call from a quiet loop) and the pool (batches, and all calls where
    there is no resident)."""
    if request.param == "pool":
        without_resident(monkeypatch)
    return str(request.param)


async def test_the_function_runs_in_another_thread_with_the_callers_context(handoff: str) -> None:
    WHO.set("caller")
    seen = await run_in_worker(lambda: (threading.get_ident(), WHO.get()))
    assert seen[0] != threading.get_ident()
    assert seen[1] == "caller"


async def test_an_exception_reaches_the_caller(handoff: str) -> None:
    def fail() -> None:
        raise KeyError("lost")

    with pytest.raises(KeyError, match="lost"):
        await run_in_worker(fail)


async def test_anyio_from_thread_works_inside_the_function(handoff: str) -> None:
    done = anyio.Event()
    await run_in_worker(lambda: anyio.from_thread.run_sync(done.set))
    assert done.is_set()


async def test_a_cancelled_caller_stops_waiting_and_the_thread_runs_on(handoff: str) -> None:
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


async def test_a_sync_tool_times_out_without_blocking_the_loop(handoff: str) -> None:
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


async def test_many_calls_at_once_all_finish(handoff: str) -> None:
    barrier = threading.Barrier(20, timeout=10)
    answers: list[int] = []

    async def one(i: int) -> None:
        # 20 threads wait for each other: they only pass if 20 run at once.
        answers.append(await run_in_worker(lambda: (barrier.wait(), i)[1]))

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(one, i)
    assert sorted(answers) == list(range(20))


async def test_a_timed_out_call_raises_and_its_late_answer_is_dropped(handoff: str) -> None:
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
    without_resident(monkeypatch)  # the pool's own way with many calls
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


async def test_a_blocking_call_leaves_the_loop_running(handoff: str) -> None:
    # The function can only return once another task on the loop let it go:
    # a loop held up by the call would leave it waiting out its 10 seconds.
    entered = threading.Event()
    released = threading.Event()

    def blocked() -> bool:
        entered.set()
        return released.wait(10)

    async def release() -> None:
        assert await anyio.to_thread.run_sync(entered.wait, 10)  # anyio's thread, not ours
        released.set()

    results: list[bool] = []

    async def call() -> None:
        results.append(await run_in_worker(blocked, timeout=20))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        group.start_soon(release)
    assert results == [True]


async def test_calls_of_one_loop_iteration_go_over_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tool calls made while the loop has other work are handed to a worker
    # at the end of the iteration, in one batch: one GIL hand-over for all.
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    without_resident(monkeypatch)  # batches are the pool's
    sizes: list[int] = []
    run_batch = _threads._Worker.run_batch

    def spy(self: _threads._Worker, batch: _threads._Batch) -> None:
        sizes.append(len(batch.jobs))
        run_batch(self, batch)

    monkeypatch.setattr(_threads._Worker, "run_batch", spy)
    await run_in_worker(lambda: None)  # a worker up and idle
    sizes.clear()
    answers: list[str] = []

    async def one(i: int) -> None:
        WHO.set(f"task {i}")
        answers.append(await run_in_worker(WHO.get, timeout=10))

    async with anyio.create_task_group() as group:
        for i in range(10):
            group.start_soon(one, i)
    assert sorted(answers) == sorted(f"task {i}" for i in range(10))  # each its own context
    assert max(sizes) > 1, sizes


async def test_a_slow_call_in_a_batch_does_not_hold_up_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first job of a batch blocks until the others have answered: they
    # must leave the batch once the loop stops waiting and run elsewhere.
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    without_resident(monkeypatch)  # batches are the pool's
    await run_in_worker(lambda: None)
    others_done = threading.Event()
    answers: list[str] = []

    def slow() -> str:
        return "slow" if others_done.wait(10) else "held up"

    async def one(function: Callable[[], str]) -> None:
        answers.append(await run_in_worker(function, timeout=20))

    with anyio.fail_after(15):
        async with anyio.create_task_group() as group:
            group.start_soon(one, slow)
            async with anyio.create_task_group() as quick:
                for _ in range(5):
                    quick.start_soon(one, lambda: "quick")
            others_done.set()
    assert answers == ["quick"] * 5 + ["slow"]


class _LateWait:
    """A ``done`` lock whose waiter gives up just after the worker finished."""

    def __init__(self) -> None:
        self.finished = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking:
            self.finished.wait(10)
        return False  # as if the wait had run out a moment before

    def release(self) -> None:
        self.finished.set()


async def test_answers_left_just_after_the_wait_ran_out_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    without_resident(monkeypatch)  # batches are the pool's
    await run_in_worker(lambda: None)

    class LateBatch(_threads._Batch):
        def __init__(self, jobs: list[_threads._Job]) -> None:
            super().__init__(jobs)
            self.done = _LateWait()  # type: ignore[assignment]

    monkeypatch.setattr(_threads, "_Batch", LateBatch)

    def fail() -> None:
        raise KeyError("kept too")

    with anyio.fail_after(10):
        assert await run_in_worker(lambda: "kept", timeout=5) == "kept"
        _threads._pool.skip = 0  # wait again (a wait that ran out skips the next ones)
        with pytest.raises(KeyError, match="kept too"):
            await run_in_worker(fail)


async def test_every_way_an_answer_can_come_back_gives_it(
    monkeypatch: pytest.MonkeyPatch, handoff: str
) -> None:
    # With no wait at all the loop gives up at once, so answers come back
    # every way: answered in time, from a job running then, or from one that
    # went back to the pool; each caller gets its own.
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    monkeypatch.setattr(_threads, "HANDOFF_WAIT", 0)
    answers: list[int] = []

    async def one(i: int) -> None:
        answers.append(await run_in_worker(lambda: i))

    with anyio.fail_after(20):
        for i in range(50):
            await one(i)
        async with anyio.create_task_group() as group:
            for i in range(50, 200):
                group.start_soon(one, i)
    assert sorted(answers) == list(range(200))


async def test_a_time_limit_shorter_than_the_wait_is_kept(handoff: str) -> None:
    gate = threading.Event()
    try:
        with pytest.raises(TimeoutError):
            await run_in_worker(lambda: gate.wait(10), timeout=_threads.HANDOFF_WAIT / 10)
    finally:
        gate.set()


async def test_after_a_wait_ran_out_the_next_calls_go_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow tool called again and again must not cost the loop a wait each
    # time: once a wait ran out, the next call is handed over and awaited.
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    without_resident(monkeypatch)  # batches are the pool's
    await run_in_worker(lambda: None)
    waited: list[int] = []
    run_batch = _threads._Worker.run_batch

    def spy(self: _threads._Worker, batch: _threads._Batch) -> None:
        waited.append(len(batch.jobs))
        run_batch(self, batch)

    monkeypatch.setattr(_threads._Worker, "run_batch", spy)
    entered = threading.Event()
    gate = threading.Event()

    def slow() -> str:
        entered.set()
        return "slow" if gate.wait(10) else "never let go"

    async def release_after_the_wait() -> None:
        # Only the loop lets slow() go, so its wait for slow() runs out first.
        assert await anyio.to_thread.run_sync(entered.wait, 10)
        gate.set()

    async with anyio.create_task_group() as group:
        group.start_soon(release_after_the_wait)
        assert await run_in_worker(slow) == "slow"
    assert waited == [1]
    assert await run_in_worker(lambda: "quick") == "quick"
    assert waited == [1]  # handed over without a wait
    assert await run_in_worker(lambda: "quick") == "quick"
    assert waited == [1, 1]  # and waiting again


def test_a_loop_closed_before_its_batch_went_over_is_forgotten() -> None:
    pool = _threads._Pool()
    closed = asyncio.new_event_loop()
    context = contextvars.copy_context()
    pool.gather(_threads._Job(lambda: 1, context, closed, closed.create_future()))
    closed.close()  # before the iteration's end that would have flushed the batch
    assert list(pool.gathering) == [closed]
    running = asyncio.new_event_loop()
    try:
        job = _threads._Job(lambda: 2, context, running, running.create_future())
        pool.gather(job)
        assert list(pool.gathering) == [running]
        assert running.run_until_complete(job.future) == 2  # its own batch still goes over
    finally:
        running.close()


# -- the resident worker: one call from a quiet loop ------------------------------


@pytest.fixture
def resident(monkeypatch: pytest.MonkeyPatch) -> _threads._Resident:
    """A resident of the test's own, and a pool with no idle workers."""
    if not hasattr(_threads.os, "eventfd"):
        pytest.fail("the resident needs eventfd (Linux); these tests run where it is")
    fresh = _threads._Resident()
    monkeypatch.setattr(_threads, "_resident", fresh)
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    return fresh


async def test_a_quiet_loops_call_goes_to_the_resident(resident: _threads._Resident) -> None:
    for _ in range(3):
        assert await run_in_worker(threading.get_native_id) == resident.tid
    assert _threads._pool.workers == 0  # the pool started no thread
    assert not resident.owner.locked()


async def test_a_slow_call_on_the_resident_is_answered_through_its_future(
    resident: _threads._Resident,
) -> None:
    entered, gate = threading.Event(), threading.Event()

    def slow() -> int:
        entered.set()
        gate.wait(10)
        return threading.get_native_id()

    async def meanwhile() -> None:
        assert await anyio.to_thread.run_sync(entered.wait, 10)
        # The resident is busy: this call goes to a pool worker.
        assert await run_in_worker(threading.get_native_id) != resident.tid
        assert _threads.busy_workers() >= 1
        gate.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(meanwhile)
            assert await run_in_worker(slow) == resident.tid
    # Free again once its call returned (after the wait that ran out, the
    # next hand-off goes without one; the one after waits on the resident).
    assert await anyio.to_thread.run_sync(lambda: resident.owner.acquire(timeout=10))
    resident.owner.release()
    _threads._pool.skip = 0
    assert await run_in_worker(threading.get_native_id) == resident.tid


async def test_a_gathered_call_that_outlasts_the_wait_keeps_its_own_future(
    resident: _threads._Resident,
) -> None:
    # A call made while the loop has other work is gathered, with a future the
    # caller awaits, and handed over at the end of the iteration: alone in its
    # batch it goes to the resident, and if it outlasts the wait the answer
    # must come through that same future.
    gate = threading.Event()

    async def release() -> None:
        await anyio.sleep(0.05)
        gate.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(release)
            asyncio.get_running_loop().call_soon(lambda: None)  # the loop is not idle
            assert await run_in_worker(lambda: gate.wait(10)) is True


async def test_an_answer_left_just_after_the_residents_wait_ran_out_is_kept(
    resident: _threads._Resident,
) -> None:
    resident.done = _LateWait()  # type: ignore[assignment]
    with anyio.fail_after(10):
        assert await run_in_worker(lambda: "kept") == "kept"
    assert not resident.owner.locked()


FORK_SCRIPT = r"""
import asyncio, os, threading
from agentkit import _threads

async def here():
    return await _threads.run_in_worker(threading.get_native_id)

parent = asyncio.run(here())
assert parent == _threads._resident.tid
child = os.fork()
if child == 0:
    # The resident's thread did not come along: a new one must serve the child.
    tid = asyncio.run(asyncio.wait_for(here(), 10))
    os._exit(0 if tid != parent else 3)
status = os.waitpid(child, 0)[1]
print(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_gets_a_resident_of_its_own() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0", out.stderr


async def test_an_idle_resident_keeps_no_answer_alive(resident: _threads._Resident) -> None:
    import gc
    import weakref

    class Answer:
        pass

    answer = await run_in_worker(Answer)
    assert await anyio.to_thread.run_sync(lambda: resident.owner.acquire(timeout=10))
    resident.owner.release()
    kept = weakref.ref(answer)
    del answer
    await anyio.sleep(0.01)  # the resident is past its last step, back in its read
    gc.collect()
    assert kept() is None
