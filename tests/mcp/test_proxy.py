"""``agentkit serve`` proxying MCP servers: dead upstreams, reconnection, progress, big results."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_peers import RunningServer, free_port, start_server, stop_server

from agentkit.mcp import MCPToolset, build_server

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent
DYING = str(HERE / "dying_server.py")


def http_upstream(port: int) -> RunningServer:
    return start_server([sys.executable, DYING, "--http", str(port)], port)


def stdio_upstream(name: str) -> MCPToolset:
    return MCPToolset(command=sys.executable, args=[DYING], name=name, reconnect=True)


async def test_a_dead_upstream_is_left_out_and_reconnected() -> None:
    port = free_port()
    late = MCPToolset(
        f"http://127.0.0.1:{port}/mcp",
        name="late",
        reconnect=True,
        reconnect_delay=(0.05, 0.2),
        timeout=5,
    )
    live = stdio_upstream("live")
    server = build_server([live, late])
    upstream: RunningServer | None = None
    try:
        with anyio.fail_after(60):
            async with Client(server, mode="legacy") as client:
                # Nothing listens on the port yet: the live server's tools are still listed.
                names = [t.name for t in (await client.list_tools()).tools]
                assert names == ["alive", "die", "count", "big"]
                down = await client.call_tool("alive", {})
                assert down.is_error is False  # "alive" is the live server's

                upstream = await anyio.to_thread.run_sync(http_upstream, port)
                await late.wait_connected()
                names = [t.name for t in (await client.list_tools()).tools]
                own = ["alive", "die", "count", "big"]
                assert names == [*own, *(f"late_{n}" for n in own)]

                # The late server dies during a call, and comes back once restarted.
                died = await client.call_tool("late_die", {})
                assert died.is_error is True
                assert "stopped answering" in died.content[0].text  # type: ignore[union-attr]
                gone = await client.call_tool("late_alive", {})
                assert gone.is_error is True
                assert "unavailable" in gone.content[0].text  # type: ignore[union-attr]
                assert "late_alive" not in [t.name for t in (await client.list_tools()).tools]
                stop_server(upstream)
                upstream = await anyio.to_thread.run_sync(http_upstream, port)
                await late.wait_connected()
                back = await client.call_tool("late_alive", {})
                assert back.is_error is False
                assert back.content[0].text == "yes"  # type: ignore[union-attr]
    finally:
        if upstream is not None:
            stop_server(upstream)


async def test_progress_from_upstream_reaches_the_client() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    server = build_server([stdio_upstream("up")])
    with anyio.fail_after(30):
        async with Client(server, mode="legacy") as client:
            result = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
    assert result.is_error is False
    assert seen == [(1.0, 3.0, "step 1"), (2.0, 3.0, "step 2"), (3.0, 3.0, "step 3")]


@pytest.fixture
def legacy_http() -> Iterator[RunningServer]:
    server = http_upstream(free_port())
    yield server
    stop_server(server)


async def test_a_result_over_one_mib_over_legacy_http(legacy_http: RunningServer) -> None:
    # 2025-11-25 answers on an SSE stream, whose events the SDK caps at 1 MiB
    # by default; going over used to mark the whole server dead.
    size = 3 * 1024 * 1024
    async with MCPToolset(legacy_http.url, name="up", protocol="legacy") as upstream:
        big = await upstream.call_tool("big", {"size": size})
        assert big.is_error is False
        assert len(big.text) == size
    small = MCPToolset(legacy_http.url, name="up", protocol="legacy", max_message_bytes=100_000)
    async with small:
        refused = await small.call_tool("big", {"size": size})
        assert refused.is_error
        assert "could not be read" in refused.text
        # One oversized answer fails that call only: the server is not dead.
        after = await small.call_tool("alive", {})
        assert after.text == "yes"
        assert not after.is_error
    assert small.drain_warnings() == []
