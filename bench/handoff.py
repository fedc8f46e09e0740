"""What a sync tool's hand-off to a worker thread costs, by the time since the last one.

A quick tool called again at once is handed over and answered in about a
dozen microseconds; in an agent run the previous hand-off was a model call
ago, and on a virtual machine the path is then cold: every step of it (a
lock, a new object, a system call, the thread switch) costs several
microseconds more, and the whole hand-off several times as much. This
prints that curve for ``run_in_worker`` (what ``@tool`` uses) against the
machine's own floor measured in the same run: two Python threads handing
an eventfd back and forth on one CPU (the second moved onto the first's
CPU before each round trip, untimed), the least a switch to another thread
and back can cost here, with the same work between round trips.
Between hand-offs the loop thread does ``--gap`` milliseconds of work that
allocates and touches memory, as parsing an answer does.

    uv run python bench/handoff.py [--gaps 0,1,3,10] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable

from agentkit._threads import run_in_worker


def _work(ms: float) -> None:
    """``ms`` milliseconds of allocating Python work, like parsing an answer."""
    end = time.perf_counter() + ms / 1000
    kept: dict[int, list[int]] = {}
    i = 0
    while time.perf_counter() < end:
        kept[i % 5000] = [i]
        i += 1


class PingPong:
    """A thread that answers each eventfd write with one of its own.

    ``follow()``, outside the timed part, moves it onto the CPU the caller is
    on, as ``agentkit._threads`` keeps its worker next to the loop.
    """

    def __init__(self) -> None:
        import ctypes

        self.ask, self.answer = os.eventfd(0), os.eventfd(0)
        self.getcpu = ctypes.PyDLL(None).sched_getcpu
        self.getcpu.restype, self.getcpu.argtypes = ctypes.c_int, ()
        self.cpu = -1
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self.tid = thread.native_id or 0

    def _serve(self) -> None:
        while True:
            os.eventfd_read(self.ask)
            os.eventfd_write(self.answer, 1)

    def follow(self) -> None:
        cpu = self.getcpu()
        if cpu != self.cpu:
            os.sched_setaffinity(self.tid, {cpu})
            self.cpu = cpu

    def __call__(self) -> None:
        os.eventfd_write(self.ask, 1)
        os.eventfd_read(self.answer)


def _quick() -> int:
    return 1


async def measure(gaps: list[float], calls: int) -> dict[float, dict[str, list[float]]]:
    for _ in range(50):  # the worker started, kept near the loop (NEARBY_AFTER)
        await run_in_worker(_quick)
    ping = PingPong()
    table: dict[float, dict[str, list[float]]] = {}
    for gap in gaps:
        rows: dict[str, list[float]] = {"inline": [], "ping-pong": [], "run_in_worker": []}
        plain: dict[str, Callable[[], object]] = {"inline": _quick, "ping-pong": ping}
        for _ in range(calls):
            for name, call in plain.items():
                _work(gap)
                ping.follow()
                started = time.perf_counter()
                call()
                rows[name].append((time.perf_counter() - started) * 1e6)
            _work(gap)
            started = time.perf_counter()
            await run_in_worker(_quick)
            rows["run_in_worker"].append((time.perf_counter() - started) * 1e6)
        table[gap] = rows
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gaps", default="0,1,3,10", help="ms of work between calls")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    if not hasattr(os, "eventfd") or not hasattr(os, "sched_setaffinity"):
        sys.exit("needs Linux (eventfd, sched_setaffinity)")
    gaps = [float(g) for g in args.gaps.split(",")]
    table = asyncio.run(measure(gaps, args.calls))
    print(f"{args.calls} calls of each per gap, alternating; microseconds, medians")
    heading = ("gap (ms of work before)", "inline", "ping-pong", "run_in_worker", "ratio")
    print("{:>24} {:>8} {:>10} {:>14} {:>6}".format(*heading))
    for gap, rows in table.items():
        inline, ping, ours = (statistics.median(rows[k]) for k in rows)
        print(f"{gap:>24g} {inline:8.1f} {ping:10.1f} {ours:14.1f} {ours / ping:5.2f}x")


if __name__ == "__main__":
    main()
