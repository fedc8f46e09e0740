"""``agentkit serve`` in a subprocess: stdio and streamable HTTP, token, Host/Origin, stateless."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_peers import AGENTKIT, RunningServer, free_port, start_server, stop_server

from agentkit.mcp import AgentToolset, MCPAuthenticationError, MCPToolset
from agentkit.mcp._serve import resolve_targets
from agentkit.mcp._transports import http_app

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def token_server() -> Iterator[RunningServer]:
    port = free_port()
    env = {**__import__("os").environ, "MCP_TEST_TOKEN": TOKEN}
    command = [*AGENTKIT, "serve", "time", "math", "--transport", "http", "--port", str(port)]
    server = start_server([*command, "--token-env", "MCP_TEST_TOKEN"], port, env)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def stateless_server() -> Iterator[RunningServer]:
    port = free_port()
    command = [*AGENTKIT, "serve", "math", "--transport", "http", "--port", str(port)]
    server = start_server([*command, "--stateless"], port)
    yield server
    stop_server(server)


async def test_stdio_serve_lists_and_calls() -> None:
    params = StdioServerParameters(command=AGENTKIT[0], args=["serve", "math"])
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        result = await client.call_tool("evaluate", {"expression": "2 * (3 + 4) ** 2"})
        bad = await client.call_tool("evaluate", {"expression": "__import__('os')"})
    assert names == ["evaluate"]
    assert result.structured_content == {"result": 98}
    assert bad.is_error is True
    assert "not allowed" in bad.content[0].text or "unknown name" in bad.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_http_with_token(token_server: RunningServer, mode: str) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    from mcp.client.streamable_http import streamable_http_client

    async with (
        http,
        Client(streamable_http_client(token_server.url, http_client=http), mode=mode) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool(
            "convert_time",
            {"time": "2026-01-15T12:00", "source_timezone": "UTC", "target_timezone": "Asia/Tokyo"},
        )
    assert {"now", "convert_time", "evaluate"} <= names
    assert result.structured_content is not None
    assert result.structured_content["target"]["datetime"] == "2026-01-15T21:00:00+09:00"


def _initialize(url: str, headers: dict[str, str]) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    base = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    return httpx2.post(url, content=json.dumps(body), headers={**base, **headers}, timeout=10)


def test_http_rejects_missing_or_wrong_token(token_server: RunningServer) -> None:
    missing = _initialize(token_server.url, {})
    wrong = _initialize(token_server.url, {"Authorization": "Bearer nope"})
    good = _initialize(token_server.url, {"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert good.status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_bearer_scheme_is_case_insensitive(token_server: RunningServer, scheme: str) -> None:
    # RFC 7235 section 2.1: the auth scheme is a case-insensitive token.
    assert _initialize(token_server.url, {"Authorization": f"{scheme} {TOKEN}"}).status_code == 200
    wrong = _initialize(token_server.url, {"Authorization": f"Basic {TOKEN}"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_wrong_token_is_an_authentication_error(
    token_server: RunningServer, mode: str
) -> None:
    toolset = MCPToolset(
        token_server.url, name="notes", headers={"Authorization": "Bearer nope"}, protocol=mode
    )
    with pytest.raises(MCPAuthenticationError, match=r"'notes'.*HTTP 401") as caught:
        async with toolset:
            pass
    assert caught.value.status_code == 401
    assert caught.value.server == "notes"


def test_all_interfaces_warns_without_token_and_allows_listed_hosts() -> None:
    port = free_port()
    command = [*AGENTKIT, "serve", "math", "-t", "http", "--host", "0.0.0.0", "-p", str(port)]
    server = start_server(
        [*command, "--allow-host", "192.0.2.7", "--allow-host", "[2001:db8::1]"], port
    )
    try:
        local = _initialize(server.url, {})
        by_ip = _initialize(server.url, {"Host": f"192.0.2.7:{port}"})
        by_ipv6 = _initialize(server.url, {"Host": f"[2001:db8::1]:{port}"})
        other = _initialize(server.url, {"Host": f"198.51.100.1:{port}"})
    finally:
        stop_server(server)
    assert local.status_code == 200
    assert by_ip.status_code == 200
    assert by_ipv6.status_code == 200
    assert other.status_code == 421
    assert server.process.stderr is not None
    err = server.process.stderr.read().decode()
    assert "warning: serving on 0.0.0.0" in err
    assert "without a bearer token" in err
    assert "accepting requests addressed to: " in err
    assert "192.0.2.7" in err


def test_http_validates_host_and_origin(token_server: RunningServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    rebound = _initialize(token_server.url, {**auth, "Host": "evil.example.com"})
    foreign = _initialize(token_server.url, {**auth, "Origin": "http://evil.example.com"})
    local = _initialize(
        token_server.url, {**auth, "Origin": f"http://localhost:{token_server.port}"}
    )
    assert rebound.status_code == 421
    assert foreign.status_code == 403
    assert local.status_code == 200


async def test_stateless_http_needs_no_session(stateless_server: RunningServer) -> None:
    for _ in range(2):  # two independent clients, as behind a load balancer
        async with Client(stateless_server.url, mode="legacy") as client:
            result = await client.call_tool("evaluate", {"expression": "sqrt(16)"})
        assert result.structured_content == {"result": 4.0}
    response = _initialize(stateless_server.url, {})
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers


def test_http_app_binds_only_what_it_is_told() -> None:
    # A non-loopback bind accepts its own name, loopback names and nothing else.
    from agentkit.mcp import build_server

    app = http_app(build_server([]), host="10.1.2.3", token="t")
    assert type(app).__name__ == "BearerAuth"
    with pytest.raises(ValueError, match="empty"):
        http_app(build_server([]), token="")


def test_resolve_targets(tmp_path: Path) -> None:
    agent_file = tmp_path / "agent.yaml"
    agent_file.write_text("name: helper\ndescription: Helps.\n", encoding="utf-8")
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"t": {"command": "x"}}}), encoding="utf-8")
    toolsets, name, notes = resolve_targets(["time", str(agent_file), str(config)], "openai:gpt-x")
    assert name == "agentkit"
    assert isinstance(toolsets[1], AgentToolset)
    assert toolsets[1].model == "openai:gpt-x"
    assert type(toolsets[2]).__name__ == "MCPToolset"
    assert toolsets[2].reconnect is True  # type: ignore[attr-defined]  # a proxy retries its upstreams
    assert len(notes) == 3
    single, single_name, _ = resolve_targets(["agentkit_tools.math:toolset"])
    assert single_name == "toolset"
    assert len(single) == 1
