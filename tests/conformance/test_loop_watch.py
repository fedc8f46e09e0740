"""The kit's loop watch: a stall counts what the loop's thread did, not the CPU it waited for.

A synchronous sleep and a busy loop on the event loop both count in full;
the time the thread spends waiting for a CPU that another process holds
(a loaded machine) does not, where Linux reports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import anyio
import pytest

from agentkit.conformance._exchange import LoopWatch


async def _watched(block: Callable[[], Awaitable[None]]) -> LoopWatch:
    watch = LoopWatch()
    async with anyio.create_task_group() as group:
        await group.start(watch.run)
        await block()
        group.cancel_scope.cancel()
    return watch


@pytest.mark.anyio
async def test_a_sleep_on_the_loop_counts_in_full() -> None:
    async def block() -> None:
        time.sleep(0.3)  # noqa: ASYNC251 - the defect the watch is there to see

    watch = await _watched(block)
    assert watch.worst >= 0.28
    assert watch.worst_wall >= watch.worst


def _spin(cpu_seconds: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < cpu_seconds:
        pass


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or not os.path.exists("/proc/thread-self/schedstat"),
    reason="needs Linux's per-thread CPU affinity and run-queue statistics",
)
def test_the_time_the_loop_waits_for_a_cpu_is_not_counted() -> None:
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    # A competitor on the loop thread's only CPU: the thread now waits for it
    # about half the time, as on a machine whose cores are all busy.
    rival = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(rival.pid, {cpu})
        os.sched_setaffinity(0, {cpu})  # 0: this thread, which runs the loop

        async def block() -> None:
            _spin(0.3)  # a busy adapter: 0.3 s of the loop thread's own CPU time

        watch = anyio.run(_watched, block)
    finally:
        os.sched_setaffinity(0, before)
        rival.kill()
        rival.wait()
    # The spin's own CPU time still counts, so a busy loop is still caught ...
    assert watch.worst >= 0.28
    # ... but not the time spent waiting while the rival held the CPU.
    assert watch.worst_wall - watch.worst >= 0.1, (watch.worst_wall, watch.worst)
