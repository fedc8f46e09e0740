"""``agentkit serve --stateless``: several processes behind one port, any request to any of them.

Two ``agentkit serve --transport http --stateless`` processes sit behind a
round-robin proxy without session affinity (``lb_proxy.py``); the official
MCP client, on both protocol revisions, lists tools and calls them, progress
included, and both processes answer. The stateful mode behind the same proxy
breaks on the second request, which is why it needs a sticky load balancer.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lb_proxy import RoundRobinProxy
from mcp import Client
from mcp_peers import AGENTKIT, RunningServer, free_port, stop_server, wait_for_port

from agentkit.testing import serve_asgi

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent


def _start(*options: str) -> RunningServer:
    port = free_port()
    command = [*AGENTKIT, "serve", "lb_tools:toolset", "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *options], cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, process)
    except Exception:
        process.kill()
        err = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"agentkit serve did not start: {err[-2000:]}") from None
    return RunningServer(url=f"http://127.0.0.1:{port}/mcp", port=port, process=process)


@contextmanager
def _pair(*options: str) -> Iterator[list[RunningServer]]:
    servers = [_start(*options), _start(*options)]
    try:
        yield servers
    finally:
        for server in servers:
            stop_server(server)


@pytest.fixture(scope="module")
def stateless_pair() -> Iterator[list[RunningServer]]:
    with _pair("--stateless") as servers:
        yield servers


@contextmanager
def _behind_proxy(servers: list[RunningServer]) -> Iterator[tuple[str, RoundRobinProxy]]:
    proxy = RoundRobinProxy([f"http://127.0.0.1:{s.port}" for s in servers])
    with serve_asgi(proxy) as url:
        yield f"{url}/mcp", proxy


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stateless_servers_behind_a_round_robin_proxy_all_answer(
    stateless_pair: list[RunningServer], mode: str
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    with _behind_proxy(stateless_pair) as (url, proxy):
        async with Client(url, mode=mode, read_timeout_seconds=30) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            answers = [await client.call_tool("whoami", {}) for _ in range(6)]
            counted = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
    assert names == {"whoami", "count"}
    pids = {a.structured_content["result"] for a in answers if a.structured_content}
    # Each answer names the process that gave it: both did.
    assert pids == {s.process.pid for s in stateless_pair}
    assert proxy.served_by("tools/call") == {0, 1}
    assert counted.is_error is False
    assert counted.structured_content is not None
    assert counted.structured_content["result"] in pids
    # The progress notifications came through the proxy on the call's own SSE stream.
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.fixture(scope="module")
def stateful_pair() -> Iterator[list[RunningServer]]:
    with _pair() as servers:
        yield servers


async def test_2026_07_28_clients_need_no_session_even_from_a_stateful_server(
    stateful_pair: list[RunningServer],
) -> None:
    # The 2026-07-28 revision has no session: server/discover, then plain requests.
    with _behind_proxy(stateful_pair) as (url, proxy):
        async with Client(url, mode="auto", read_timeout_seconds=30) as client:
            answers = [await client.call_tool("whoami", {}) for _ in range(4)]
    pids = {a.structured_content["result"] for a in answers if a.structured_content}
    assert pids == {s.process.pid for s in stateful_pair}
    assert "initialize" not in {f.rpc_method for f in proxy.log}


async def test_2025_11_25_sessions_break_without_sticky_routing(
    stateful_pair: list[RunningServer],
) -> None:
    # initialize made a session in one process; the next request reached the other.
    with (
        _behind_proxy(stateful_pair) as (url, proxy),
        pytest.raises(BaseExceptionGroup) as caught,
    ):
        async with Client(url, mode="legacy", read_timeout_seconds=30) as client:
            await client.list_tools()
    assert "Session not found" in repr(caught.value)
    first, second = proxy.log[:2]
    assert (first.rpc_method, first.status) == ("initialize", 200)
    assert (second.backend, second.status) == (1, 404)
