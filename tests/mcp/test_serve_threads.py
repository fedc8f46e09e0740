"""How a served sync tool reaches its thread: agentkit's hand-off, with the same limits.

The server's pool hands a sync tool to agentkit's persistent workers (not
``anyio.to_thread``) and keeps the time limit as a timer on the hand-off
rather than a cancel scope around every call. What a client sees must not
change: the same timeout message, a tool's own ``timeout`` first, a call
that waits for a slot still inside its limit, and a blocked tool never
holding up another session.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.from_thread
import pytest
from http_serving import serving
from mcp import Client

from agentkit import tool
from agentkit.mcp import build_server

pytestmark = pytest.mark.anyio

GATE = threading.Event()
INSIDE = threading.Event()


@tool
def whose_thread() -> str:
    """Names the thread it runs in."""
    return threading.current_thread().name


@tool
def held() -> str:
    """Blocks its thread until the test lets go."""
    INSIDE.set()
    GATE.wait(30)
    return "held"


@tool(timeout=0.2)
def own_limit() -> str:
    """Outlasts its own time limit."""
    GATE.wait(30)
    return "late"


@tool
def quick() -> str:
    """Answers at once."""
    return "quick"


@pytest.fixture(autouse=True)
def _release() -> Any:
    GATE.clear()
    INSIDE.clear()
    yield
    GATE.set()


async def test_a_sync_tool_runs_in_an_agentkit_worker() -> None:
    async with Client(build_server([whose_thread]), mode="legacy") as client:
        result = await client.call_tool("whose_thread", {})
    assert result.content[0].text == "agentkit-tool"  # type: ignore[union-attr]


async def test_timeouts_read_as_before_and_a_tools_own_limit_wins() -> None:
    server = build_server([held, own_limit], tool_timeout=0.3)
    async with Client(server, mode="legacy") as client:
        late = await client.call_tool("held", {})
        own = await client.call_tool("own_limit", {})
    assert late.is_error is True
    assert late.content[0].text == "Tool held timed out after 0.3 seconds"  # type: ignore[union-attr]
    assert own.is_error is True
    assert own.content[0].text == "Tool own_limit timed out after 0.2 seconds"  # type: ignore[union-attr]


async def test_waiting_for_a_slot_counts_against_the_time_limit() -> None:
    # One thread for the tool: the second call waits for the first one's slot
    # (held by its thread even after its caller gave up) and runs out of time.
    server = build_server([held], tool_timeout=0.3, max_threads=4, max_threads_per_tool=1)
    async with Client(server, mode="legacy") as client:
        with anyio.fail_after(10):
            first = await client.call_tool("held", {})
            second = await client.call_tool("held", {})
    assert first.content[0].text == "Tool held timed out after 0.3 seconds"  # type: ignore[union-attr]
    assert second.content[0].text == "Tool held timed out after 0.3 seconds"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_blocked_sync_tool_does_not_hold_up_another_session(mode: str) -> None:
    server = build_server([held, quick], tool_timeout=20)
    async with (
        serving(server) as url,
        Client(url, mode=mode) as blocked,
        Client(url, mode=mode) as other,
        anyio.create_task_group() as group,
    ):
        group.start_soon(blocked.call_tool, "held", {})
        with anyio.fail_after(10):
            await anyio.to_thread.run_sync(INSIDE.wait, 10)
        with anyio.fail_after(5):
            answer = await other.call_tool("quick", {})
        GATE.set()
    assert answer.content[0].text == "quick"  # type: ignore[union-attr]


def test_agentkit_serve_over_http_shortens_the_gil_switch_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A quick sync tool's worker waits for the GIL the busy loop holds; the
    # CLI's HTTP server (its own process) makes that wait shorter.
    import sys

    import agentkit.mcp._transports as transports
    from agentkit.mcp._serve import SWITCH_INTERVAL, serve_targets

    seen: list[float] = []

    async def fake_serve_http(server: Any, **options: Any) -> None:
        seen.append(sys.getswitchinterval())

    monkeypatch.setattr(transports, "serve_http", fake_serve_http)
    before = sys.getswitchinterval()
    try:
        serve_targets(["math"], transport="http", port=0)
    finally:
        sys.setswitchinterval(before)
    assert before > SWITCH_INTERVAL
    assert seen == [pytest.approx(SWITCH_INTERVAL)]
