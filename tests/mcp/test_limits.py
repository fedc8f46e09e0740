"""Served sync tools: a per-call time limit, and hung tools cannot starve the others."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import anyio.from_thread
import pytest
from mcp import Client, StdioServerParameters
from mcp_peers import AGENTKIT

from agentkit import tool
from agentkit.mcp import build_server

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent
RELEASE = threading.Event()
ENTERED: list[int] = []
ALL_IN = anyio.Event()


@tool
def stuck() -> str:
    """Blocks its thread until the test lets go."""
    ENTERED.append(1)
    if len(ENTERED) == 8:
        anyio.from_thread.run_sync(ALL_IN.set)
    RELEASE.wait(30)
    return "late"


@tool
def quick() -> str:
    """Answers at once."""
    return "quick"


async def test_hung_sync_tools_do_not_starve_the_others() -> None:
    # 50 calls of a hung sync tool used to take all 40 of anyio's default
    # worker threads (shared with the SDK's own stdin reads), so every sync
    # tool waited for their timeout. Now one tool gets a share of the pool.
    server = build_server([stuck, quick], tool_timeout=20, max_threads=32)
    try:
        async with Client(server, mode="legacy") as client, anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(client.call_tool, "stuck", {})
            with anyio.fail_after(10):
                await ALL_IN.wait()
            with anyio.fail_after(2):
                answer = await client.call_tool("quick", {})
            group.cancel_scope.cancel()
    finally:
        RELEASE.set()
    assert answer.content[0].text == "quick"  # type: ignore[union-attr]
    assert len(ENTERED) == 8  # 32 // 4 threads for one tool, the other calls queued


async def test_cli_tool_timeout_gives_the_client_an_error() -> None:
    params = StdioServerParameters(
        command=AGENTKIT[0],
        args=["serve", "slow_tools:toolset", "--tool-timeout", "0.3"],
        cwd=str(HERE),
        env={"PATH": str(Path(sys.executable).parent)},
    )
    with anyio.fail_after(30):
        async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
            late = await client.call_tool("sleepy", {"seconds": 1})
            fine = await client.call_tool("sleepy", {"seconds": 0})
    assert late.is_error is True
    assert "timed out after 0.3" in late.content[0].text  # type: ignore[union-attr]
    assert fine.is_error is False


async def test_a_slot_is_freed_when_its_thread_returns_not_when_the_caller_leaves() -> None:
    from agentkit.mcp._limits import ThreadPool

    pool = ThreadPool(total=4, per_tool=1)
    gate = threading.Event()
    entered = anyio.Event()

    def block() -> str:
        anyio.from_thread.run_sync(entered.set)
        gate.wait(10)
        return "blocked"

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(pool.run, "t", block)
            await entered.wait()
            group.cancel_scope.cancel()  # the caller gives up; the thread runs on
        assert pool.busy("t") == 1
        answers: list[str] = []

        async def again() -> None:
            answers.append(await pool.run("t", lambda: "next"))

        async with anyio.create_task_group() as group:
            group.start_soon(again)
            await anyio.wait_all_tasks_blocked()
            assert answers == []  # still waiting for the abandoned thread's slot
            gate.set()
        assert answers == ["next"]
        assert pool.busy() == 0


def test_a_hung_sync_tool_does_not_keep_the_finished_server_alive() -> None:
    # Python joins worker threads at exit: a timed-out call sleeping for 60 s
    # used to keep `agentkit serve` running for 60 s after stdin closed.
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "sleepy", "arguments": {"seconds": 60}},
        },
    ]
    process = subprocess.Popen(
        [*AGENTKIT, "serve", "slow_tools:toolset", "--tool-timeout", "0.2"],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
    process.stdin.flush()
    answers = [json.loads(process.stdout.readline()) for _ in range(2)]
    assert answers[1]["result"]["isError"] is True  # timed out, the thread sleeps on
    process.stdin.close()
    try:
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    assert process.stderr is not None
    # At least the sleeping call's thread; another thread may still be winding
    # down at that moment (the count is every non-daemon thread).
    left = re.search(
        r"leaving (\d+) worker thread\(s\) still running", process.stderr.read().decode()
    )
    assert left is not None
    assert int(left.group(1)) >= 1


def test_an_abandoned_thread_that_returns_after_its_loop_stopped_does_not_hang() -> None:
    # The thread frees its slot through the loop. A loop that has stopped but is
    # not closed yet (pytest's anyio runner between tests, a server shutting
    # down) never runs that hop, and a thread waiting for it blocks for good,
    # keeping the process from exiting.
    import asyncio

    from agentkit.mcp._limits import ThreadPool

    gate = threading.Event()
    started = threading.Event()
    finished = threading.Event()

    def block() -> str:
        started.set()
        gate.wait(10)
        return "late"

    async def main() -> None:
        pool = ThreadPool(total=2, per_tool=1)

        async def call() -> None:
            try:
                await pool.run("t", block)
            finally:
                finished.set()

        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await anyio.to_thread.run_sync(started.wait)
            group.cancel_scope.cancel()  # the caller gives up; the thread runs on

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
        assert finished.is_set()
        workers = [t for t in threading.enumerate() if t.name == "AnyIO worker thread"]
        gate.set()  # the thread returns now, with its loop stopped
        for thread in workers:
            thread.join(3)
        assert not [t for t in workers if t.is_alive() and t.ident in _stuck_in_release()]
    finally:
        loop.close()


def _stuck_in_release() -> set[int]:
    import sys
    import traceback

    stuck = set()
    for ident, frame in sys._current_frames().items():
        if any("run_sync_from_thread" in line for line in traceback.format_stack(frame)):
            stuck.add(ident)
    return stuck
