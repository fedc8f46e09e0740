"""Workers kept on the waiting loop's CPU (agentkit/_threads.py, ``_Nearby``).

Each test reads the affinity the kernel reports for the worker thread, from
inside the tool, so it checks what the scheduler was told, not our bookkeeping.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time

import pytest

from agentkit import _threads
from agentkit._threads import run_in_worker

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
        reason="per-thread CPU affinity needs Linux and two CPUs",
    ),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # trio calls go through anyio's own threads


@pytest.fixture
def nearby(monkeypatch: pytest.MonkeyPatch) -> _threads._Nearby:
    """A fresh ``_Nearby``, already past its start-up count."""
    # A resident of its own: one another test's _Nearby kept somewhere would
    # look kept to this one. A pool of its own: another test's slow call may
    # have left the next hand-offs to go without a wait (the pool's skip).
    monkeypatch.setattr(_threads, "_resident", None)
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    _warm_up()
    fresh = _threads._Nearby()
    monkeypatch.setattr(_threads, "_nearby", fresh)
    monkeypatch.setattr(_threads, "NEARBY_AFTER", 1)
    return fresh


def _warm_up() -> None:
    # The first call starts the resident worker (and the pool's first call a
    # worker of its own); only a call that waits for a worker keeps it nearby.
    async def one() -> None:
        await run_in_worker(lambda: None)

    import anyio

    anyio.run(one)


def _my_cpus() -> frozenset[int]:
    return frozenset(os.sched_getaffinity(0))


async def test_a_quick_call_runs_on_one_cpu_the_process_may_use(
    nearby: _threads._Nearby,
) -> None:
    everywhere = _my_cpus()
    for _ in range(3):
        seen = await run_in_worker(_my_cpus)
        assert len(seen) == 1
        assert seen <= everywhere
    assert nearby.on


async def test_a_call_that_outlasts_the_wait_is_set_free(nearby: _threads._Nearby) -> None:
    everywhere = _my_cpus()
    await run_in_worker(_my_cpus)  # a worker kept nearby

    def slow() -> tuple[frozenset[int], frozenset[int]]:
        first = _my_cpus()
        deadline = time.monotonic() + 10
        while _my_cpus() != everywhere and time.monotonic() < deadline:
            time.sleep(0.001)
        return first, _my_cpus()

    first, last = await run_in_worker(slow)
    assert len(first) == 1  # kept nearby while the loop waited
    assert last == everywhere  # set free once the wait ran out


async def test_a_job_run_while_the_loop_goes_on_runs_anywhere(
    nearby: _threads._Nearby, monkeypatch: pytest.MonkeyPatch
) -> None:
    everywhere = _my_cpus()
    assert len(await run_in_worker(_my_cpus)) == 1
    # The next hand-off goes without a wait (as after a wait that ran out),
    # to an idle pool worker, which runs beside the loop, anywhere.
    monkeypatch.setattr(_threads._pool, "skip", 1)
    assert await run_in_worker(_my_cpus) == everywhere


async def test_no_affinity_call_is_made_before_the_start_up_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_threads, "_resident", None)
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())  # no skip left by another test
    await run_in_worker(_my_cpus)  # a resident worker from now on
    fresh = _threads._Nearby()
    monkeypatch.setattr(_threads, "_nearby", fresh)
    monkeypatch.setattr(_threads, "NEARBY_AFTER", 3)
    calls: list[object] = []
    monkeypatch.setattr(os, "sched_setaffinity", lambda *args: calls.append(args))
    await run_in_worker(_my_cpus)
    await run_in_worker(_my_cpus)
    assert calls == []
    assert fresh.getcpu is None  # ctypes not even looked up
    assert _threads._resident is not None
    _threads._resident.cpu = -1  # as if never kept anywhere: it needs a call
    await run_in_worker(_my_cpus)
    assert fresh.on
    assert len(calls) == 1


async def test_an_affinity_call_that_fails_turns_it_off_for_good(
    nearby: _threads._Nearby, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("not in this cpuset")

    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    assert _threads._resident is not None
    _threads._resident.cpu = -1  # not kept anywhere yet: it needs a call
    assert await run_in_worker(lambda: threading.current_thread().name) == "agentkit-tool"
    assert not nearby.on
    assert await run_in_worker(lambda: "still served") == "still served"
    assert not nearby.on


def test_a_mailbox_hands_out_every_item_in_order_then_times_out() -> None:
    box = _threads._Mailbox()
    try:
        items = [object() for _ in range(3)]
        for item in items:  # all put before any is taken
            box.put(item)  # type: ignore[arg-type]
        assert [box.get(1) for _ in items] == items
        started = time.monotonic()
        with pytest.raises(queue.Empty):
            box.get(0.02)
        assert time.monotonic() - started >= 0.015
    finally:
        box.close()


def test_a_mailbox_wakes_a_thread_waiting_on_it() -> None:
    box = _threads._Mailbox()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(box.get(10)))
    waiter.start()
    time.sleep(0.01)
    box.put("job")  # type: ignore[arg-type]
    waiter.join(10)
    box.close()
    assert got == ["job"]


async def test_without_eventfd_workers_use_a_simple_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "eventfd")
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())  # no workers yet
    monkeypatch.setattr(_threads, "_resident", None)  # none can start: no eventfd
    assert await run_in_worker(lambda: "first") == "first"  # starts a worker
    (worker,) = _threads._pool.idle
    assert isinstance(worker.queue, queue.SimpleQueue)
    assert await run_in_worker(lambda: "handed over") == "handed over"
